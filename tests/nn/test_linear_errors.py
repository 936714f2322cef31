"""nn.Linear leaves its shape check to the product (a try costs nothing until it catches)
and falls back to F.linear's clear message: the message, no chained NumPy error, nothing
recorded or linked for the failed call; the dtype check stays before the product."""

from __future__ import annotations

import pytest

import chainrule
from chainrule import autograd, nn


@pytest.mark.parametrize("shape", [(4, 5), (5,), (), (2, 4, 5), (4, 0)])
def test_wrong_features_give_the_clear_message(shape: tuple[int, ...]) -> None:
    layer = nn.Linear(3, 2)
    x = chainrule.randn(*shape) if shape else chainrule.tensor(1.0)
    with autograd.recording() as ops, pytest.raises(ValueError, match="features in its last") as e:
        layer(x)
    assert e.value.__context__ is None  # raised outside the except block: one clear error
    assert ops == []


def test_wrong_dtype_is_a_type_error() -> None:
    layer = nn.Linear(3, 2)
    with pytest.raises(TypeError, match="input is float64 but the weight is float32"):
        layer(chainrule.randn(4, 3).double())


@pytest.mark.parametrize("shape", [(4, 3), (3,), (2, 4, 3), (0, 3)])
def test_fitting_inputs_match_functional_linear(shape: tuple[int, ...]) -> None:
    layer = nn.Linear(3, 2)
    x = chainrule.randn(*shape)
    got = layer(x)
    want = nn.functional.linear(x, layer.weight, layer.bias)
    assert got.shape == want.shape
    assert got.detach().numpy().tobytes() == want.detach().numpy().tobytes()
    assert got.grad_fn is not None
