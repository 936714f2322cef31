"""Cross-entropy on class indices, forward and backward, in few calls: what the captured
program's loss (`chainrule.capture.losses`) runs for plain ``CrossEntropyLoss()``.

For logits Z (N, C) and classes y (N,), with m_i = max_j Z_ij and s = Z - m:

    loss_i = log Σ_j e^(s_ij) - s_i,y_i,   loss = Σ_i loss_i (/ N for 'mean')
    dZ = (softmax(Z) - onehot(y)) · scale,   scale = 1/N for 'mean', 1 for 'sum'

NumPy takes a dozen calls for it, two of them fancy indexing (slow for a few rows); here it
is `shift` (the row maxima and s), NumPy's ``exp``, ``add.reduce`` (the row sums) and
``log`` (kept: their SIMD results are what the eager op computes, and a compiled exp or
log would differ in the last bit), then `finish` (the losses, their sum, the softmax and
dZ). The same float operations in the same order as the eager op (`ops.loss`), with the
total summed pairwise as NumPy does: the same numbers, bit for bit. Call
``chainrule.kernels.sums.prepare()`` before the first `finish_loop` (it calls the pairwise
sum), and only when numba is enabled.
"""

from __future__ import annotations

from typing import Any

from chainrule.kernels import compiled, sums

__all__ = ["finish_loop", "shift_loop"]


def _shift_loop(logits: Any, shifted: Any) -> None:
    """shifted = logits - (the row's maximum; NaN if the row has one)."""
    rows, columns = logits.shape
    for i in range(rows):
        top = logits[i, 0]
        for j in range(1, columns):
            value = logits[i, j]
            if value > top or value != value:  # NaN wins, as np.maximum lets it
                top = value
            if top != top:
                break
        for j in range(columns):
            shifted[i, j] = logits[i, j] - top


def _finish_loop(
    shifted: Any,
    exp: Any,
    sum_exp: Any,
    log_sum: Any,
    target: Any,
    scale: Any,
    mean: bool,
    losses: Any,
    d_logits: Any,
    total: Any,
) -> None:
    """losses, total[0] = their (mean) sum; exp /= sum_exp (the softmax); d_logits =
    softmax · scale, less scale at each row's class."""
    rows, columns = exp.shape
    for i in range(rows):
        losses[i] = log_sum[i] - shifted[i, target[i]]
    value = sums.pairwise_sum(losses, 0, rows)
    if mean:
        value = value / exp.dtype.type(rows)
    total[0] = value
    for i in range(rows):
        denominator = sum_exp[i, 0]
        for j in range(columns):
            probability = exp[i, j] / denominator
            exp[i, j] = probability
            d_logits[i, j] = probability * scale
        d_logits[i, target[i]] -= scale


# error_model="numpy": a division by zero gives inf/NaN as NumPy does, never an exception
shift_loop, finish_loop = compiled(_shift_loop), compiled(_finish_loop, error_model="numpy")
