"""Losses fused into one op where composing smaller ops would lose stability or speed.

Only the prediction is a graph input; targets and weights are constants passed as options.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.autograd import Function
from chainrule.kernels.cross_entropy import (
    fits,
    gradient_loop,
    row_sum_loop,
    shift_loop,
    softmax_rows_loop,
)
from chainrule.ops.elementwise import stable_sigmoid

# softmax_rows_loop's arguments that a call without their flag never reads or writes
_UNUSED: dict[Any, tuple[Any, np.ndarray]] = {
    np.dtype(kind): (kind(0), np.zeros((), kind)) for kind in (np.float32, np.float64)
}

# `cross_entropy_reduced` writes the gradient ahead (for an upstream gradient of 1) only up
# to this many logits: it is one more array of the logits' size kept until backward, worth
# it where a call's overhead is the cost (a small batch), not for a large vocabulary
AHEAD_MAX = 1 << 16


def _reduce(losses: np.ndarray, reduction: str, denominator: float) -> np.ndarray:
    if reduction == "none":
        return losses
    total = losses.sum()
    return np.asarray(total if reduction == "sum" else total / denominator)


def _upstream_scale(grad: np.ndarray, reduction: str, denominator: float) -> np.ndarray:
    """d(reduced loss)/d(each element's loss) times the upstream gradient."""
    return grad / denominator if reduction == "mean" else grad


def _log_sum_exp(logits: np.ndarray, row_max: Any, shifted: Any, exp: Any) -> tuple[Any, ...]:
    """The compiled path's first steps (`fits` said so): s = z - m, e^s (NumPy's exp),
    Σ_j e^s into row_max, and its log (NumPy's). Returns (s, e^s, Σ e^s (N, 1), log Σ)."""
    maxima = np.empty((len(logits), 1), logits.dtype) if row_max is None else row_max
    shifts = np.empty_like(logits) if shifted is None else shifted
    powers = np.empty_like(logits) if exp is None else exp
    shift_loop(logits, maxima, shifts)
    np.exp(shifts, powers)
    if powers.flags.c_contiguous:  # rows in NumPy's pairwise order
        row_sum_loop(powers, maxima)
        sum_exp = maxima
    else:
        sum_exp = np.add.reduce(powers, axis=1, out=maxima, keepdims=True)
    return shifts, powers, sum_exp, np.log(sum_exp[:, 0])


def cross_entropy_forward(
    logits: np.ndarray, target: np.ndarray, rows: np.ndarray,
    row_max: np.ndarray | None = None, shifted: np.ndarray | None = None,
    exp: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Per row i: lossᵢ = log Σⱼ e^(zᵢⱼ - mᵢ) - (zᵢ,yᵢ - mᵢ), with mᵢ = maxⱼ zᵢⱼ (so no
    e^z overflows), and the softmax e^(z - m) / Σ e^(z - m).

    Shapes: logits z (N, C), target y (N,) integer classes, rows = arange(N) ->
    (losses (N,), softmax (N, C)). Buffers (None: new arrays): row_max (N, 1), which
    holds the max and then Σ e^(z - m); shifted and exp (N, C), exp ends as the softmax.
    With numba, the steps around exp and log are compiled loops
    (chainrule.kernels.cross_entropy): the same numbers."""
    if fits(logits, target):
        shifts, powers, sum_exp, log_sum = _log_sum_exp(logits, row_max, shifted, exp)
        losses = np.empty(len(logits), logits.dtype)
        zero, total = _UNUSED[logits.dtype]
        softmax_rows_loop(shifts, powers, sum_exp, log_sum, target, losses, zero, powers,
                          total, zero, 0)  # fmt: skip
        return losses, powers
    row_max = np.maximum.reduce(logits, axis=1, out=row_max, keepdims=True)
    shifted = np.subtract(logits, row_max, shifted)
    exp = np.exp(shifted, exp)
    sum_exp = np.add.reduce(exp, axis=1, out=row_max, keepdims=True)
    losses = np.log(sum_exp[:, 0]) - shifted[rows, target]
    np.divide(exp, sum_exp, exp)
    return losses, exp


def cross_entropy_backward(
    softmax: np.ndarray, rows: np.ndarray, target: np.ndarray, scale: np.ndarray,
    out: np.ndarray | None = None,
) -> np.ndarray:  # fmt: skip
    """dz = (softmax(z) - onehot(y)) · scale: scale is d loss / d lossᵢ, 0-d (one for every
    row) or (N,) (per row, e.g. row weights). Shapes: softmax (N, C), rows = arange(N),
    target (N,) -> dz (N, C), into `out` (None: a new array). With numba and a 0-d scale,
    one compiled loop: the same numbers."""
    if (fits(softmax, target) and getattr(scale, "ndim", 1) == 0
            and scale.dtype == softmax.dtype):  # fmt: skip
        d_logits = np.empty_like(softmax) if out is None else out
        gradient_loop(softmax, target, scale[()], d_logits)
        return d_logits
    d_logits = np.multiply(softmax, scale[:, None] if scale.ndim else scale, out)
    d_logits[rows, target] -= scale  # minus the one-hot, scaled the same way
    return d_logits


def cross_entropy_forward_backward(
    logits: np.ndarray, target: np.ndarray, rows: np.ndarray, row_max: np.ndarray,
    shifted: np.ndarray, exp: np.ndarray, scale: np.ndarray, out: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """`cross_entropy_forward`, then `cross_entropy_backward` of its softmax with `scale`
    into `out`, as one call for a captured step (which knows the scale before the loss):
    (losses, softmax, dz). With numba and a 0-d scale of the logits' dtype, the softmax and
    dz are written in one compiled loop, the same numbers; otherwise the two kernels."""
    if (fits(logits, target) and getattr(scale, "ndim", 1) == 0
            and scale.dtype == logits.dtype and type(out) is np.ndarray
            and out.shape == logits.shape and out.dtype == logits.dtype):  # fmt: skip
        losses = np.empty(len(logits), logits.dtype)
        zero, total = _UNUSED[logits.dtype]
        cross_entropy_into(logits, target, row_max, shifted, exp, losses, scale[()], out,
                           total, zero, 1)  # fmt: skip
        return losses, exp, out
    losses, softmax = cross_entropy_forward(logits, target, rows, row_max, shifted, exp)
    return losses, softmax, cross_entropy_backward(softmax, rows, target, scale, out)


def cross_entropy_into(
    logits: np.ndarray, target: np.ndarray, row_max: np.ndarray, shifted: np.ndarray,
    exp: np.ndarray, losses: np.ndarray, scale: Any, out: np.ndarray, total: np.ndarray,
    denominator: Any, flags: int, db: np.ndarray | None = None,
) -> None:  # fmt: skip
    """`cross_entropy_forward_backward`'s compiled path into the caller's buffers, for a
    caller that decided once what `fits` and its other tests check at every call (numba
    on, float logits, int64 classes in range, a 0-d scale of the logits' dtype: a captured
    program, `chainrule.capture.losses`). The losses into `losses` (N,), the softmax into
    `exp`, and by `flags` (`kernels.cross_entropy.softmax_rows_loop`'s) dz = (softmax -
    onehot) · scale into `out` and the reduced loss Σ losses (/ denominator) into the 0-d
    `total`, in NumPy's order: ``losses.sum() / N`` bit for bit; with flag 8, db (C,) =
    Σ_rows dz as `kernels.bias.column_sum` sums a C-ordered dz with C > 1 (the bias
    gradient of the Linear below, as `linalg.linear_backward` computes it)."""
    shifts, powers, sum_exp, log_sum = _log_sum_exp(logits, row_max, shifted, exp)
    softmax_rows_loop(shifts, powers, sum_exp, log_sum, target, losses, scale, out, total,
                      denominator, flags, db)  # fmt: skip


_SCALES: dict[tuple[np.dtype, int, bool], tuple[Any, Any]] = {}


def _scale(dtype: np.dtype, n: int, mean: bool) -> tuple[Any, Any]:
    """(d loss / d lossᵢ for an upstream gradient of 1, the divisor N) in the dtype, kept
    per (dtype, N, mean): making them (a 0-d division) cost more than the loop they feed.
    The scale is rounded as backward's ``np.array(1) / float(N)`` rounds it: 1 / N in the
    dtype (1 for 'sum'); N is torch's divisor, exact in float32 below 2^24 rows."""
    key = (dtype, n, mean)
    kept = _SCALES.get(key)
    if kept is None:
        if len(_SCALES) > 256:  # batch sizes repeat; anything else need not pile up
            _SCALES.clear()
        one = np.ones((), dtype)
        kept = _SCALES[key] = ((one / float(n))[()] if mean else one[()], dtype.type(n))
    return kept


def cross_entropy_reduced(
    logits: np.ndarray, target: np.ndarray, reduction: str, ahead: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:  # fmt: skip
    """The usual eager call in one compiled pass after exp and log (`fits` must hold):
    L = Σᵢ lossᵢ ('sum') or Σᵢ lossᵢ / N ('mean'), as a 0-d array of the logits' dtype,
    the softmax (N, C), and, with `ahead`, dL/dz (N, C) for an upstream gradient of 1
    (scale 1/N or 1, made as `CrossEntropyIndex.backward` makes it), else None. The
    same numbers as `cross_entropy_forward`, ``losses.sum() / N`` and
    `cross_entropy_backward` (the loop sums in NumPy's pairwise order)."""
    dtype = logits.dtype
    shifts, powers, sum_exp, log_sum = _log_sum_exp(logits, None, None, None)
    losses = np.empty(len(logits), dtype)
    total = np.empty((), dtype)
    mean = reduction == "mean"
    scale, denominator = _scale(dtype, len(target), mean)
    gradient = np.empty_like(logits) if ahead else None
    flags = (1 if ahead else 0) | 2 | (4 if mean else 0)
    softmax_rows_loop(shifts, powers, sum_exp, log_sum, target, losses, scale,
                      powers if gradient is None else gradient, total, denominator,
                      flags)  # fmt: skip
    return total, powers, gradient


def _own_kernels() -> bool:
    """Whether `cross_entropy_forward` and `cross_entropy_backward` are still this module's
    own: when one is patched (a test, a user's experiment), the op calls the two, as a
    captured program does (ops.fused.intact), so a change reaches both alike."""
    return cross_entropy_forward is _OWN[0] and cross_entropy_backward is _OWN[1]


class CrossEntropyIndex(Function):
    """Cross-entropy of logits against class indices: log-softmax and NLL in one op.

    lossᵢ = wᵢ (log Σⱼ e^(zᵢⱼ) - zᵢ,yᵢ), with wᵢ = weight[yᵢ] (0 for ignored rows);
    'mean' divides by Σ wᵢ (by N without weights), as PyTorch does.
    Backward: dzᵢ = wᵢ (softmax(zᵢ) - onehot(yᵢ)) times the upstream gradient.
    Shapes: logits (N, C), target (N,) integers, row_weight (N,) or None. Kernels
    `cross_entropy_forward` and `cross_entropy_backward` (which `compile_step`'s programs
    call too).
    """

    def forward(
        self,
        logits: np.ndarray,
        target: np.ndarray,
        row_weight: np.ndarray | None,
        reduction: str,
        ahead: bool = False,
    ) -> np.ndarray:
        """`ahead`: the caller will want the gradient (the logits require it), so the
        usual case (`cross_entropy_reduced`) writes it in the forward's pass, for an
        upstream gradient of 1, which backward then hands out."""
        self.ahead = None
        if (
            row_weight is None
            and reduction != "none"
            and len(target)
            and fits(logits, target)
            and _own_kernels()
        ):
            ahead = ahead and logits.size <= AHEAD_MAX
            total, exp, self.ahead = cross_entropy_reduced(logits, target, reduction, ahead)
            self.probabilities, self.rows, self.target = exp, None, target
            self.row_weight, self.reduction = None, reduction
            self.denominator = float(len(target))
            return total
        rows = np.arange(len(target))
        losses, exp = cross_entropy_forward(logits, target, rows)
        denominator = float(len(target))
        if row_weight is not None:
            row_weight = row_weight.astype(logits.dtype, copy=False)  # float32 stays float32
            losses = losses * row_weight
            denominator = float(row_weight.sum())
        self.probabilities, self.rows, self.target = exp, rows, target
        self.row_weight, self.reduction, self.denominator = row_weight, reduction, denominator
        return _reduce(losses, reduction, denominator)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        ahead = self.ahead
        # item(): a Python float compares in ~0.1 us, the 0-d array `grad == 1` in over 1 us
        if ahead is not None and grad.ndim == 0 and grad.dtype is ahead.dtype and grad.item() == 1:
            self.ahead = None  # handed out once: a second backward (retain_graph) makes its own
            return ahead
        scale = _upstream_scale(grad, self.reduction, self.denominator)
        if self.row_weight is not None:
            scale = scale * self.row_weight
        scale = scale.astype(self.probabilities.dtype, copy=False)
        rows = np.arange(len(self.target)) if self.rows is None else self.rows
        return cross_entropy_backward(self.probabilities, rows, self.target, scale)

    def backward_graph(self, grad: Any, out: Any) -> Any:
        (logits,) = self.graph_inputs
        onehot = np.zeros(logits.shape, dtype=logits.dtype)
        onehot[np.arange(len(self.target)), self.target] = 1
        scale = grad / self.denominator if self.reduction == "mean" else grad
        if self.row_weight is not None:
            scale = scale * grad._make(self.row_weight, False)
        if scale.ndim:
            scale = scale.unsqueeze(1)
        return (logits.softmax(1) - grad._make(onehot, False)) * scale


_OWN = (cross_entropy_forward, cross_entropy_backward)


def mse_forward(
    x: np.ndarray, y: np.ndarray, mean: bool,
    diff: np.ndarray | None = None, squares: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """L = Σ (x - y)² / N (mean) or Σ (x - y)²: (L 0-d, d = x - y). Shapes: x, y the same
    shape and float dtype. `diff`, `squares` (that shape and dtype, None: new arrays) take
    d and d·d; NumPy's ``mean()``/``sum()`` of the squares, as the composed ops took."""
    diff = np.subtract(x, y, out=diff)
    squares = np.multiply(diff, diff, out=squares)
    return np.asarray(squares.mean() if mean else squares.sum()), diff


def mse_backward(
    diff: np.ndarray, grad: np.ndarray, mean: bool, out: np.ndarray | None = None
) -> np.ndarray:  # fmt: skip
    """dL/dx = s·d + s·d, s = grad / N (as Mean.backward divides) or grad: each side of
    d·d, added as the engine adds a tensor's two gradients (exact: 2·(s·d)). Shapes: diff
    (any), grad 0-d -> diff's shape, into `out` (None: a new array); dL/dy is its negation."""
    scale = grad / np.asarray(diff.size, grad.dtype) if mean else grad
    if out is None:
        side = scale * diff  # a NumPy scalar for a 0-d diff: no out= for it
        return side + side
    side = np.multiply(scale, diff, out=out)
    return np.add(side, side, out=out)


class MseLoss(Function):
    """Mean squared error as one op: L = Σ dᵢ² / N ('mean') or Σ dᵢ² ('sum'), d = x - y.

    The numbers are those of the ops it replaces (Sub, Mul of d by itself, Mean or Sum),
    bit for bit: kernels `mse_forward` and `mse_backward`. Shapes: x and y the same shape
    and float dtype -> 0-d. Three nodes (and their Tensors) were most of a small
    regression loss's time: 58 µs for a 64x1 output in a training step at 656e1f4.
    """

    def forward(self, x: np.ndarray, y: np.ndarray, reduction: str) -> np.ndarray:
        self.mean, self.shape = reduction == "mean", x.shape
        loss, self.diff = mse_forward(x, y, self.mean)
        return loss

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        d_x = mse_backward(self.diff, grad, self.mean)
        return d_x, (-d_x if self.needs_input_grad[1] else None)

    def backward_graph(self, grad: Any, out: Any) -> tuple[Any, Any]:
        x, y = self.graph_inputs
        diff = x - y
        upstream = (grad / int(np.prod(self.shape)) if self.mean else grad).expand(self.shape)
        side = upstream * diff
        d_x = side + side
        return d_x, (-d_x if self.needs_input_grad[1] else None)


class BinaryCrossEntropy(Function):
    """BCE on probabilities: -(y log p + (1-y) log(1-p)), each log clamped at -100 (PyTorch's
    rule), so p = 0 or 1 gives a finite loss. d/dp = (p - y) / max(p(1-p), 1e-12)."""

    saved = ((0, None),)

    def forward(
        self, p: np.ndarray, target: np.ndarray, weight: np.ndarray | None, reduction: str
    ) -> np.ndarray:
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), -100)
            log_not_p = np.maximum(np.log1p(-p), -100)
        losses = -(target * log_p + (1 - target) * log_not_p)
        if weight is not None:
            losses = losses * weight
        self.p, self.target, self.weight, self.reduction = p, target, weight, reduction
        return _reduce(losses, reduction, p.size).astype(p.dtype, copy=False)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        p = self.p
        local = (p - self.target) / np.maximum(p * (1 - p), 1e-12)
        if self.weight is not None:
            local = local * self.weight
        scale = _upstream_scale(grad, self.reduction, p.size)
        return (local * scale).astype(p.dtype, copy=False)

    def backward_graph(self, grad: Any, out: Any) -> Any:
        (p,) = self.graph_inputs
        local = (p - grad._make(self.target, False)) / (p * (1 - p)).clamp(min=1e-12)
        if self.weight is not None:
            local = local * grad._make(np.asarray(self.weight), False)
        return local * (grad / p.numel() if self.reduction == "mean" else grad)


class BinaryCrossEntropyWithLogits(Function):
    """BCE on logits z, stable for any z: (1 - y)·z + log(1 + e^(-z)), where
    log(1 + e^(-z)) = log(1 + e^(-|z|)) + max(-z, 0) never overflows.

    With pos_weight w: (1 - y)·z + (1 + (w - 1)·y)·log(1 + e^(-z)).
    d/dz = σ(z) - y (weighted: (1 + (w - 1)y)·σ(z) - w·y).
    """

    saved = ((0, None),)

    def forward(
        self,
        z: np.ndarray,
        target: np.ndarray,
        weight: np.ndarray | None,
        pos_weight: np.ndarray | None,
        reduction: str,
    ) -> np.ndarray:
        log1p_exp_neg = np.log1p(np.exp(-np.abs(z))) + np.maximum(-z, 0)
        if pos_weight is None:
            losses = (1 - target) * z + log1p_exp_neg
        else:
            losses = (1 - target) * z + (1 + (pos_weight - 1) * target) * log1p_exp_neg
        if weight is not None:
            losses = losses * weight
        self.z, self.target, self.weight, self.pos_weight = z, target, weight, pos_weight
        self.reduction = reduction
        return _reduce(losses, reduction, z.size).astype(z.dtype, copy=False)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        sig, y = stable_sigmoid(self.z), self.target
        if self.pos_weight is None:
            local = sig - y
        else:
            local = (1 + (self.pos_weight - 1) * y) * sig - self.pos_weight * y
        if self.weight is not None:
            local = local * self.weight
        scale = _upstream_scale(grad, self.reduction, self.z.size)
        return (local * scale).astype(self.z.dtype, copy=False)

    def backward_graph(self, grad: Any, out: Any) -> Any:
        (z,) = self.graph_inputs
        y = grad._make(np.asarray(self.target, dtype=z.dtype), False)
        if self.pos_weight is None:
            local = z.sigmoid() - y
        else:
            w = grad._make(np.asarray(self.pos_weight, dtype=z.dtype), False)
            local = (1 + (w - 1) * y) * z.sigmoid() - w * y
        if self.weight is not None:
            local = local * grad._make(np.asarray(self.weight, dtype=z.dtype), False)
        return local * (grad / z.numel() if self.reduction == "mean" else grad)
