"""Activation backward kernels and the bias kernels: the compiled loops and the NumPy twins
give the formulas' numbers, bit for bit, in C and F layouts, with inf/NaN and signed
zeros."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.kernels import activations, bias, numba_enabled
from chainrule.ops import elementwise

FORWARD = {
    "tanh": np.tanh,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "relu": lambda x: np.maximum(x, 0),
}
FORMULA = {  # the eager ops' backward expressions (chainrule.ops.elementwise)
    "tanh": lambda g, y: g * (1 - y * y),
    "sigmoid": lambda g, y: g * y * (1 - y),
    "relu": lambda g, y: g * (y > 0),
}
SHAPES = [(64, 32), (7, 3), (1, 1), (64, 1), (1, 64), (64, 200), (129, 27), (1000, 5)]


def _case(shape, dtype, order, seed=0):
    rng = np.random.default_rng(seed)
    grad = (rng.standard_normal(shape) * 10 ** rng.uniform(-3, 3, shape)).astype(dtype)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    grad.flat[0] = np.inf
    x.flat[-1] = np.nan
    if grad.size > 2:
        grad.flat[1] = -0.0
        x.flat[1] = -5.0
    return np.asarray(grad, order=order), x


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf · 0 on purpose
@pytest.mark.parametrize("kind", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("shape", SHAPES)
def test_backward_is_the_formula_bit_for_bit(path, kind, dtype, order, shape):
    """The ops' backward kernels (which call the compiled loops when numba is on), into a
    buffer and into a new array, against the eager formula."""
    grad, x = _case(shape, dtype, order)
    out = np.asarray(FORWARD[kind](x), dtype, order=order)
    want = FORMULA[kind](grad, out)
    backward = getattr(elementwise, f"{kind}_backward")
    for got in (backward(grad, out), backward(grad, out, np.empty_like(out))):
        assert np.array_equal(got, want, equal_nan=True)
        assert np.array_equal(np.signbit(got), np.signbit(want))
        assert got.flags.f_contiguous == want.flags.f_contiguous  # later sums follow it
    assert activations.fits(grad, out, out) == (path == "numba")


@pytest.mark.parametrize("kind", ["tanh", "sigmoid", "relu"])
def test_the_loops_take_any_strides(path, kind):
    """A view with steps (a slice) gives the same numbers as a contiguous copy."""
    grad, x = _case((40, 30), np.float32, "C")
    out = np.asarray(FORWARD[kind](x), np.float32)
    sliced_grad, sliced_out = grad[::2, 1::3], out[::2, 1::3]
    got = getattr(elementwise, f"{kind}_backward")(sliced_grad, sliced_out)
    want = FORMULA[kind](sliced_grad.copy(), sliced_out.copy())
    assert np.array_equal(got, want, equal_nan=True)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("shape", SHAPES)
def test_bias_add_and_column_sum(path, order, shape):
    grad, x = _case(shape, np.float32, order)
    b = np.random.default_rng(2).standard_normal(shape[1]).astype(np.float32)
    h = x.copy(order="K")
    assert bias.add_bias(h, b) is h
    assert np.array_equal(h, x + b, equal_nan=True)
    assert np.array_equal(bias.column_sum(grad), grad.sum(axis=0), equal_nan=True)


def test_other_arrays_take_the_numpy_path(path):
    """A float16, mixed-dtype or 3-D call is NumPy's (and right), whichever path is on."""
    g = np.ones((4, 3), np.float16)
    y = np.full((4, 3), 0.5, np.float16)
    assert not activations.fits(g, y, np.empty_like(y))
    assert np.array_equal(elementwise.tanh_backward(g, y), g * (1 - y * y))
    assert not activations.fits(g.astype(np.float32), y.astype(np.float64), np.empty((4, 3)))
    cube = np.full((2, 3, 4), 0.5, np.float32)
    assert np.array_equal(elementwise.tanh_backward(cube, cube), cube * (1 - cube * cube))
    assert numba_enabled() == (path == "numba")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("shape", SHAPES)
def test_relu_forward_is_numpys_maximum_bit_for_bit(path, monkeypatch, dtype, order, shape):
    """relu_forward (a compiled loop when numba is on) is np.maximum(x, 0): -0.0 gives
    +0.0, NaN stays NaN, and a new array is laid out as NumPy lays it out."""
    _, x = _case(shape, dtype, order)
    x.flat[0] = -0.0
    monkeypatch.setattr(elementwise, "RELU_LOOP_FROM", 1)  # the loop for every size here
    want = np.maximum(x, 0)
    for got in (elementwise.relu_forward(x), elementwise.relu_forward(x, np.empty_like(x))):
        assert np.array_equal(got, want, equal_nan=True)
        assert np.array_equal(np.signbit(got), np.signbit(want))
        assert got.flags.f_contiguous == want.flags.f_contiguous
    sliced = x[::2]  # neither C- nor F-ordered (for more than one column): NumPy's
    assert np.array_equal(elementwise.relu_forward(sliced), np.maximum(sliced, 0), equal_nan=True)
