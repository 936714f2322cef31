"""Tier 1: every differentiable op's backward agrees with central finite differences
(chainrule.gradcheck, float64). The cases are the shared table in op_cases.py."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr
from tests.support.op_cases import ALL_CASES
from tests.support.parity import check_gradcheck


@pytest.mark.parametrize(("fn", "torch_fn", "inputs", "draw"), ALL_CASES)
def test_gradcheck(fn: Any, torch_fn: Any, inputs: Any, draw: dict[str, Any]) -> None:
    check_gradcheck(lambda *xs: _first(fn(*xs)), inputs, **draw)


def _first(output: Any) -> cr.Tensor:
    """max(dim) / min(dim) return (values, indices): check the values."""
    return output[0] if isinstance(output, tuple) else output


def test_gradcheck_passes_non_tensor_arguments_through() -> None:
    x = cr.tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
    assert cr.gradcheck(lambda t, k: (t * k).sum(1), [x, 3.0])


def test_gradcheck_only_checks_inputs_that_require_grad() -> None:
    x = cr.tensor(np.linspace(-1, 1, 3), requires_grad=True)
    constant = cr.tensor(np.ones(3))
    assert cr.gradcheck(lambda a, b: a * b, [x, constant])
