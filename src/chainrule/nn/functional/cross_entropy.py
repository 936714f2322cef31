"""Multi-class losses: `cross_entropy` (on logits) and `nll_loss` (on log-probabilities),
with class weights, ignore_index, label smoothing and probability targets."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import ops
from chainrule.grad_mode import MODE
from chainrule.nn.functional._common import (
    check_reduction,
    legacy_reduction,
    optional_array,
    out_of_range,
    reduce_losses,
    resolve_reduction,
)
from chainrule.tensor import Tensor, index_array
from chainrule.types import TensorLike


def _classes_last(x: Tensor) -> Tensor:
    """(N, C, d1, ...) -> (N·d1·..., C), so every loss below sees rows of classes."""
    if x.ndim <= 2:
        return x
    order = (0, *range(2, x.ndim), 1)
    return x.permute(*order).reshape(-1, x.shape[1])


def _class_targets(
    name: str, target: TensorLike, logits: Tensor, ignore_index: int
) -> tuple[np.ndarray, bool]:
    """Class indices as a flat int64 array, and whether all of them are classes (no row holds
    an out-of-range ignore_index); a clear error for a wrong shape or class."""
    index = index_array(target)
    classes = logits.shape[1] if logits.ndim >= 2 else logits.shape[0]
    expected = (logits.shape[0], *logits.shape[2:]) if logits.ndim >= 2 else ()
    if index.shape != expected:
        raise ValueError(
            f"{name}: target shape {index.shape} does not fit input shape {logits.shape}; "
            f"expected class indices of shape {expected}"
        )
    if out_of_range(index, classes) is not None:  # rare: look closer
        bad = out_of_range(index[index != ignore_index], classes)
        if bad is not None:
            raise IndexError(f"{name}: target {bad} is out of bounds for {classes} classes")
        return index.reshape(-1), False
    return index.reshape(-1), True


def _row_weights(
    target: np.ndarray, weight: Any, ignore_index: int, dtype: np.dtype, all_classes: bool
) -> np.ndarray | None:
    """wᵢ = weight[yᵢ], 0 for ignored rows; None when every row weighs 1."""
    if weight is None and all_classes and ignore_index < 0:
        return None  # the usual case: no weights, and ignore_index is no class of any row
    ignored = target == ignore_index
    if weight is None and not ignored.any():
        return None
    safe = np.where(ignored, 0, target)
    table = np.ones(1, dtype=dtype) if weight is None else optional_array(weight, dtype)
    assert table is not None
    rows = table[safe] if weight is not None else np.ones(len(target), dtype=dtype)
    return np.where(ignored, 0, rows).astype(dtype)


def cross_entropy(
    input: Tensor,
    target: TensorLike,
    weight: TensorLike | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of logits: -log softmax(z)[y], averaged (the multi-class loss).

    target: class indices (N,) [int] or class probabilities (N, C) [float].
    Shapes: input (N, C) or (C,) or (N, C, d1, ...). Computed from log-softmax, so large
    logits cannot overflow; label_smoothing mixes the target with the uniform distribution.
    """
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce, reduction)
    target_array = target._data if isinstance(target, Tensor) else np.asarray(target)
    logits_array = input._data
    if (  # the usual case, checked in a few cheap steps: what the general path would do
        weight is None
        and label_smoothing == 0.0
        and ignore_index < 0  # so no class in range is ignored
        and (reduction == "mean" or reduction == "sum")
        and logits_array.ndim == 2
        and target_array.dtype == np.int64
        and target_array.shape == logits_array.shape[:1]
        and target_array.size
        and out_of_range(target_array, logits_array.shape[1]) is None
    ):
        return ops.CrossEntropyIndex.apply(
            input,
            target=target_array,
            row_weight=None,
            reduction=reduction,
            ahead=input.requires_grad and MODE.enabled,  # the gradient will be wanted
        )
    check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    logits = input.unsqueeze(0) if input.ndim == 1 else input
    if target_array.dtype.kind == "f":
        probabilities = target if isinstance(target, Tensor) else Tensor._make(target_array, False)
        return _cross_entropy_probabilities(
            input, logits, probabilities, weight, reduction, label_smoothing
        )
    if input.ndim == 1:
        target_array = target_array.reshape(1)
    index, all_classes = _class_targets("cross_entropy", target_array, logits, ignore_index)
    rows = _classes_last(logits)
    row_weight = _row_weights(index, weight, ignore_index, input.dtype, all_classes)
    if label_smoothing == 0.0:
        # ignored rows weigh 0; any valid class stands in for their (maybe negative) index
        safe = index if row_weight is None else np.where(index == ignore_index, 0, index)
        losses = ops.CrossEntropyIndex.apply(
            rows, target=safe, row_weight=row_weight, reduction=reduction
        )
    else:
        log_p = rows.log_softmax(1)
        weights_per_row = np.ones(len(index), input.dtype) if row_weight is None else row_weight
        picked = log_p[np.arange(len(index)), np.where(index == ignore_index, 0, index)]
        nll = -picked * Tensor._make(weights_per_row, False)
        class_weight = optional_array(weight, input.dtype)
        weighted = log_p if class_weight is None else log_p * Tensor._make(class_weight, False)
        valid = Tensor._make((index != ignore_index).astype(input.dtype), False)
        smooth = -weighted.sum(1) * valid / rows.shape[1]
        losses = nll * (1 - label_smoothing) + smooth * label_smoothing
        if reduction == "mean":
            losses = losses.sum() / float(weights_per_row.sum())
        elif reduction == "sum":
            losses = losses.sum()
    if reduction == "none":
        return losses.reshape(target_array.shape if input.ndim > 1 else ())
    return losses


