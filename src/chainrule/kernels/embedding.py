"""An embedding table's lookup and gradient as one loop each, and the check that class or
row indices are in range.

The lookup ``out[k] = T[I[k]]`` copies rows: ``np.take(T, I, axis=0, out=out)`` gives the
same values, but with `out` it buffers the result (its `raise` mode) and costs ~3.6 µs for
the names model's 192 rows of 10, against ~1 µs for the loop. The loop checks each index
first; one out of range leaves the lookup to np.take, which raises as before.

The range check, ``0 <= v < bound`` for every int64 v, is NumPy's
``int(values.view(np.uint64).max()) < bound`` (a negative is huge unsigned): three calls,
~1.6 µs for 64 classes; the loop answers in one call and stops at the first miss.

For indices I (M,) and the gradient rows G (M, D), the table's gradient T (V, D) is

    T = 0;  T[I[k]] += G[k]  for k = 0 .. M-1, in that order;  T[padding_idx] = 0

NumPy's ``np.add.at`` does the same additions in the same order, so the numbers are the
same bit for bit, but it costs about 1 µs per hundred values more than the loop; for the
names model (64 x 3 lookups of 10 values) it was the slowest call of the step. The loop
takes C-contiguous float32/float64 arrays and int64 indices; NumPy does everything else.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.kernels import FLOAT_DTYPES, compile_on_first_call, compiled, numba_enabled

__all__ = [
    "embedding_gather",
    "embedding_grad",
    "embedding_grad_loop",
    "gather_rows_loop",
    "indices_below",
    "scatter_rows_loop",
]


def _gather_loop(table: Any, index: Any, out: Any) -> bool:
    """out[k] = table[index[k]] for table (V, D), index (M,), out (M, D); False (out
    partly written) at the first index outside 0..V-1."""
    rows, width = table.shape
    for k in range(index.size):
        if index[k] < 0 or index[k] >= rows:
            return False
    for k in range(index.size):
        row = index[k]
        for j in range(width):
            out[k, j] = table[row, j]
    return True


gather_loop = compiled(_gather_loop)


def embedding_gather(table: np.ndarray, index: np.ndarray, out: np.ndarray | None) -> bool:
    """Fill `out` (index's shape + (D,)) with the rows of `table` (V, D) that int64 `index`
    picks, by the compiled loop; False, doing nothing that counts, when numba is off, the
    arrays are of other kinds or layouts, or an index is out of range (the caller then
    takes np.take)."""
    return (
        out is not None
        and numba_enabled()
        and index.dtype == np.int64
        and table.ndim == 2
        and table.dtype in FLOAT_DTYPES
        and out.dtype == table.dtype
        and table.flags.c_contiguous
        and out.flags.c_contiguous
        and out.shape == index.shape + table.shape[1:]
        and bool(gather_loop(table, index.reshape(-1), out.reshape(-1, table.shape[1])))
    )


def _below_loop(values: Any, bound: int) -> bool:
    for value in values.flat:  # noqa: SIM110 - numba compiles a loop, not all(generator)
        if value < 0 or value >= bound:
            return False
    return True


below_loop = compiled(_below_loop)


def indices_below(values: np.ndarray, bound: int) -> bool:
    """Whether every value of the int64 array is in 0..bound-1 (True when it is empty)."""
    if numba_enabled():
        return bool(below_loop(values, bound))
    return not values.size or int(values.view(np.uint64).max()) < bound


def _embedding_grad_loop(table_grad: Any, index: Any, rows: Any) -> None:
    table_grad[:] = table_grad.dtype.type(0)
    count, width = rows.shape
    for k in range(count):
        row = index[k]
        for j in range(width):
            table_grad[row, j] += rows[k, j]


embedding_grad_loop = compiled(_embedding_grad_loop)


def embedding_grad(
    table_grad: np.ndarray, index: np.ndarray, rows: np.ndarray, padding_idx: int | None
) -> np.ndarray:
    """Fill `table_grad` (V, D) with the scatter-add of `rows` (M, D) at `index` (M,),
    in range (the lookup checked it); the padding row, if any, left at zero."""
    if (
        numba_enabled()
        and index.dtype == np.int64
        and table_grad.dtype in FLOAT_DTYPES
        and rows.dtype == table_grad.dtype
        and table_grad.flags.c_contiguous
        and rows.flags.c_contiguous
    ):
        embedding_grad_loop(table_grad, index, rows)
    else:
        table_grad.fill(0)
        np.add.at(table_grad, index, rows)
    if padding_idx is not None:
        table_grad[padding_idx] = 0
    return table_grad


# The names model's lookup of its input (N, k) and the gradient that comes back to it as
# the rows of the Linear above, (N, k·D): a captured program calls these loops straight
# (`chainrule.capture.embedding`), without the tests and reshapes of the functions above
# (~5 µs a step each way for 64 x 3 lookups of 10 values, against ~1 µs for the loop).


def _gather_rows_loop(table: Any, index: Any, out: Any) -> bool:
    """out[n, c] = table[index[n, c]] for table (V, D), index (N, k), out (N, k, D); False,
    out not written, when an index is outside 0..V-1 (the caller raises)."""
    rows, width = table.shape
    count, context = index.shape
    for n in range(count):
        for c in range(context):
            if index[n, c] < 0 or index[n, c] >= rows:
                return False
    for n in range(count):
        for c in range(context):
            row = index[n, c]
            for j in range(width):
                out[n, c, j] = table[row, j]
    return True


def _scatter_rows_loop(table_grad: Any, index: Any, rows: Any) -> None:
    """table_grad = 0, then table_grad[index[n, c]] += rows[n, c·D : (c + 1)·D] for n, c in
    order: index (N, k) in range, rows (N, k·D), table_grad (V, D); the additions of
    `_embedding_grad_loop` on the flat index and the (N·k, D) rows, so its numbers."""
    table_grad[:] = table_grad.dtype.type(0)
    width = table_grad.shape[1]
    count, context = index.shape
    for n in range(count):
        for c in range(context):
            row = index[n, c]
            at = c * width
            for j in range(width):
                table_grad[row, j] += rows[n, at + j]


gather_rows_loop = compile_on_first_call(globals(), "gather_rows_loop", _gather_rows_loop)
scatter_rows_loop = compile_on_first_call(globals(), "scatter_rows_loop", _scatter_rows_loop)
