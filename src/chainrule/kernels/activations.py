"""Activation backward passes in one loop, optionally with the bias gradient of the Linear
layer below summed in the same call.

For a batch of rows G (N, D), the gradient reaching an activation's output y, and y itself:

    tanh:     R = G · (1 - y²)
    sigmoid:  R = (G · y) · (1 - y)
    relu:     R = G · [y > 0]            (the mask as 0 or 1 of G's dtype, as NumPy casts it)

and, when a `bias_grad` (D,) is given, bias_grad = Σ over the rows of R: in a network
Linear → activation → ..., R is the gradient of the Linear's output, and the Linear's bias
gradient is that sum. NumPy needs three or four calls (and a temporary) for each; a
compiled kernel does it in one call, which is what counts for small layers (a NumPy call
costs more than the arithmetic on 64x32 values: 5.5 µs for the four calls against 1.3 µs).

Both paths give the same numbers, bit for bit: the same float operations in the same
order on the same dtype (no fused multiply-add, numba's default), and the sum in NumPy's
order (`chainrule.kernels.sums`). The kernels take 2-D arrays of one float dtype, R C- or
F-contiguous (`fits`); NumPy does everything else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.kernels import compiled, numba_enabled, sums

__all__ = ["LOOPS", "fits", "relu_backward", "sigmoid_backward", "tanh_backward", "transposed"]


def fits(grad: np.ndarray, out: np.ndarray, result: np.ndarray, bias_grad: Any = None) -> bool:
    """Whether the kernels take these arrays: numba on, ndarrays of one float dtype, the
    three 2-D of one shape, `result` C- or F-contiguous, `bias_grad` (if any) 1-D of the
    columns. Prepares the helpers the kernels call."""
    if not numba_enabled():
        return False
    dtype = result.dtype
    if (dtype != np.float32 and dtype != np.float64) or result.ndim != 2:
        return False
    for array in (grad, out, result):
        if type(array) is not np.ndarray or array.dtype != dtype or array.shape != result.shape:
            return False
    if bias_grad is not None and not (
        type(bias_grad) is np.ndarray
        and bias_grad.dtype == dtype
        and bias_grad.shape == result.shape[1:]
    ):
        return False
    if not sums.column_sums_fit(result):
        return False
    sums.prepare()
    return True


# ---------------------------------------------------------------- the loops (numba)
# Constants are made in the arrays' dtype: an int or float literal would promote a
# float32 operation to float64 (other rounding than NumPy's float32 loops).


def _tanh_loop(grad: Any, out: Any, result: Any) -> None:
    one = result.dtype.type(1)
    rows, columns = result.shape
    for i in range(rows):
        for j in range(columns):
            y = out[i, j]
            result[i, j] = grad[i, j] * (one - y * y)


def _sigmoid_loop(grad: Any, out: Any, result: Any) -> None:
    one = result.dtype.type(1)
    rows, columns = result.shape
    for i in range(rows):
        for j in range(columns):
            y = out[i, j]
            result[i, j] = (grad[i, j] * y) * (one - y)


def _relu_loop(grad: Any, out: Any, result: Any) -> None:
    one, zero = result.dtype.type(1), result.dtype.type(0)
    rows, columns = result.shape
    for i in range(rows):
        for j in range(columns):
            result[i, j] = grad[i, j] * (one if out[i, j] > 0 else zero)


def _tanh_sum_loop(grad: Any, out: Any, result: Any, bias_grad: Any) -> None:
    one = result.dtype.type(1)
    rows, columns = result.shape
    for i in range(rows):
        for j in range(columns):
            y = out[i, j]
            result[i, j] = grad[i, j] * (one - y * y)
    sums.column_sums(result, bias_grad)


def _tanh_row_sum_loop(grad: Any, out: Any, result: Any, bias_grad: Any) -> None:
    one = result.dtype.type(1)
    rows, columns = result.shape
    for i in range(rows):
        for j in range(columns):
            y = out[i, j]
            result[i, j] = grad[i, j] * (one - y * y)
    sums.row_sums(result, bias_grad)


def _sigmoid_sum_loop(grad: Any, out: Any, result: Any, bias_grad: Any) -> None:
    one = result.dtype.type(1)
    rows, columns = result.shape
    for i in range(rows):
        for j in range(columns):
            y = out[i, j]
            result[i, j] = (grad[i, j] * y) * (one - y)
    sums.column_sums(result, bias_grad)


def _sigmoid_row_sum_loop(grad: Any, out: Any, result: Any, bias_grad: Any) -> None:
    one = result.dtype.type(1)
    rows, columns = result.shape
    for i in range(rows):
        for j in range(columns):
            y = out[i, j]
            result[i, j] = (grad[i, j] * y) * (one - y)
    sums.row_sums(result, bias_grad)


def _relu_sum_loop(grad: Any, out: Any, result: Any, bias_grad: Any) -> None:
    one, zero = result.dtype.type(1), result.dtype.type(0)
    rows, columns = result.shape
    for i in range(rows):
        for j in range(columns):
            result[i, j] = grad[i, j] * (one if out[i, j] > 0 else zero)
    sums.column_sums(result, bias_grad)


def _relu_row_sum_loop(grad: Any, out: Any, result: Any, bias_grad: Any) -> None:
    one, zero = result.dtype.type(1), result.dtype.type(0)
    rows, columns = result.shape
    for i in range(rows):
        for j in range(columns):
            result[i, j] = grad[i, j] * (one if out[i, j] > 0 else zero)
    sums.row_sums(result, bias_grad)


LOOPS: dict[str, tuple[Callable[..., None], Callable[..., None], Callable[..., None]]] = {
    kind: (compiled(loop), compiled(sum_loop), compiled(row_sum_loop))
    for kind, loop, sum_loop, row_sum_loop in (
        ("tanh", _tanh_loop, _tanh_sum_loop, _tanh_row_sum_loop),
        ("sigmoid", _sigmoid_loop, _sigmoid_sum_loop, _sigmoid_row_sum_loop),
        ("relu", _relu_loop, _relu_sum_loop, _relu_row_sum_loop),
    )
}
"""The compiled loops by activation, for a caller (the captured program) that checked
`fits` once: loop(grad, out, result); sum_loop(grad, out, result, bias_grad), the bias
gradient the sums of result's columns; row_sum_loop(...), for the transposes (D, N) of
F-ordered arrays (N, D): the bias gradient the sums of result's rows, pairwise as NumPy sums
the F-ordered columns. Each loop runs over its arrays' rows, so C-ordered ones are read in
memory order."""


# ---------------------------------------------------------------- the NumPy twins


def _tanh_numpy(grad: np.ndarray, out: np.ndarray, result: np.ndarray) -> None:
    np.multiply(out, out, out=result)
    np.subtract(1, result, out=result)
    np.multiply(grad, result, out=result)


def _sigmoid_numpy(grad: np.ndarray, out: np.ndarray, result: np.ndarray) -> None:
    other = np.subtract(1, out)  # (G · y) · (1 - y): the second factor needs its own memory
    np.multiply(grad, out, out=result)
    np.multiply(result, other, out=result)


def _relu_numpy(grad: np.ndarray, out: np.ndarray, result: np.ndarray) -> None:
    np.multiply(grad, out > 0, out=result)


def transposed(result: np.ndarray) -> bool:
    """Whether the loops should run on the transposes: `result` F-ordered (and not C)."""
    return bool(result.flags.f_contiguous and not result.flags.c_contiguous)


def _backward(name: str, numpy_form: Callable[..., None], formula: str) -> Callable[..., Any]:
    loop, sum_loop, row_sum_loop = LOOPS[name]

    def backward(
        grad: np.ndarray,
        out: np.ndarray,
        result: np.ndarray | None = None,
        bias_grad: np.ndarray | None = None,
    ) -> np.ndarray:
        if result is None:
            result = np.empty(np.broadcast_shapes(grad.shape, out.shape), grad.dtype)
        if fits(grad, out, result, bias_grad):
            if transposed(result):  # in memory order; the bias sums along the rows then
                if bias_grad is None:
                    loop(grad.T, out.T, result.T)
                else:
                    row_sum_loop(grad.T, out.T, result.T, bias_grad)
            elif bias_grad is None:
                loop(grad, out, result)
            else:
                sum_loop(grad, out, result, bias_grad)
            return result
        numpy_form(grad, out, result)
        if bias_grad is not None:
            np.add.reduce(result, axis=0, out=bias_grad)
        return result

    backward.__name__ = backward.__qualname__ = f"{name}_backward"
    backward.__doc__ = (
        f"result = {formula}, from the activation's output `out`; bias_grad = Σ over the "
        "rows of result when given. `result` (a new array when None) is memory of its own, "
        "neither `grad` nor `out`. Returns result."
    )
    return backward


tanh_backward = _backward("tanh", _tanh_numpy, "grad · (1 - out²)")
sigmoid_backward = _backward("sigmoid", _sigmoid_numpy, "(grad · out) · (1 - out)")
relu_backward = _backward("relu", _relu_numpy, "grad · [out > 0]")