def _cross_entropy_probabilities(
    input: Tensor,
    logits: Tensor,
    target: Tensor,
    weight: Any,
    reduction: str,
    label_smoothing: float,
) -> Tensor:
    """lossᵢ = -Σ_c w_c qᵢc log softmax(zᵢ)_c with q the (smoothed) target distribution.

    Built from tensor ops, so a target that requires grad gets d loss / d q = -w log softmax(z)
    (as in PyTorch, e.g. for distillation from a trained teacher's probabilities).
    """
    if target.shape != input.shape:
        raise ValueError(
            f"cross_entropy: probability targets of shape {target.shape} must match the input "
            f"shape {input.shape}"
        )
    rows = _classes_last(logits)
    q = _classes_last(target.reshape(logits.shape)).to(input.dtype)
    classes = rows.shape[1]
    if label_smoothing:
        q = q * (1 - label_smoothing) + label_smoothing / classes
    class_weight = optional_array(weight, input.dtype)
    if class_weight is not None:
        q = q * Tensor._make(class_weight, False)
    losses = -(rows.log_softmax(1) * q).sum(1)
    if reduction == "none":
        return losses.reshape(input.shape[:1] + input.shape[2:] if input.ndim > 1 else ())
    return reduce_losses(losses, reduction)


def nll_loss(
    input: Tensor,
    target: TensorLike,
    weight: TensorLike | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of log-probabilities: -wᵢ · input[i, yᵢ]; 'mean' divides by Σwᵢ.

    Pair it with log_softmax: nll_loss(log_softmax(z, 1), y) == cross_entropy(z, y).
    """
    reduction = resolve_reduction(size_average, reduce, reduction)
    log_p = input.unsqueeze(0) if input.ndim == 1 else input
    target_array = np.asarray(target._data if isinstance(target, Tensor) else target)
    if input.ndim == 1:
        target_array = target_array.reshape(1)
    index, all_classes = _class_targets("nll_loss", target_array, log_p, ignore_index)
    rows = _classes_last(log_p)
    row_weight = _row_weights(index, weight, ignore_index, input.dtype, all_classes)
    weights_per_row = np.ones(len(index), input.dtype) if row_weight is None else row_weight
    picked = rows[np.arange(len(index)), np.where(index == ignore_index, 0, index)]
    losses = -picked * Tensor._make(weights_per_row, False)
    if reduction == "none":
        return losses.reshape(target_array.shape if input.ndim > 1 else ())
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / float(weights_per_row.sum())
