"""Sums in NumPy's order, for kernels that must give NumPy's numbers bit for bit.

``np.add.reduce`` sums along a contiguous axis by *pairwise summation* (a block of fewer
than 8 values in order; up to 128 values in 8 interleaved partial sums, combined as
((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), then the remainder in order; longer
runs split in two halves of a multiple of 8 values, summed recursively), and along a
strided axis one value at a time, in order. `pairwise_sum` is the first; the kernels write
the second as their loop. Checked against NumPy for every length from 1 to 300 and some
longer ones (tests/kernels).

The kernels that call these (`bias`, `bias_activation`, `cross_entropy`) are kept in
numba's disk cache keyed on their own files, which does not see a change here: change one
of theirs too (a comment will do), or clear the cache, for the change to reach them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import kernels

__all__ = ["column_sums", "column_sums_fit", "pairwise_sum", "prepare", "row_sums"]


def _block_sum(values: Any, start: int, count: int) -> Any:
    """Σ values[start : start + count], count <= 128, as NumPy's pairwise_sum's base case."""
    if count < 8:
        total = values.dtype.type(0)
        for i in range(start, start + count):
            total += values[i]
        return total
    r0, r1, r2, r3 = values[start], values[start + 1], values[start + 2], values[start + 3]
    r4, r5, r6, r7 = values[start + 4], values[start + 5], values[start + 6], values[start + 7]
    i = 8
    whole = count - count % 8
    while i < whole:
        at = start + i
        r0 += values[at]
        r1 += values[at + 1]
        r2 += values[at + 2]
        r3 += values[at + 3]
        r4 += values[at + 4]
        r5 += values[at + 5]
        r6 += values[at + 6]
        r7 += values[at + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < count:
        total += values[start + i]
        i += 1
    return total


def _pairwise_sum(values: Any, start: int, count: int) -> Any:
    """Σ values[start : start + count] as NumPy's pairwise summation adds them.

    NumPy recurses (halves of a multiple of 8 values until a block has at most 128); this
    walks the same tree with a stack of its own (numba's disk cache breaks on recursion)."""
    if count <= 128:
        return block_sum(values, start, count)
    starts = np.empty(64, np.int64)  # a frame per level: 2⁶⁴ values would not fit anyway
    counts = np.empty(64, np.int64)
    phase = np.zeros(64, np.int64)  # 0 new, 1 left half running, 2 right half running
    lefts = np.empty(64, values.dtype)  # the left half's sum, while the right one runs
    top = 0
    starts[0], counts[0] = start, count
    while True:
        if counts[top] <= 128:
            value = block_sum(values, starts[top], counts[top])
            top -= 1
            while top >= 0 and phase[top] == 2:  # both halves done: their sum goes up
                value = lefts[top] + value
                top -= 1
            if top < 0:
                return value
            lefts[top], phase[top] = value, 2  # the left half done: now the right one
            half = counts[top] // 2
            half -= half % 8
            starts[top + 1], counts[top + 1], phase[top + 1] = (
                starts[top] + half, counts[top] - half, 0)  # fmt: skip
            top += 1
        else:
            phase[top] = 1
            half = counts[top] // 2
            half -= half % 8
            starts[top + 1], counts[top + 1], phase[top + 1] = starts[top], half, 0
            top += 1


def _column_sums(values: Any, result: Any) -> None:
    """result = Σ over the rows of values (N, D), in the order ``np.add.reduce(values,
    axis=0)`` takes: pairwise down each column when the rows are the contiguous axis (an
    F-ordered array, or one column), else row after row."""
    rows, columns = values.shape
    if rows > 1 and values.strides[0] == values.itemsize:
        for j in range(columns):  # block_sum inlined: a call per column cost more than its sum
            column = values[:, j]
            result[j] = block_sum(column, 0, rows) if rows <= 128 else pairwise_sum(column, 0, rows)
        return
    for j in range(columns):
        result[j] = values.dtype.type(0)
    for i in range(rows):
        for j in range(columns):
            result[j] += values[i, j]


def _row_sums(values: Any, result: Any) -> None:
    """result = Σ along each row of values (D, N), C-ordered: pairwise, as NumPy sums the
    columns of the F-ordered transpose (N, D)."""
    rows, columns = values.shape
    for i in range(rows):  # block_sum inlined for short rows, as in column_sums
        row = values[i]
        result[i] = block_sum(row, 0, columns) if columns <= 128 else pairwise_sum(row, 0, columns)


def column_sums_fit(values: Any) -> bool:
    """Whether `column_sums` adds in NumPy's order for this 2-D array: C- or F-contiguous
    (NumPy's iteration order for other strides is not written out here)."""
    flags = values.flags
    return bool(flags.c_contiguous or flags.f_contiguous)


# their compiled forms once `prepare` ran (the kernels call these names)
block_sum: Any = _block_sum
pairwise_sum: Any = _pairwise_sum
column_sums: Any = _column_sums
row_sums: Any = _row_sums


def prepare() -> None:
    """Compile the helpers before a kernel that calls them compiles (numba resolves a
    kernel's globals then). Call only when numba is enabled."""
    global block_sum, pairwise_sum, column_sums, row_sums
    if block_sum is _block_sum:
        block_sum = kernels.jit(_block_sum, inline="always")  # numba's IR inlining
    if pairwise_sum is _pairwise_sum:
        pairwise_sum = kernels.jit(_pairwise_sum)
    if column_sums is _column_sums:
        column_sums = kernels.jit(_column_sums)
    if row_sums is _row_sums:
        row_sums = kernels.jit(_row_sums)
