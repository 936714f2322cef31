"""Regression and binary losses: MSE, L1, Huber, smooth L1, BCE (on probabilities and on
logits) and the KL divergence."""

from __future__ import annotations

import math

import numpy as np

from chainrule import ops
from chainrule.nn.functional._common import (
    REDUCTIONS,
    check_reduction,
    legacy_reduction,
    optional_array,
    reduce_losses,
    resolve_reduction,
    target_like,
    weighted_reduce,
)
from chainrule.tensor import Tensor
from chainrule.types import TensorLike


def mse_loss(
    input: Tensor,
    target: TensorLike,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: TensorLike | None = None,
) -> Tensor:
    """Mean squared error: mean((input - target)²); `weight` scales each element (then
    'mean' divides by Σ weight)."""
    if size_average is not None or reduce is not None:
        reduction = resolve_reduction(size_average, reduce, reduction)
    if (  # the usual case as one op (ops.MseLoss: the numbers of the ops below)
        (reduction == "mean" or reduction == "sum")
        and weight is None
        and isinstance(target, Tensor)
        and target._data.dtype is input._data.dtype
        and input._data.dtype.kind == "f"
        and target._data.shape == input._data.shape
    ):
        return ops.MseLoss.apply(input, target, reduction=reduction)
    check_reduction(reduction)
    diff = input - target_like("mse_loss", input, target)
    return weighted_reduce(diff * diff, weight, reduction)


def l1_loss(
    input: Tensor,
    target: TensorLike,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: TensorLike | None = None,
) -> Tensor:
    """Mean absolute error: mean(|input - target|) (the MAE of the lectures)."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    losses = (input - target_like("l1_loss", input, target)).abs()
    return weighted_reduce(losses, weight, reduction)


def huber_loss(
    input: Tensor,
    target: TensorLike,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: TensorLike | None = None,
) -> Tensor:
    """½d² where |d| < δ, δ(|d| - ½δ) elsewhere, d = input - target: MSE near 0, MAE far."""
    check_reduction(reduction)
    diff = input - target_like("huber_loss", input, target)
    size = diff.abs()
    from chainrule.joining import where

    losses = where(size._data < delta, 0.5 * diff * diff, delta * (size - 0.5 * delta))
    return weighted_reduce(losses, weight, reduction, per_weight=False)


def binary_cross_entropy(
    input: Tensor,
    target: TensorLike,
    weight: TensorLike | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """-(y log p + (1 - y) log(1 - p)) on probabilities p in [0, 1]; each log is clamped at
    -100 as in PyTorch, so p = 0 or 1 stays finite."""
    reduction = resolve_reduction(size_average, reduce, reduction)
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
    target: TensorLike,
    weight: TensorLike | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: TensorLike | None = None,
) -> Tensor:
    """Sigmoid + BCE in one stable op on logits z: (1 - y)z + log(1 + e^(-z)); pos_weight
    (one per class, broadcast over the last dim) scales the positive term."""
    reduction = resolve_reduction(size_average, reduce, reduction)
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
    target: TensorLike,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """½d²/β where |d| < β, |d| - ½β elsewhere (d = input - target); beta=0 is L1."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    if beta == 0:
        return l1_loss(input, target, reduction=reduction)
    return huber_loss(input, target, reduction, delta=beta) / beta


def kl_div(
    input: Tensor,
    target: TensorLike,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """Σ target·(log target - input), with `input` log-probabilities (PyTorch's order);
    'batchmean' divides the sum by the batch size, as the KL divergence needs."""
    reduction = resolve_reduction(size_average, reduce, reduction, (*REDUCTIONS, "batchmean"))
    target = target_like("kl_div", input, target)
    if log_target:
        losses = target.exp() * (target - input)
    else:
        losses = target.xlogy(target) - target * input
    if reduction == "batchmean":
        return losses.sum() / input.shape[0]
    return reduce_losses(losses, reduction)


def poisson_nll_loss(
    input: Tensor,
    target: TensorLike,
    log_input: bool = True,
    full: bool = False,
    size_average: bool | None = None,
    eps: float = 1e-8,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of a Poisson target y with rate λ:
    λ - y log λ, where λ = e^input (log_input) or input (then log(λ + eps)).
    `full` adds Stirling's y log y - y + ½ log(2πy) for y > 1 (the log y! term)."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    y = target_like("poisson_nll_loss", input, target)
    rate_term = input.exp() if log_input else input
    losses = rate_term - y * (input if log_input else (input + eps).log())
    if full:
        values = y.detach().numpy()
        safe = np.where(values > 1, values, 1.0)
        stirling = safe * np.log(safe) - safe + 0.5 * np.log(2 * np.pi * safe)
        losses = losses + Tensor._make(np.where(values > 1, stirling, 0).astype(input.dtype), False)
    return reduce_losses(losses, reduction)


def gaussian_nll_loss(
    input: Tensor,
    target: TensorLike,
    var: TensorLike,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of target under N(input, var): ½(log σ² + (input - target)²/σ²)
    (+ ½ log 2π when `full`). var: the input's shape, or one value per row (its shape without
    the last dim, or with a 1 in one dim), or a float. σ² is clamped at eps, and the gradient
    flows as if it were not (as in torch)."""
    check_reduction(reduction)
    y = target if isinstance(target, Tensor) else input._operand(target)
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = Tensor._make(np.full(input.shape, var, dtype=input.dtype), False)
    elif not isinstance(var, Tensor):
        var = Tensor(var)
    if (var._data < 0).any():
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (
            input.ndim == var.ndim
            and sum(v for i, v in zip(input.shape, var.shape, strict=True) if i != v) == 1
        ):
            raise ValueError("var is of incorrect size")
    clamped = var + (var.clamp(min=eps) - var).detach()
    losses = 0.5 * (clamped.log() + (input - y) ** 2 / clamped)
    if full:
        losses = losses + 0.5 * math.log(2 * math.pi)
    return reduce_losses(losses, reduction)
