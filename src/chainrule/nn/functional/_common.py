"""What the functional families share: reduction checks, target conversion, index checks."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.tensor import Tensor

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{reduction!r} is not a valid value for reduction: use {REDUCTIONS}")


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
    one pass: viewed as unsigned, a negative index is huge."""
    if not index.size or int(index.view(np.uint64).max()) < size:
        return None
    return int(index[(index < 0) | (index >= size)].flat[0])
