"""Tensors built from several: torch.cat (join along an existing dim), torch.stack (along a
new one) and the engine's where (elementwise pick from two by a mask).

They check shapes and promote dtypes before the op (ops.Cat, ops.Stack, ops.Where), so a
mismatch is one message naming the tensor. The other torch.xxx functions are derived from
the Tensor methods in functions.py, whose `torch.where(cond)` / `out=` wrapper builds on the
`where` here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chainrule import dtypes, ops
from chainrule.tensor import Tensor


def _as_tensor(value: Any, like: Tensor | None = None) -> Tensor:
    if isinstance(value, Tensor):
        return value
    if like is not None:
        return like._operand(value)
    return Tensor(value)


def _same_dtype(tensors: Sequence[Tensor]) -> list[Tensor]:
    common = tensors[0]._data.dtype
    for t in tensors[1:]:
        common = dtypes.promote(common, t._data.dtype)
    return [t.to(common) for t in tensors]


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dim; all other dims must match."""
    tensors = [_as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    first = tensors[0]
    axis = dim % max(first.ndim, 1)
    for i, t in enumerate(tensors):
        if t.ndim != first.ndim or t.shape[:axis] + t.shape[axis + 1 :] != (
            first.shape[:axis] + first.shape[axis + 1 :]
        ):
            raise ValueError(
                f"cat: tensor {i} has shape {t.shape} but tensor 0 has shape {first.shape}; "
                f"all dims except dim {dim} must match"
            )
    return ops.Cat.apply(*_same_dtype(tensors), axis=axis)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new dim."""
    tensors = [_as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ValueError(
                f"stack: tensor {i} has shape {t.shape} but tensor 0 has shape "
                f"{tensors[0].shape}; stack expects each tensor to be equal size"
            )
    axis = dim % (tensors[0].ndim + 1)
    return ops.Stack.apply(*_same_dtype(tensors), axis=axis)


def where(condition: Any, input: Any, other: Any) -> Tensor:  # PyTorch's name
    """Elementwise: input where condition holds, other elsewhere (gradients go the same way)."""
    cond = condition._data if isinstance(condition, Tensor) else condition
    like = input if isinstance(input, Tensor) else other if isinstance(other, Tensor) else None
    a, b = _as_tensor(input, like), _as_tensor(other, like)
    if a._data.dtype != b._data.dtype:
        a, b = _same_dtype([a, b])
    return ops.Where.apply(
        a, b, condition=cond.astype(bool, copy=False) if hasattr(cond, "astype") else cond
    )
