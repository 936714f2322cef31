# mypy: disable-error-code="arg-type, return-value, operator"
# (a mixin's self is a Tensor at run time, Tensor being its only subclass; mypy sees the mixin)
"""Tensor conversions: to Python and NumPy values, detach/clone, requires_grad_, and
dtype/device casts (`to`, `float()`, `long()` ...)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import autograd, dtypes, ops
from chainrule.autograd import is_grad_enabled
from chainrule.devices import device as cpu_device
from chainrule.devices import target_dtype
from chainrule.tensor_parts.base import TensorBase
from chainrule.types import DeviceLike, DTypeLike, Number

if TYPE_CHECKING:
    from chainrule.tensor import Tensor


class Conversion(TensorBase):
    """numpy/item/float/int/bool/index, detach, clone, requires_grad_, retain_grad, to, casts."""

    __slots__ = ()

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shares memory, as in PyTorch)."""
        if self.requires_grad:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. "
                "Use tensor.detach().numpy() instead."
            )
        return self._data

    def __array__(self, dtype: DTypeLike = None, copy: Any = None) -> np.ndarray:
        return self._data if dtype is None else self._data.astype(dtype)

    def item(self) -> Number:
        if self._data.size != 1:
            raise ValueError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return self._data.item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def __float__(self) -> builtins.float:
        return float(self.item())

    def __int__(self) -> builtins.int:
        return int(self.item())

    def __bool__(self) -> builtins.bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self._data.size} values is ambiguous"
            )
        return bool(self._data)

    def __index__(self) -> builtins.int:
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self._data)

    def detach(self) -> Tensor:
        """A tensor sharing the same data, cut off from the graph.

        It shares the version counter too (as in PyTorch): changing it in place while the
        original is saved for backward makes that backward raise.
        """
        out = self._make(self._data, False)
        out._vc = autograd.version_counter(self)
        return out

    def detach_(self) -> Tensor:
        """Cut this tensor itself off from the graph: it becomes a leaf that needs no grad.

        Earlier graph nodes still hold what they saved; only this tensor forgets its
        grad_fn (PyTorch's detach_).
        """
        self._ctx = None
        self.requires_grad = False
        return self

    def clone(self) -> Tensor:
        """A copy that stays in the graph (gradients flow back to the original)."""
        return ops.Clone.apply(self)

    def requires_grad_(self, requires_grad: builtins.bool = True) -> Tensor:
        if requires_grad and not dtypes.is_floating(self._data.dtype):
            raise RuntimeError(
                f"only floating point tensors can require gradients (this one is {self.dtype})"
            )
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep `.grad` for this non-leaf tensor after backward."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._ctx is not None:  # a leaf keeps its .grad anyway (retains_grad stays False)
            self._retains_grad = True

    def to(self, *args: Any, dtype: DTypeLike = None, device: DeviceLike = None) -> Tensor:
        """The same values as a dtype (stays in the graph when the dtype is floating).

        ``x.to("cpu")``, ``x.to(device)`` and ``x.to(device, dtype)`` work as in PyTorch;
        chainrule computes on the CPU only.
        """
        dtype = target_dtype(args, dtype, device)
        if dtype is None:
            return self
        target = dtypes.as_dtype(dtype)
        if target == self._data.dtype:
            return self
        if self.requires_grad and dtypes.is_floating(target) and is_grad_enabled():
            return ops.Cast.apply(self, dtype=target)
        return self._make(self._data.astype(target), False)

    type = to

    def cpu(self) -> Tensor:
        return self

    @property
    def device(self) -> cpu_device:
        return cpu_device("cpu")

    def float(self) -> Tensor:
        return self.to(dtypes.float32)

    def double(self) -> Tensor:
        return self.to(dtypes.float64)

    def long(self) -> Tensor:
        return self.to(dtypes.int64)

    def int(self) -> Tensor:
        return self.to(dtypes.int32)

    def bool(self) -> Tensor:
        return self.to(dtypes.bool_)
