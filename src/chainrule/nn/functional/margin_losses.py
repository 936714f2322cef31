"""Margin and embedding losses: hinge, ranking, soft margin, multi-class and multi-label
margins, cosine embedding and triplet losses, as in torch.nn.functional.

Targets are constants (±1 labels or class indices), read as arrays; the losses compose
tensor ops, so autodiff derives their gradients.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from chainrule.nn.functional._common import (
    check_reduction,
    optional_array,
    reduce_losses,
    resolve_reduction,
)
from chainrule.nn.functional.activations import logsigmoid, softplus
from chainrule.nn.functional.distance import pairwise_distance
from chainrule.tensor import Tensor, index_array
from chainrule.types import TensorLike


def _labels(target: TensorLike, dtype: np.dtype) -> np.ndarray:
    return np.asarray(target._data if isinstance(target, Tensor) else target).astype(dtype)


def _constant(array: np.ndarray) -> Tensor:
    return Tensor._make(array, False)


def hinge_embedding_loss(
    input: Tensor,
    target: TensorLike,
    margin: float = 1.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """x where y = 1, max(0, margin - x) where y = -1 (x a distance, y = ±1)."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    y = np.broadcast_to(_labels(target, input.dtype), input.shape)
    hinge = (margin - input).clamp(min=0) * _constant((y != 1).astype(input.dtype))
    return reduce_losses(hinge + input * _constant((y != -1).astype(input.dtype)), reduction)


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: TensorLike,
    margin: float = 0.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, -y·(x1 - x2) + margin): x1 should rank above x2 where y = 1, below where -1."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    y = _constant(_labels(target, input1.dtype))
    return reduce_losses((-y * (input1 - input2) + margin).clamp(min=0), reduction)


def soft_margin_loss(
    input: Tensor,
    target: TensorLike,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """log(1 + e^(-y·x)) for labels y = ±1 (logistic loss), computed as softplus(-y·x)."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    y = _constant(_labels(target, input.dtype))
    return reduce_losses(softplus(-y * input), reduction)


def multilabel_soft_margin_loss(
    input: Tensor,
    target: TensorLike,
    weight: TensorLike | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """-(1/C) Σ_c w_c [y_c log σ(x_c) + (1 - y_c) log σ(-x_c)] per sample (y_c in {0, 1}):
    one logistic loss per class, averaged over the C classes (the last dim)."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    y = _constant(_labels(target, input.dtype))
    losses = -(y * logsigmoid(input) + (1 - y) * logsigmoid(-input))
    class_weight = optional_array(weight, input.dtype)
    if class_weight is not None:
        losses = losses * _constant(class_weight)
    per_sample = losses.sum(input.ndim - 1) / input.shape[-1]
    return reduce_losses(per_sample, reduction)


def multi_margin_loss(
    input: Tensor,
    target: TensorLike,
    p: int = 1,
    margin: float = 1.0,
    weight: TensorLike | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-class hinge: (1/C) Σ_{j ≠ y} w_y max(0, margin - x_y + x_j)^p, p in {1, 2}.
    Shapes: input (N, C) or (C,), target class indices (N,) or ()."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError(f"only p == 1 and p == 2 supported, got {p}")
    rows = input.unsqueeze(0) if input.ndim == 1 else input
    index = index_array(target).reshape(-1)
    n, classes = rows.shape
    if index.shape != (n,) or (index.size and (index.min() < 0 or index.max() >= classes)):
        raise ValueError(
            f"multi_margin_loss: target must hold {n} class indices in [0, {classes}), got "
            f"{index.tolist()}"
        )
    picked = rows[np.arange(n), index].unsqueeze(1)
    others = _constant((np.arange(classes) != index[:, None]).astype(input.dtype))
    hinge = (margin - picked + rows).clamp(min=0)
    if p == 2:
        hinge = hinge * hinge
    class_weight = optional_array(weight, input.dtype)
    if class_weight is not None:
        hinge = hinge * _constant(class_weight[index][:, None])
    losses = (hinge * others).sum(1) / classes
    if input.ndim == 1:
        losses = losses.reshape(())
    return reduce_losses(losses, reduction)


def multilabel_margin_loss(
    input: Tensor,
    target: TensorLike,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Σ_{j in targets} Σ_{i not in targets} max(0, 1 - (x_j - x_i)) / C per sample.
    target (N, C) or (C,): the sample's classes first, ended by the first -1."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    rows = input.unsqueeze(0) if input.ndim == 1 else input
    index = index_array(target).reshape(rows.shape)
    n, classes = rows.shape
    is_target = np.zeros((n, classes), dtype=bool)
    for i in range(n):  # each row's classes run until its first -1
        row = index[i]
        ends = np.flatnonzero(row < 0)
        classes_of_row = row[: ends[0] if ends.size else classes]
        if classes_of_row.size and classes_of_row.max() >= classes:
            raise ValueError(f"multilabel_margin_loss: target class out of range in row {i}")
        is_target[i, classes_of_row] = True
    # pairs (j target, i not target): 1 - x_j + x_i, hinged
    pairs = (1 - rows.unsqueeze(2) + rows.unsqueeze(1)).clamp(min=0)
    mask = (is_target[:, :, None] & ~is_target[:, None, :]).astype(input.dtype)
    losses = (pairs * _constant(mask)).sum((1, 2)) / classes
    if input.ndim == 1:
        losses = losses.reshape(())
    return reduce_losses(losses, reduction)


def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: TensorLike,
    margin: float = 0.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1; cos along the
    last dim, its norms offset by 1e-12 as in torch."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    dim = input1.ndim - 1
    dot = (input1 * input2).sum(dim)
    norms = ((input1 * input1).sum(dim) + 1e-12) * ((input2 * input2).sum(dim) + 1e-12)
    cos = dot / norms.sqrt()
    y = np.broadcast_to(_labels(target, input1.dtype), cos.shape)
    positive = (1 - cos) * _constant((y == 1).astype(input1.dtype))
    negative = (cos - margin).clamp(min=0) * _constant((y == -1).astype(input1.dtype))
    return reduce_losses(positive + negative, reduction)


def _triplet(
    distance: Callable[[Tensor, Tensor], Tensor],
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float,
    swap: bool,
    reduction: str,
) -> Tensor:
    d_positive, d_negative = distance(anchor, positive), distance(anchor, negative)
    if swap:  # the harder negative distance: from the positive, if smaller
        d_swap = distance(positive, negative)
        smaller = _constant((d_swap._data < d_negative._data).astype(d_negative.dtype))
        d_negative = d_swap * smaller + d_negative * (1 - smaller)
    return reduce_losses((d_positive - d_negative + margin).clamp(min=0), reduction)


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """max(d(a, p) - d(a, n) + margin, 0), d the p-norm distance (pairwise_distance)."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"triplet_margin_loss: margin must be greater than 0, got {margin}")

    def distance(x1: Tensor, x2: Tensor) -> Tensor:
        return pairwise_distance(x1, x2, p, eps)

    return _triplet(distance, anchor, positive, negative, margin, swap, reduction)


def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """The triplet loss with any distance (default pairwise_distance)."""
    check_reduction(reduction)
    if margin <= 0:
        raise ValueError(f"triplet_margin_with_distance_loss: margin must be > 0, got {margin}")
    distance = pairwise_distance if distance_function is None else distance_function
    return _triplet(distance, anchor, positive, negative, margin, swap, reduction)
