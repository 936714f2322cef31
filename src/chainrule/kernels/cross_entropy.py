"""Cross-entropy on class indices: the loops around NumPy's exp and log in the kernels of
`chainrule.ops.loss` (`cross_entropy_forward`, `cross_entropy_backward`).

For logits Z (N, C) and classes y (N,), with m_i = max_j Z_ij and s = Z - m:

    loss_i = log Σ_j e^(s_ij) - s_i,y_i,   softmax = e^s / Σ_j e^s
    dZ = (softmax - onehot(y)) · scale

NumPy makes the forward eight calls, one of them fancy indexing (slow for a few rows), and
the backward two (fancy indexing again). Here the forward is `shift_loop` (the row maxima
and s), NumPy's ``exp``, `row_sum_loop` (``add.reduce`` along the rows in NumPy's order:
NumPy's own reduction across rows of ten values cost ~6 µs for 128 rows, the loop ~1),
NumPy's ``log`` (``exp`` and ``log`` kept: their SIMD results are what the op computes,
and a compiled exp or log could differ in the last bit), then `softmax_rows_loop` (the
losses, the softmax; and, as one pass when asked, the gradient for a scale known ahead
and the reduced loss, Σ losses in NumPy's pairwise order); the backward is
`gradient_loop`. The same float operations in the same order: the same numbers, bit for
bit (tests/kernels).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.kernels import FLOAT_DTYPES, compiled, numba_enabled, sums

__all__ = [
    "fits",
    "gradient_loop",
    "row_sum_loop",
    "shift_loop",
    "softmax_rows_loop",
]


def fits(logits: Any, target: Any) -> bool:
    """Whether the loops take these: numba on, 2-D float32/float64 logits, 1-D integer
    classes, one per row (in range: the op's caller checked)."""
    return (
        type(logits) is np.ndarray
        and type(target) is np.ndarray
        and logits.ndim == 2
        and logits.dtype in FLOAT_DTYPES
        and target.dtype.kind in "iu"
        and target.shape == logits.shape[:1]
        and numba_enabled()
    )


def _shift_loop(logits: Any, row_max: Any, shifted: Any) -> None:
    """row_max[i, 0] = max_j logits[i, j] (NaN if the row has one, as np.maximum lets it
    through); shifted = logits - row_max."""
    rows, columns = logits.shape
    for i in range(rows):
        top = logits[i, 0]
        for j in range(1, columns):
            value = logits[i, j]
            if value > top or value != value:
                top = value
            if top != top:
                break
        row_max[i, 0] = top
        for j in range(columns):
            shifted[i, j] = logits[i, j] - top


def _row_sum_loop(exp: Any, sum_exp: Any) -> None:
    """sum_exp[i, 0] = Σ_j exp[i, j] for a C-ordered exp, as ``np.add.reduce(exp, axis=1)``
    adds a contiguous row (pairwise: `chainrule.kernels.sums`)."""
    sums.row_sums(exp, sum_exp[:, 0])


def _softmax_rows_loop(
    shifted: Any, exp: Any, sum_exp: Any, log_sum: Any, target: Any, losses: Any,
    scale: Any, out: Any, total: Any, denominator: Any, flags: int, db: Any,
) -> None:  # fmt: skip
    """losses[i] = log_sum[i] - shifted[i, target[i]]; exp /= sum_exp (the softmax); and
    by flags: 1, out = softmax · scale less scale at each row's class (`_gradient_loop`'s
    operations, on each softmax value as it is rounded); 2, total[()] = Σ losses in
    NumPy's pairwise order (``losses.sum()``), 4 then divided by denominator (scale,
    total and denominator in the logits' dtype; out and total unused without their
    flag); 8 (with 1), db = Σ_rows out, row after row as `sums.column_sums` adds a
    C-ordered (N, C > 1) array: the bias gradient of a Linear below (db unused without)."""
    rows, columns = exp.shape
    gradient = flags & 1
    bias = flags & 8
    if bias:
        for j in range(columns):
            db[j] = db.dtype.type(0)
    for i in range(rows):
        losses[i] = log_sum[i] - shifted[i, target[i]]
        d = sum_exp[i, 0]
        for j in range(columns):
            p = exp[i, j] / d
            exp[i, j] = p
            if gradient:
                out[i, j] = p * scale
        if gradient:
            out[i, target[i]] -= scale
        if bias:
            for j in range(columns):
                db[j] += out[i, j]
    if flags & 2:
        value = sums.pairwise_sum(losses, 0, rows)
        total[()] = value / denominator if flags & 4 else value


def _gradient_loop(softmax: Any, target: Any, scale: Any, out: Any) -> None:
    """out = softmax · scale, less scale at each row's class."""
    rows, columns = softmax.shape
    for i in range(rows):
        for j in range(columns):
            out[i, j] = softmax[i, j] * scale
        out[i, target[i]] -= scale


# error_model="numpy": a division by zero gives inf/NaN as NumPy's does, never an exception
shift_loop = compiled(_shift_loop)
gradient_loop = compiled(_gradient_loop)
_row_sums = compiled(_row_sum_loop)
_softmax_rows = compiled(_softmax_rows_loop, error_model="numpy")


def softmax_rows_loop(
    shifted: Any, exp: Any, sum_exp: Any, log_sum: Any, target: Any, losses: Any,
    scale: Any, out: Any, total: Any, denominator: Any, flags: int, db: Any = None,
) -> None:  # fmt: skip
    """`_softmax_rows_loop`, with the sums' helpers compiled before it (as `row_sum_loop`).
    Shapes: shifted, exp, out (N, C); sum_exp (N, 1); log_sum, target, losses (N,);
    total 0-d; scale, denominator scalars of the logits' dtype; db (C,) (None without
    flag 8: then `losses`, unused)."""
    sums.prepare()
    _softmax_rows(shifted, exp, sum_exp, log_sum, target, losses, scale, out, total,
                  denominator, flags, losses if db is None else db)  # fmt: skip


def row_sum_loop(exp: Any, sum_exp: Any) -> None:
    """`_row_sum_loop`, with the sums' helpers compiled before it (numba resolves its
    globals when it compiles). exp (N, C) C-contiguous, sum_exp (N, 1), one float dtype."""
    sums.prepare()
    _row_sums(exp, sum_exp)
