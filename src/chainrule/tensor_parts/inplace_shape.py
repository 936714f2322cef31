# mypy: disable-error-code="arg-type, return-value, operator"
# (a mixin's self is a Tensor at run time, Tensor being its only subclass; mypy sees the mixin)
"""Shape-changing in-place ops: unsqueeze_, squeeze_, t_, transpose_, swapaxes_/swapdims_
(in-place views) and resize_/resize_as_ (a new shape over the same storage).

An in-place view op makes the tensor a view of its own memory with the new shape, as
PyTorch's do: the version goes up, and inside the graph the tensor takes the place of the
recorded view op (`y.t_()` on a computed `y` gives it a permute node whose input is `y` as
it was), so gradients reach what `y` was made from.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import autograd, ops
from chainrule.autograd import is_grad_enabled
from chainrule.tensor_parts.base import TensorBase
from chainrule.types import ShapeLike

if TYPE_CHECKING:
    from chainrule.tensor import Tensor


class InPlaceShape(TensorBase):
    """unsqueeze_ squeeze_ t_ transpose_ swapaxes_ swapdims_ resize_ resize_as_."""

    __slots__ = ()

    def _view_in_place(self, view: Callable[[Tensor], Tensor]) -> Tensor:
        """self becomes view(self): the same memory seen with a new shape."""
        self._check_inplace_in_graph()
        if is_grad_enabled() and self.requires_grad:
            if getattr(self, "_base", None) is not None:
                raise RuntimeError(
                    "a shape-changing in-place op on a view inside the graph is not "
                    "supported by chainrule: use the out-of-place op (unsqueeze, t, ...)"
                )
            old = self._snapshot()
            new = view(old)
            self._data = new._data
            autograd.bump_version(self)
            self._take_place(new, old)
            return self
        self._data = view(self.detach())._data
        autograd.bump_version(self)
        return self

    def unsqueeze_(self, dim: builtins.int) -> Tensor:
        return self._view_in_place(lambda t: t.unsqueeze(dim))

    def squeeze_(self, dim: builtins.int | None = None) -> Tensor:
        return self._view_in_place(lambda t: t.squeeze(dim))

    def t_(self) -> Tensor:
        return self._view_in_place(lambda t: t.t())

    def transpose_(self, dim0: builtins.int, dim1: builtins.int) -> Tensor:
        return self._view_in_place(lambda t: t.transpose(dim0, dim1))

    def swapaxes_(self, axis0: builtins.int, axis1: builtins.int) -> Tensor:
        return self.transpose_(axis0, axis1)

    swapdims_ = swapaxes_

    def resize_(self, *sizes: ShapeLike) -> Tensor:
        """This tensor with a new shape over its elements in row-major order: the first
        prod(sizes) of them (a view of the same memory) when that is no more than it has.
        Growing needs new memory: the old values come first and the rest are zeros
        (PyTorch leaves them uninitialised). Refused for a tensor that requires grad, as
        in PyTorch."""
        if self.requires_grad:
            raise RuntimeError("cannot resize variables that require grad")
        shape = ops.normalize_shape(sizes, int(np.prod([int(n) for n in _flat(sizes)])))
        count = int(np.prod(shape))
        flat = self._data.reshape(-1)  # a view when the memory is contiguous
        if count <= flat.size:
            self._data = flat[:count].reshape(shape)
        else:
            grown = np.zeros(count, dtype=self._data.dtype)
            grown[: flat.size] = flat
            self._data = grown.reshape(shape)
        autograd.bump_version(self)
        return self

    def resize_as_(self, other: Tensor) -> Tensor:
        return self.resize_(tuple(other.shape))


def _flat(sizes: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
