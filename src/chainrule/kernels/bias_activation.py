"""A Linear layer's bias and the activation after it, in one pass each way:

    forward:   A = max(H + b, 0)                      (H = x Wᵀ, the product; ReLU)
               H += b, E = -|H|                       (sigmoid: NumPy's exp and the
                                                       activations' finish loop follow)
    backward:  R = G · f'(y),  db = Σ_rows R           (the activation's backward, then the
                                                        bias gradient of the Linear below)

with f'(y) from the activation's saved output y as the activation kernels write it
(`chainrule.kernels.activations`): tanh G · (1 - y²), sigmoid (G · y) · (1 - y), ReLU
G · [y > 0]. Unfused these are two passes over the layer's values and two calls (the bias
add, then max; the backward loop, then the column sum); here each is one call and one pass,
the sum taken while the values are in registers or L1.

The numbers are the unfused kernels' bit for bit: the same float operations in the same
order (H + b, then max as ``np.maximum(·, 0)`` gives it: +0 for a negative or zero, NaN
kept), the column sum in NumPy's order (`chainrule.kernels.sums`: pairwise down each
column of an F-ordered R, row after row for a C-ordered one). The callers
(`chainrule.ops.fused`) fall back to the unfused kernels for anything these do not take.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.kernels import FLOAT_DTYPES, compile_on_first_call, jit, numba_enabled, sums

__all__ = [
    "backward_fits",
    "bias_relu_loop",
    "bias_sigmoid_argument_loop",
    "forward_fits",
    "relu_bias_loop",
    "sigmoid_bias_loop",
    "tanh_bias_loop",
]


def forward_fits(h: Any, bias: Any, out: Any) -> bool:
    """Whether `bias_relu_loop` takes these: numba on, float32/float64 ndarrays of one
    dtype, h and out 2-D of one shape, bias h's columns. (Cheap tests first, dtypes by
    identity before equality: this runs at every call, and a small layer's loop costs
    less than a microsecond.)"""
    if not (type(h) is np.ndarray and type(bias) is np.ndarray and type(out) is np.ndarray):
        return False
    kind = h.dtype
    return (
        h.ndim == 2
        and out.shape == h.shape
        and bias.shape == h.shape[1:]
        and (bias.dtype is kind or bias.dtype == kind)
        and (out.dtype is kind or out.dtype == kind)
        and kind in FLOAT_DTYPES
        and numba_enabled()
    )


def backward_fits(grad: Any, out: Any, into: Any, db: Any) -> bool:
    """Whether the backward loops take these: numba on, float32/float64 ndarrays of one
    dtype, grad, out and into 2-D of one shape, into C- or F-contiguous (the layouts whose
    NumPy summation order `chainrule.kernels.sums` writes out), db into's columns."""
    if not (type(grad) is np.ndarray and type(out) is np.ndarray
            and type(into) is np.ndarray and type(db) is np.ndarray):  # fmt: skip
        return False
    kind, shape = into.dtype, into.shape
    if not (len(shape) == 2 and grad.shape == shape and out.shape == shape
            and db.shape == shape[1:]):  # fmt: skip
        return False
    flags = into.flags
    return (
        (grad.dtype is kind or grad.dtype == kind)
        and (out.dtype is kind or out.dtype == kind)
        and (db.dtype is kind or db.dtype == kind)
        and kind in FLOAT_DTYPES
        and (flags.c_contiguous or flags.f_contiguous)  # sums.column_sums_fit
        and numba_enabled()
    )


def _bias_relu_loop(h: Any, bias: Any, out: Any) -> None:
    """out = max(h + bias, 0) over the rows of h; h is left as it is (the product)."""
    zero = out.dtype.type(0)
    rows, columns = h.shape
    if rows > 1 and h.strides[0] == h.itemsize:  # F-ordered: down the columns
        for j in range(columns):
            value = bias[j]
            for i in range(rows):
                v = h[i, j] + value
                out[i, j] = v if v > zero or v != v else zero  # np.maximum(v, 0)
        return
    for i in range(rows):
        for j in range(columns):
            v = h[i, j] + bias[j]
            out[i, j] = v if v > zero or v != v else zero


def _bias_sigmoid_argument_loop(h: Any, bias: Any, e: Any) -> None:
    """h += bias (the Linear's output, as its bias add leaves it), then e = -|h|: the
    sigmoid's exp argument (kernels.activations' sigmoid loops do the rest)."""
    rows, columns = h.shape
    if rows > 1 and h.strides[0] == h.itemsize:  # F-ordered: down the columns
        for j in range(columns):
            value = bias[j]
            for i in range(rows):
                v = h[i, j] + value
                h[i, j] = v
                e[i, j] = -abs(v)
        return
    for i in range(rows):
        for j in range(columns):
            v = h[i, j] + bias[j]
            h[i, j] = v
            e[i, j] = -abs(v)


