"""grad_fn names as torch 2.13's (`AddBackward0`, `MmBackward0`, ...): the class name,
`name()`, the repr and `next_functions`, over every case of the op table.

chainrule has one engine op per idea where torch has one node per ATen overload, so a few
cases name their node differently; they are listed in DIFFERENT (an expected failure, strict:
a case that starts to agree must leave the list)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr
from tests.support.op_cases import ALL_CASES
from tests.support.parity import make_arrays

# torch names these by overload or by a composite chainrule does not have: batched matmul
# (UnsafeView/Clone/Squeeze around a bmm), 2.5 / a (a Mul by the reciprocal), std (a sqrt of
# var here), max/min/amin (gather/neg compositions here), t/transpose (one Permute here),
# indexing with ... or None (a Slice here where torch selects)
DIFFERENT = {
    "amin-dim",
    "amin-tuple",
    "index-ellipsis",
    "index-none",
    "matmul-(2, 1, 2, 3)-(5, 3, 4)",
    "matmul-(2, 3)-(5, 3, 4)",
    "matmul-(3,)-(3, 4)",
    "matmul-(3,)-(5, 3, 4)",
    "matmul-(5, 2, 3)-(3,)",
    "matmul-(5, 2, 3)-(5, 3, 4)",
    "max",
    "max-dim",
    "max-dim-keepdim",
    "min",
    "min-dim",
    "rdiv-scalar",
    "std",
    "t",
    "transpose",
    "transpose-neg",
}


def _node_names(lib: Any, fn: Any, arrays: list[np.ndarray]) -> tuple[str, str]:
    xs = [lib.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*xs)
    out = out[0] if isinstance(out, tuple) else out
    return type(out.grad_fn).__name__, out.grad_fn.name()


def _cases() -> list[Any]:
    cases = []
    for param in ALL_CASES:
        marks = [pytest.mark.xfail(strict=True)] if param.id in DIFFERENT else []
        cases.append(pytest.param(*param.values, id=param.id, marks=marks))
    return cases


@pytest.mark.parametrize(("fn", "torch_fn", "inputs", "draw"), _cases())
def test_grad_fn_name_matches_torch(fn: Any, torch_fn: Any, inputs: Any, draw: Any) -> None:
    arrays = make_arrays(inputs, 0, **draw)
    assert _node_names(cr, fn, arrays) == _node_names(torch, torch_fn or fn, arrays)


def test_repr_and_next_functions_match_torch() -> None:
    layouts = []
    for lib in (torch, cr):
        x = lib.ones(2, 3, requires_grad=True)
        w = lib.ones(3, 4, requires_grad=True)
        y = (x @ w + lib.ones(4)).sum()
        first = y.grad_fn.next_functions[0][0]
        layouts.append(
            (
                repr(y).split("grad_fn=")[1],
                y.grad_fn.name(),
                first.name(),
                [None if f is None else f.name() for f, _ in first.next_functions],
                [type(f).__name__ for f, _ in first.next_functions[0][0].next_functions],
            )
        )
    assert layouts[1] == layouts[0]
