# mypy: disable-error-code="arg-type, return-value, operator, assignment"
# (a mixin's self is a Tensor at run time, Tensor being its only subclass; mypy sees the mixin)
"""Tensor shape and indexing: views (reshape, permute, squeeze, ...), expand, gather,
and `t[index]` / `t[index] = value` (recorded in the graph)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import autograd, ops
from chainrule.tensor_parts.base import TensorBase
from chainrule.types import ShapeLike, TensorIndex, TensorLike

if TYPE_CHECKING:
    from chainrule.tensor import Tensor


class Shape(TensorBase):
    """reshape/view/flatten/transpose/permute/squeeze/unsqueeze/expand/gather and indexing."""

    __slots__ = ()

    def reshape(self, *shape: ShapeLike) -> Tensor:
        return self._view_op(ops.Reshape, shape=ops.normalize_shape(shape, self._data.size))

    def _view_op(self, op: Any, **options: Any) -> Tensor:
        return op.apply(self, **options)._view_from(self, op, options)

    view = reshape

    def view_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def flatten(self, start_dim: builtins.int = 0, end_dim: builtins.int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        start = start_dim % self.ndim
        end = end_dim % self.ndim
        shape = self.shape[:start] + (-1,) + self.shape[end + 1 :]
        return self.reshape(shape)

    def transpose(self, dim0: builtins.int, dim1: builtins.int) -> Tensor:
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return self.permute(*axes)

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise ValueError(f"t() expects a tensor with <= 2 dimensions, got {self.ndim}")
        return self.T

    def permute(self, *dims: ShapeLike) -> Tensor:
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        if sorted(d % max(self.ndim, 1) for d in dims) != list(range(self.ndim)):
            raise ValueError(f"permute: dims {dims} are not a permutation of {self.ndim} dims")
        return self._view_op(ops.Permute, axes=tuple(d % max(self.ndim, 1) for d in dims))

    def squeeze(self, dim: builtins.int | None = None) -> Tensor:
        if dim is None:
            shape = tuple(n for n in self.shape if n != 1)
        elif self.ndim and self.shape[dim] == 1:
            shape = self.shape[: dim % self.ndim] + self.shape[dim % self.ndim + 1 :]
        else:
            return self
        return self._view_op(ops.Reshape, shape=shape)

    def unsqueeze(self, dim: builtins.int) -> Tensor:
        position = dim if dim >= 0 else dim + self.ndim + 1
        if not 0 <= position <= self.ndim:
            raise IndexError(f"unsqueeze: dim {dim} out of range for {self.ndim} dims")
        return self._view_op(
            ops.Reshape, shape=self.shape[:position] + (1,) + self.shape[position:]
        )

    def expand(self, *sizes: ShapeLike) -> Tensor:
        if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
            sizes = tuple(sizes[0])
        offset = len(sizes) - self.ndim
        shape = tuple(self.shape[i - offset] if n == -1 else n for i, n in enumerate(sizes))
        return ops.Expand.apply(self, shape=shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def gather(self, dim: builtins.int, index: TensorLike) -> Tensor:
        """out[i][j] = self[i][index[i][j]] for dim=1 (torch.gather)."""
        return ops.Gather.apply(self, index=index_array(index), axis=dim)

    def __getitem__(self, index: TensorIndex) -> Tensor:
        if type(index) is slice and not self.requires_grad:  # a batch slice: no graph needed
            out = self._make(self._data[index], False)
            out._base = self  # a slice is always a view
            out._view_of = (ops.GetItem, {"index": index})
            return out
        options = {"index": normalize_index(index)}
        return ops.GetItem.apply(self, **options)._view_from(self, ops.GetItem, options)

    def __setitem__(self, index: TensorIndex, value: TensorLike) -> None:
        """t[index] = value; inside the graph it is recorded (SetItem), as in PyTorch, so
        `t[range(n), y] -= 1` and `t[mask] = 0` on a computed tensor backpropagate."""
        index = normalize_index(index)
        if self._records_inplace(value):
            source = value if isinstance(value, TensorBase) else self._operand(value)
            self._record_inplace(lambda old: ops.SetItem.apply(old, source, index=index))
            return
        self._check_inplace()
        self._data[index] = value._data if isinstance(value, TensorBase) else value
        autograd.bump_version(self)


def index_array(index: Any) -> np.ndarray:
    """An integer index given as a Tensor, ndarray or list, as an int64 ndarray."""
    array = np.asarray(index._data if isinstance(index, TensorBase) else index)
    if array.dtype.kind not in "iu":
        raise TypeError(f"index must be an integer tensor, got {array.dtype}")
    return array.astype(np.int64, copy=False)


def normalize_index(index: Any) -> Any:
    """Tensors and lists inside an index become ndarrays (NumPy's indexing rules apply)."""

    def convert(part: Any) -> Any:
        if isinstance(part, TensorBase):
            return part._data
        if isinstance(part, list):
            return np.asarray(part)
        return part

    if isinstance(index, tuple):
        return tuple(convert(p) for p in index)
    return convert(index)
