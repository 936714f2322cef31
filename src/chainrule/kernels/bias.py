"""A Linear layer's bias on a batch of rows, in one call: the forward's broadcast add
``h += b`` and the backward's column sum ``db = Σ_rows G``.

For the small layers of a deep narrow network NumPy's call costs more than the arithmetic
(2-3 µs for 64x32 values, most of it the ufunc machinery of a broadcast or of a reduction
across rows); a compiled loop costs about half a microsecond. The same numbers, bit for
bit: one addition per value, and the column sum in NumPy's order
(`chainrule.kernels.sums`). NumPy does what the kernels do not take.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.kernels import FLOAT_DTYPES, compile_on_first_call, compiled, numba_enabled, sums

__all__ = ["add_bias", "add_bias_fits", "add_bias_loop", "column_sum", "column_sum_loop"]


def _add_bias_loop(h: Any, bias: Any) -> None:
    rows, columns = h.shape
    if rows > 1 and h.strides[0] == h.itemsize:  # F-ordered: down the columns
        for j in range(columns):
            value = bias[j]
            for i in range(rows):
                h[i, j] += value
        return
    for i in range(rows):
        for j in range(columns):
            h[i, j] += bias[j]


def _column_sum_loop(grad: Any, result: Any) -> None:
    # numba's disk cache keys this loop on this file only: a change to kernels/sums.py
    # reaches it once this file changes too (or the cache is cleared)
    sums.column_sums(grad, result)


add_bias_loop = compiled(_add_bias_loop)
# a stand-in that puts numba's dispatcher in its place (`column_sum` looks it up here), the
# sums' helpers compiled first, once: no wrapper's call and `sums.prepare()` at every call
column_sum_loop = compile_on_first_call(
    globals(), "column_sum_loop", _column_sum_loop, sums.prepare
)


def add_bias_fits(h: Any, bias: Any) -> bool:
    """Whether `add_bias_loop` takes these: numba on, float32/float64 ndarrays of one
    dtype, h 2-D, bias its columns."""
    return (
        type(h) is np.ndarray
        and type(bias) is np.ndarray
        and h.ndim == 2
        and h.dtype in FLOAT_DTYPES
        and bias.dtype == h.dtype
        and bias.shape == h.shape[1:]
        and numba_enabled()
    )


def add_bias(h: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """h += bias over the rows of h (N, D), bias (D,), in place; returns h."""
    if add_bias_fits(h, bias):
        add_bias_loop(h, bias)
    else:
        np.add(h, bias, out=h)
    return h


def column_sum(grad: np.ndarray, result: np.ndarray | None = None) -> np.ndarray:
    """Σ over the rows of grad (N, D) into result (D,) (a new array when None), as
    ``np.add.reduce(grad, axis=0, out=result)``; any other shape goes to NumPy."""
    if (
        type(grad) is np.ndarray
        and grad.ndim == 2
        and grad.dtype in FLOAT_DTYPES
        and (grad.flags.c_contiguous or grad.flags.f_contiguous)  # sums.column_sums_fit
        and numba_enabled()
    ):
        if result is None:  # made here: of the loop's shape and dtype, nothing to check
            result = np.empty(grad.shape[1:], grad.dtype)
        elif not (
            type(result) is np.ndarray
            and result.dtype == grad.dtype
            and result.shape == grad.shape[1:]
        ):
            return np.add.reduce(grad, axis=0, out=result)
        column_sum_loop(grad, result)
        return result
    return np.add.reduce(grad, axis=0, out=result)
