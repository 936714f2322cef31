"""What the functional families share: reduction checks, target conversion, index checks."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.kernels.embedding import indices_below
from chainrule.tensor import Tensor

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: str, allowed: tuple[str, ...] = REDUCTIONS) -> None:
    if reduction not in allowed:
        raise ValueError(f"{reduction!r} is not a valid value for reduction: use {allowed}")


def reduce_losses(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses


def target_like(name: str, prediction: Tensor, target: Any) -> Tensor:
    """The target as a tensor of the prediction's dtype and shape, or a clear error."""
    target = prediction._operand(target) if not isinstance(target, Tensor) else target
    if target.shape != prediction.shape:
        raise ValueError(
            f"{name}: target shape {target.shape} differs from input shape {prediction.shape}; "
            "they must match (reshape one of them, e.g. y.reshape(-1, 1))"
        )
    return target.to(prediction.dtype) if target.dtype != prediction.dtype else target


def optional_array(value: Any, dtype: np.dtype) -> np.ndarray | None:
    if value is None:
        return None
    return np.asarray(value._data if isinstance(value, Tensor) else value, dtype=dtype)


def out_of_range(index: np.ndarray, size: int) -> int | None:
    """The first int64 index outside 0..size-1, or None. The usual case, all in range, takes
    one pass (chainrule.kernels.embedding.indices_below: one compiled loop with numba)."""
    if indices_below(index, size):
        return None
    return int(index[(index < 0) | (index >= size)].flat[0])


def legacy_reduction(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    """torch's deprecated size_average/reduce pair, when given, overrides `reduction`:
    reduce=False -> 'none'; else size_average=False -> 'sum'; else 'mean' (None counts as
    True)."""
    if size_average is None and reduce is None:
        return reduction
    if reduce is False:
        return "none"
    return "sum" if size_average is False else "mean"


def resolve_reduction(
    size_average: bool | None,
    reduce: bool | None,
    reduction: str,
    allowed: tuple[str, ...] = REDUCTIONS,
) -> str:
    """The preamble of every loss that takes torch's legacy pair: `legacy_reduction`, then
    the result checked against `allowed` (one line of error for anything else)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction, allowed)
    return reduction


def weighted_reduce(losses: Tensor, weight: Any, reduction: str, per_weight: bool = True) -> Tensor:
    """torch 2.13's elementwise `weight` of mse_loss / l1_loss / huber_loss: w·l, and 'mean'
    is Σ w·l / Σ w (per_weight; huber_loss's is the plain mean of w·l, as torch's)."""
    if weight is None:
        return reduce_losses(losses, reduction)
    w = weight if isinstance(weight, Tensor) else Tensor(weight)
    if w.shape != losses.shape:
        raise ValueError(f"weight of shape {w.shape} must match the input shape {losses.shape}")
    weighted = losses * w.to(losses.dtype)
    if reduction == "mean" and per_weight:
        return weighted.sum() / w.to(losses.dtype).sum()
    return reduce_losses(weighted, reduction)
