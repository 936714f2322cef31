"""Every op of the engine, one small `Function` each, plus the argument helpers that the
Tensor methods share (dims, shapes, dtype promotion, clear shape errors).

This package sits below `chainrule.tensor` (docs/architecture.md): it never imports it at run
time. Helpers that must recognise or build a Tensor (indices, max/min with indices) live in
tensor.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import dtypes
from chainrule.ops.activation import Elu, Gelu, Hardtanh, LeakyRelu, Silu, Softplus, erf
from chainrule.ops.elementwise import (
    Abs,
    Add,
    Cast,
    Clamp,
    Clone,
    CopyInto,
    Div,
    Exp,
    Log,
    Maximum,
    Minimum,
    Mul,
    Neg,
    Pow,
    PowScalar,
    Relu,
    Sigmoid,
    Sqrt,
    Sub,
    Tanh,
    Where,
    stable_sigmoid,
)
from chainrule.ops.linalg import Linear, MatMul
from chainrule.ops.loss import (
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    CrossEntropyIndex,
    MseLoss,
)
from chainrule.ops.movement import (
    Cat,
    EmbeddingLookup,
    Expand,
    Gather,
    GetItem,
    IndexScatter,
    Permute,
    Reshape,
    SetItem,
    Stack,
    ViewScatter,
)
from chainrule.ops.reduce import Amax, LogSoftmax, Mean, Softmax, Sum, Var

if TYPE_CHECKING:
    from chainrule.autograd import Function
    from chainrule.tensor import Tensor

__all__ = [
    "Abs", "Add", "Amax", "BinaryCrossEntropy", "BinaryCrossEntropyWithLogits", "Cast", "Cat",
    "Clamp", "Clone", "CrossEntropyIndex", "Div", "Elu", "EmbeddingLookup", "Exp", "Expand",
    "Gather", "Gelu", "GetItem", "Hardtanh", "IndexScatter", "LeakyRelu", "Linear", "Log",
    "LogSoftmax", "MatMul", "Maximum", "Mean", "Minimum", "MseLoss",
    "Mul", "Neg", "Permute", "Pow", "PowScalar", "Relu", "Reshape", "Sigmoid", "Silu",
    "Softmax", "Softplus", "Sqrt", "Stack", "Sub", "Sum", "Tanh", "Var", "Where", "erf",
    "stable_sigmoid",
    "CopyInto", "SetItem", "ViewScatter",  # the in-place ops recorded in the graph
]  # fmt: skip


def binary(op: type[Function], a: Tensor, b: Tensor) -> Tensor:
    """Apply a broadcasting binary op after PyTorch's dtype promotion, with a clear error."""
    if a._data.dtype != b._data.dtype:
        common = dtypes.promote(a._data.dtype, b._data.dtype, a._data.ndim == 0, b._data.ndim == 0)
        a, b = a.to(common), b.to(common)
    try:
        return op.apply(a, b)
    except ValueError as error:
        if "broadcast" in str(error):
            raise ValueError(
                f"{op.__name__.lower()}: shapes {a.shape} and {b.shape} cannot be broadcast "
                "together (each dim must match or be 1)"
            ) from None
        raise


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """a @ b with a clear message when the inner dims differ."""
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both arguments need >= 1 dim, got {a.shape} and {b.shape}")
    inner_a = a.shape[-1]
    inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if inner_a != inner_b:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied ({inner_a} != {inner_b})"
        )
    if a._data.dtype != b._data.dtype:
        common = dtypes.promote(a._data.dtype, b._data.dtype)
        a, b = a.to(common), b.to(common)
    try:
        return MatMul.apply(a, b)
    except ValueError:
        raise ValueError(
            f"matmul: batch dims of {a.shape} and {b.shape} cannot be broadcast together"
        ) from None


def normalize_dims(dim: int | Sequence[int] | None, ndim: int) -> tuple[int, ...] | None:
    """A dim or list of dims as a sorted tuple of non-negative axes (None = all)."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    span = max(ndim, 1)
    for d in dims:
        if not -span <= d < span:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-span}, {span - 1}], "
                f"but got {d})"
            )
    return tuple(sorted(int(d) % span for d in dims)) if ndim else None


def normalize_shape(shape: tuple[Any, ...], size: int) -> tuple[int, ...]:
    """reshape(2, 3) and reshape((2, 3)) alike; check the element count fits."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    dims = tuple(int(n) for n in shape)
    known = int(np.prod([n for n in dims if n != -1]))
    fits = size == known if -1 not in dims else (known and size % known == 0)
    if dims.count(-1) > 1 or not fits:
        raise ValueError(f"reshape: shape {dims} is invalid for input of size {size}")
    return dims