def _column_sum_python(column: Any, rows: int) -> Any:
    """Σ column as ``np.add.reduce`` sums a contiguous run (`sums.pairwise_sum`, whose base
    case `sums.block_sum` numba inlines: a call per column cost more than its sum)."""
    return sums.block_sum(column, 0, rows) if rows <= 128 else sums.pairwise_sum(column, 0, rows)


_column_sum: Any = _column_sum_python  # compiled (after the sums' helpers) on first use


# The three backward loops differ only in the line that computes R[i, j]; numba compiles a
# loop per function, so each is written out (a formula passed in as a function would be
# a call per value).


def _relu_bias_loop(grad: Any, out: Any, into: Any, db: Any) -> None:
    """into = grad · [out > 0]; db = Σ_rows into, in NumPy's order for into's layout."""
    one, zero = into.dtype.type(1), into.dtype.type(0)
    rows, columns = into.shape
    if rows > 1 and into.strides[0] == into.itemsize:  # F: a column, then its sum
        for j in range(columns):
            for i in range(rows):
                into[i, j] = grad[i, j] * (one if out[i, j] > 0 else zero)
            db[j] = _column_sum(into[:, j], rows)
        return
    for j in range(columns):
        db[j] = zero
    for i in range(rows):  # the row, then its addition to db (two loops: both vectorize)
        for j in range(columns):
            into[i, j] = grad[i, j] * (one if out[i, j] > 0 else zero)
        for j in range(columns):
            db[j] += into[i, j]


def _tanh_bias_loop(grad: Any, out: Any, into: Any, db: Any) -> None:
    """into = grad · (1 - out²); db = Σ_rows into, in NumPy's order for into's layout."""
    one, zero = into.dtype.type(1), into.dtype.type(0)
    rows, columns = into.shape
    if rows > 1 and into.strides[0] == into.itemsize:
        for j in range(columns):
            for i in range(rows):
                y = out[i, j]
                into[i, j] = grad[i, j] * (one - y * y)
            db[j] = _column_sum(into[:, j], rows)
        return
    for j in range(columns):
        db[j] = zero
    for i in range(rows):
        for j in range(columns):
            y = out[i, j]
            into[i, j] = grad[i, j] * (one - y * y)
        for j in range(columns):
            db[j] += into[i, j]


def _sigmoid_bias_loop(grad: Any, out: Any, into: Any, db: Any) -> None:
    """into = (grad · out) · (1 - out); db = Σ_rows into, in NumPy's order."""
    one, zero = into.dtype.type(1), into.dtype.type(0)
    rows, columns = into.shape
    if rows > 1 and into.strides[0] == into.itemsize:
        for j in range(columns):
            for i in range(rows):
                y = out[i, j]
                into[i, j] = (grad[i, j] * y) * (one - y)
            db[j] = _column_sum(into[:, j], rows)
        return
    for j in range(columns):
        db[j] = zero
    for i in range(rows):
        for j in range(columns):
            y = out[i, j]
            into[i, j] = (grad[i, j] * y) * (one - y)
        for j in range(columns):
            db[j] += into[i, j]


def _compile_column_sum() -> None:
    """The sums' helpers and `_column_sum`, compiled before a loop that calls them."""
    global _column_sum
    if _column_sum is _column_sum_python:
        sums.prepare()
        _column_sum = jit(_column_sum_python, inline="always")


def _stand_in(name: str, source: Any, helpers: bool) -> Any:
    """`kernels.compile_on_first_call` for a loop of this module (ops.fused looks the
    loop up here at every call); `helpers`: it calls `_column_sum`."""
    return compile_on_first_call(globals(), name, source, _compile_column_sum if helpers else None)


bias_relu_loop = _stand_in("bias_relu_loop", _bias_relu_loop, False)
bias_sigmoid_argument_loop = _stand_in(
    "bias_sigmoid_argument_loop", _bias_sigmoid_argument_loop, False
)
relu_bias_loop = _stand_in("relu_bias_loop", _relu_bias_loop, True)
tanh_bias_loop = _stand_in("tanh_bias_loop", _tanh_bias_loop, True)
sigmoid_bias_loop = _stand_in("sigmoid_bias_loop", _sigmoid_bias_loop, True)
