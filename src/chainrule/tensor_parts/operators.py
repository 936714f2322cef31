# mypy: disable-error-code="arg-type, return-value, operator"
# (a mixin's self is a Tensor at run time, Tensor being its only subclass; mypy sees the mixin)
"""Tensor operators: `+ - * / ** @` and unary minus (recorded ops, with PyTorch's dtype
promotion for Python scalars), and the comparisons (outside the graph)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import dtypes, ops
from chainrule.tensor_parts.base import TensorBase
from chainrule.types import TensorLike

if TYPE_CHECKING:
    from chainrule.tensor import Tensor


class Operators(TensorBase):
    """The arithmetic operators (recorded) and the comparison operators (no gradient)."""

    __slots__ = ()

    def _operand(self, other: TensorLike) -> Tensor:
        """`other` as a tensor; Python scalars take this tensor's dtype (no upcast)."""
        if isinstance(other, TensorBase):
            return other
        if isinstance(other, (bool, int, float)):
            dtype = self._data.dtype
            if isinstance(other, float) and dtype.kind != "f":
                dtype = dtypes.DEFAULT_FLOAT
            elif isinstance(other, int) and not isinstance(other, bool) and dtype.kind == "b":
                dtype = dtypes.int64
            return self._make(np.array(other, dtype=dtype), False)
        return self._make(dtypes.to_array(other), False)

    def __add__(self, other: TensorLike) -> Tensor:
        return ops.binary(ops.Add, self, self._operand(other))

    def __radd__(self, other: TensorLike) -> Tensor:
        return ops.binary(ops.Add, self._operand(other), self)

    def __sub__(self, other: TensorLike) -> Tensor:
        return ops.binary(ops.Sub, self, self._operand(other))

    def __rsub__(self, other: TensorLike) -> Tensor:
        return ops.binary(ops.Sub, self._operand(other), self)

    def __mul__(self, other: TensorLike) -> Tensor:
        return ops.binary(ops.Mul, self, self._operand(other))

    def __rmul__(self, other: TensorLike) -> Tensor:
        return ops.binary(ops.Mul, self._operand(other), self)

    def __truediv__(self, other: TensorLike) -> Tensor:
        return ops.binary(ops.Div, self._as_float(), self._operand(other)._as_float())

    def __rtruediv__(self, other: TensorLike) -> Tensor:
        return ops.binary(ops.Div, self._operand(other)._as_float(), self._as_float())

    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, (int, float)) and not isinstance(exponent, bool):
            return ops.PowScalar.apply(self, exponent=exponent)
        return ops.binary(ops.Pow, self, self._operand(exponent))

    def __rpow__(self, base: Any) -> Tensor:
        return ops.binary(ops.Pow, self._operand(base), self)

    def __matmul__(self, other: TensorLike) -> Tensor:
        return ops.matmul(self, self._operand(other))

    def __rmatmul__(self, other: TensorLike) -> Tensor:
        return ops.matmul(self._operand(other), self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return self.abs()

    def _as_float(self) -> Tensor:
        return self if self._data.dtype.kind == "f" else self.to(dtypes.DEFAULT_FLOAT)

    def _compare(self, other: TensorLike, compare: Any) -> Tensor:
        value = other._data if isinstance(other, TensorBase) else other
        return self._make(np.asarray(compare(self._data, value)), False)

    def __eq__(self, other: TensorLike) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other: TensorLike) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal)

    def __lt__(self, other: TensorLike) -> Tensor:
        return self._compare(other, np.less)

    def __le__(self, other: TensorLike) -> Tensor:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: TensorLike) -> Tensor:
        return self._compare(other, np.greater)

    def __ge__(self, other: TensorLike) -> Tensor:
        return self._compare(other, np.greater_equal)

    __hash__ = object.__hash__

    def eq(self, other: TensorLike) -> Tensor:
        return self == other

    def equal(self, other: TensorLike) -> builtins.bool:
        """True when both tensors have the same shape and values."""
        value = other._data if isinstance(other, TensorBase) else other
        return bool(np.array_equal(self._data, value))

    def __invert__(self) -> Tensor:
        return self._make(np.invert(self._data), False)

    def __and__(self, other: TensorLike) -> Tensor:
        return self._compare(other, np.logical_and)

    def __or__(self, other: TensorLike) -> Tensor:
        return self._compare(other, np.logical_or)
