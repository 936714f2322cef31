"""Regression and binary losses: MSE, L1, Huber, smooth L1, BCE (on probabilities and on
logits) and the KL divergence."""

from __future__ import annotations

from typing import Any

from chainrule import ops
from chainrule.nn.functional._common import (
    check_reduction,
    optional_array,
    reduce_losses,
    target_like,
)
from chainrule.tensor import Tensor


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error: mean((input - target)²)."""
    check_reduction(reduction)
    diff = input - target_like("mse_loss", input, target)
    return reduce_losses(diff * diff, reduction)


def l1_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean absolute error: mean(|input - target|) (the MAE of the lectures)."""
    check_reduction(reduction)
    return reduce_losses((input - target_like("l1_loss", input, target)).abs(), reduction)


def huber_loss(
    input: Tensor,
    target: Any,
    reduction: str = "mean",
    delta: float = 1.0,
) -> Tensor:
    """½d² where |d| < δ, δ(|d| - ½δ) elsewhere, d = input - target: MSE near 0, MAE far."""
    check_reduction(reduction)
    diff = input - target_like("huber_loss", input, target)
    size = diff.abs()
    from chainrule.joining import where

    losses = where(size._data < delta, 0.5 * diff * diff, delta * (size - 0.5 * delta))
    return reduce_losses(losses, reduction)


def binary_cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """-(y log p + (1 - y) log(1 - p)) on probabilities p in [0, 1]; each log is clamped at
    -100 as in PyTorch, so p = 0 or 1 stays finite."""
    check_reduction(reduction)
    y = target_like("binary_cross_entropy", input, target)
    if input._data.size and (input._data.min() < 0 or input._data.max() > 1):
        raise ValueError(
            "binary_cross_entropy: all input values must be between 0 and 1 (probabilities); "
            "for logits use binary_cross_entropy_with_logits"
        )
    return ops.BinaryCrossEntropy.apply(
        input, target=y._data, weight=optional_array(weight, input.dtype), reduction=reduction
    )


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Tensor:
    """Sigmoid + BCE in one stable op on logits z: (1 - y)z + log(1 + e^(-z))."""
    check_reduction(reduction)
    y = target_like("binary_cross_entropy_with_logits", input, target)
    return ops.BinaryCrossEntropyWithLogits.apply(
        input,
        target=y._data,
        weight=optional_array(weight, input.dtype),
        pos_weight=optional_array(pos_weight, input.dtype),
        reduction=reduction,
    )


def smooth_l1_loss(
    input: Tensor,
    target: Any,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """½d²/β where |d| < β, |d| - ½β elsewhere (d = input - target); beta=0 is L1."""
    if beta == 0:
        return l1_loss(input, target, reduction)
    return huber_loss(input, target, reduction, delta=beta) / beta


def kl_div(
    input: Tensor, target: Any, reduction: str = "mean", log_target: bool = False, **_: Any
) -> Tensor:
    """Σ target·(log target - input), with `input` log-probabilities (PyTorch's order);
    'batchmean' divides the sum by the batch size, as the KL divergence needs."""
    target = target_like("kl_div", input, target)
    if log_target:
        losses = target.exp() * (target - input)
    else:
        losses = target.xlogy(target) - target * input
    if reduction == "batchmean":
        return losses.sum() / input.shape[0]
    check_reduction(reduction)
    return reduce_losses(losses, reduction)
