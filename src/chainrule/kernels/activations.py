"""Activation backward passes in one loop each (and ReLU's forward, `relu_forward_loop`:
NumPy's ``maximum`` against the scalar 0 ran at ~0.4 ns a value; the sigmoid's forward
around NumPy's exp, `sigmoid_argument_loop` and `sigmoid_finish_loop`: 2 loops and the exp
where NumPy made 8 calls), from the activation's saved output y and the gradient G
reaching it:

    tanh:     R = G · (1 - y²)
    sigmoid:  R = (G · y) · (1 - y)
    relu:     R = G · [y > 0]            (the mask as 0 or 1 of G's dtype, as NumPy casts it)

NumPy needs two or three calls (and a temporary or a mask) for each; for a small layer a
call costs more than its arithmetic (64x32 values: ~1.3 µs a NumPy call, ~0.4 µs a
compiled one). The ops' kernels (`chainrule.ops.elementwise.tanh_backward`, ...) call
these loops when `fits` says so, eager and captured alike. The same float operations in
the same order on the same dtype (no fused multiply-add, numba's default): the numbers
are NumPy's, bit for bit (tests/kernels).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.kernels import FLOAT_DTYPES, compiled, numba_enabled

__all__ = [
    "fits",
    "relu_forward_loop",
    "relu_loop",
    "sigmoid_argument_loop",
    "sigmoid_finish_loop",
    "sigmoid_loop",
    "tanh_loop",
]


def fits(grad: Any, out: Any, into: Any) -> bool:
    """Whether the loops take these: numba on, three 2-D float32/float64 ndarrays of one
    shape and dtype. (They run over the rows; the caller passes the transposes of
    F-ordered arrays, so that memory is read in order.)"""
    return (
        type(grad) is np.ndarray
        and type(out) is np.ndarray
        and type(into) is np.ndarray
        and out.ndim == 2
        and out.dtype in FLOAT_DTYPES
        and grad.dtype == out.dtype
        and into.dtype == out.dtype
        and grad.shape == out.shape
        and into.shape == out.shape
        and numba_enabled()
    )


# Constants are made in the arrays' dtype: an int or float literal would promote a
# float32 operation to float64 (other rounding than NumPy's float32 loops).


def _tanh_loop(grad: Any, out: Any, into: Any) -> None:
    one = into.dtype.type(1)
    rows, columns = into.shape
    for i in range(rows):
        for j in range(columns):
            y = out[i, j]
            into[i, j] = grad[i, j] * (one - y * y)


def _sigmoid_loop(grad: Any, out: Any, into: Any) -> None:
    one = into.dtype.type(1)
    rows, columns = into.shape
    for i in range(rows):
        for j in range(columns):
            y = out[i, j]
            into[i, j] = (grad[i, j] * y) * (one - y)


def _relu_loop(grad: Any, out: Any, into: Any) -> None:
    one, zero = into.dtype.type(1), into.dtype.type(0)
    rows, columns = into.shape
    for i in range(rows):
        for j in range(columns):
            into[i, j] = grad[i, j] * (one if out[i, j] > 0 else zero)


def _relu_forward_loop(x: Any, out: Any) -> None:
    """out = max(x, 0) as ``np.maximum(x, 0)`` gives it: x where x > 0, NaN kept, else +0
    (-0.0 gives +0.0). Over x's memory in order (its transpose's rows when F-ordered)."""
    zero = out.dtype.type(0)
    rows, columns = x.shape
    if rows > 1 and x.strides[0] == x.itemsize:  # F-ordered: down the columns
        for j in range(columns):
            for i in range(rows):
                v = x[i, j]
                out[i, j] = v if v > zero or v != v else zero
        return
    for i in range(rows):
        for j in range(columns):
            v = x[i, j]
            out[i, j] = v if v > zero or v != v else zero


def _sigmoid_argument_loop(x: Any, e: Any) -> None:
    """e = -|x|: the argument of the sigmoid's exp (NumPy's exp runs between the loops)."""
    rows, columns = x.shape
    for i in range(rows):
        for j in range(columns):
            e[i, j] = -abs(x[i, j])


def _sigmoid_finish_loop(x: Any, e: Any, out: Any) -> None:
    """With e = e^-|x|: d = 1 + e, out = 1/d where x >= 0, e/d elsewhere (NaN too)."""
    one, zero = out.dtype.type(1), out.dtype.type(0)
    rows, columns = x.shape
    for i in range(rows):
        for j in range(columns):
            power = e[i, j]
            d = one + power
            out[i, j] = one / d if x[i, j] >= zero else power / d


tanh_loop, sigmoid_loop, relu_loop = map(compiled, (_tanh_loop, _sigmoid_loop, _relu_loop))
sigmoid_argument_loop = compiled(_sigmoid_argument_loop)
sigmoid_finish_loop = compiled(_sigmoid_finish_loop, error_model="numpy")  # 1/0 is inf
relu_forward_loop = compiled(_relu_forward_loop)
