# mypy: disable-error-code="arg-type, return-value, operator"
# (a mixin's self is a Tensor at run time, Tensor being its only subclass; mypy sees the mixin)
"""Tensor math: the core elementwise functions and reductions, each a recorded op."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import ops, return_types
from chainrule.tensor_parts.base import Scalar, TensorBase
from chainrule.types import TensorLike

if TYPE_CHECKING:
    from chainrule.tensor import Tensor


class Math(TensorBase):
    """exp/log/tanh/.../clamp and sum/mean/var/std/amax/max/min/softmax."""

    __slots__ = ()

    def exp(self) -> Tensor:
        return ops.Exp.apply(self._as_float())

    def log(self) -> Tensor:
        return ops.Log.apply(self._as_float())

    def sqrt(self) -> Tensor:
        return ops.Sqrt.apply(self._as_float())

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    def tanh(self) -> Tensor:
        return ops.Tanh.apply(self._as_float())

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(self._as_float())

    def relu(self) -> Tensor:
        return ops.Relu.apply(self)

    def clamp(self, min: Scalar | None = None, max: Scalar | None = None) -> Tensor:
        if min is None and max is None:
            raise ValueError("clamp: at least one of 'min' and 'max' must be given")
        return ops.Clamp.apply(self, low=min, high=max)

    clip = clamp

    def maximum(self, other: TensorLike) -> Tensor:
        return ops.binary(ops.Maximum, self, self._operand(other))

    def minimum(self, other: TensorLike) -> Tensor:
        return ops.binary(ops.Minimum, self, self._operand(other))

    def pow(self, exponent: Any) -> Tensor:
        return self**exponent

    def sign(self) -> Tensor:
        return self._make(np.sign(self._data), False)

    def sum(
        self,
        dim: builtins.int | Sequence[builtins.int] | None = None,
        keepdim: builtins.bool = False,
    ) -> Tensor:
        return ops.Sum.apply(self, axis=ops.normalize_dims(dim, self.ndim), keepdims=keepdim)

    def mean(
        self,
        dim: builtins.int | Sequence[builtins.int] | None = None,
        keepdim: builtins.bool = False,
    ) -> Tensor:
        return ops.Mean.apply(
            self._as_float(), axis=ops.normalize_dims(dim, self.ndim), keepdims=keepdim
        )

    def var(
        self,
        dim: builtins.int | Sequence[builtins.int] | None = None,
        unbiased: builtins.bool | None = None,
        keepdim: builtins.bool = False,
        correction: builtins.int | None = None,
    ) -> Tensor:
        """Variance: sum((x - mean)²) / (N - correction); correction=1 (unbiased) by default."""
        if correction is None:
            correction = 0 if unbiased is False else 1
        return ops.Var.apply(
            self._as_float(),
            axis=ops.normalize_dims(dim, self.ndim),
            keepdims=keepdim,
            correction=correction,
        )

    def std(
        self,
        dim: builtins.int | Sequence[builtins.int] | None = None,
        unbiased: builtins.bool = True,
        keepdim: builtins.bool = False,
    ) -> Tensor:
        return self.var(dim, unbiased=unbiased, keepdim=keepdim).sqrt()

    def amax(
        self,
        dim: builtins.int | Sequence[builtins.int] | None = None,
        keepdim: builtins.bool = False,
    ) -> Tensor:
        """Largest value; the gradient is split evenly between tied maxima (max gate)."""
        return ops.Amax.apply(self, axis=ops.normalize_dims(dim, self.ndim), keepdims=keepdim)

    def amin(
        self,
        dim: builtins.int | Sequence[builtins.int] | None = None,
        keepdim: builtins.bool = False,
    ) -> Tensor:
        if self._data.size == 0:  # amax's own message would name amax
            raise ValueError("amin: cannot take the minimum of an empty tensor")
        return -((-self).amax(dim, keepdim))

    def max(self, dim: Any = None, keepdim: builtins.bool = False) -> Any:
        """`max()` is the largest value; `max(dim)` returns (values, indices) as in PyTorch.

        `max(other_tensor)` is the elementwise `maximum`.
        """
        if isinstance(dim, TensorBase):
            return self.maximum(dim)
        if dim is None:
            return self.amax()
        return select_extreme(self, int(dim), keepdim, largest=True)

    def min(self, dim: Any = None, keepdim: builtins.bool = False) -> Any:
        if isinstance(dim, TensorBase):
            return self.minimum(dim)
        if dim is None:
            return self.amin()
        return select_extreme(self, int(dim), keepdim, largest=False)

    def argmax(self, dim: builtins.int | None = None, keepdim: builtins.bool = False) -> Tensor:
        return arg_extreme(self, dim, keepdim, np.argmax)

    def argmin(self, dim: builtins.int | None = None, keepdim: builtins.bool = False) -> Tensor:
        return arg_extreme(self, dim, keepdim, np.argmin)

    def softmax(self, dim: builtins.int) -> Tensor:
        return ops.Softmax.apply(self._as_float(), axis=dim)

    def log_softmax(self, dim: builtins.int) -> Tensor:
        return ops.LogSoftmax.apply(self._as_float(), axis=dim)


def select_extreme(x: Tensor, dim: int, keepdim: bool, largest: bool) -> Any:
    """(values, indices) of the max or min along `dim`; the gradient goes to that index."""
    axis = dim % max(x.ndim, 1)
    pick = np.argmax if largest else np.argmin
    index = np.expand_dims(pick(x._data, axis=axis), axis)
    values = x.gather(axis, index) if x.ndim else x
    indices = x._make(index, False)
    if not keepdim and x.ndim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return (return_types.max if largest else return_types.min)(values, indices)


def arg_extreme(
    x: Tensor, dim: int | None, keepdim: bool, pick: Callable[..., np.ndarray]
) -> Tensor:
    if dim is None:
        return x._make(np.asarray(pick(x._data)), False)
    return x._make(np.asarray(pick(x._data, axis=dim, keepdims=keepdim)), False)
