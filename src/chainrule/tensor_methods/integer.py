"""Integer and bit-level math: gcd, lcm, shifts, heaviside, ldexp, nextafter, frexp.

gcd, lcm, shifts, heaviside, nextafter and frexp are outside the graph (torch does not
differentiate them); ldexp = self · 2^other is recorded (a product)."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import dtypes
from chainrule.tensor import Tensor
from chainrule.tensor_methods._common import _array, _plain, method
from chainrule.types import TensorLike


def _integers(name: str, ufunc: Any) -> Any:
    def apply(self: Tensor, other: TensorLike) -> Tensor:
        a, b = _array(self), _array(self._operand(other))
        if a.dtype.kind not in "iub" or np.asarray(b).dtype.kind not in "iub":
            raise RuntimeError(f"\"{name}_cpu\" not implemented for '{self.dtype.name}'")
        return _plain(ufunc(a, b).astype(dtypes.promote(a.dtype, np.asarray(b).dtype)))

    apply.__name__ = name
    return apply


for _name, _ufunc in (("gcd", np.gcd), ("lcm", np.lcm),
                      ("bitwise_left_shift", np.left_shift), ("__lshift__", np.left_shift),
                      ("bitwise_right_shift", np.right_shift),
                      ("__rshift__", np.right_shift)):  # fmt: skip
    method(_name)(_integers(_name.strip("_"), _ufunc))


@method("heaviside")
def heaviside(self: Tensor, values: Any) -> Tensor:
    """0 for x < 0, values for x == 0, 1 for x > 0."""
    other = self._operand(values)
    if other.dtype != self.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes")
    return _plain(np.heaviside(_array(self), _array(other)).astype(self.dtype))


@method("nextafter")
def nextafter(self: Tensor, other: TensorLike) -> Tensor:
    """The next representable float after self towards other."""
    return _plain(np.nextafter(_array(self), _array(self._operand(other))).astype(self.dtype))


@method("frexp")
def frexp(self: Tensor) -> Any:
    """(mantissa, exponent) with self = mantissa · 2^exponent, 0.5 <= |mantissa| < 1."""
    if self.dtype.kind != "f":
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    from chainrule import return_types

    mantissa, exponent = np.frexp(_array(self))
    named = return_types._named("frexp", ("mantissa", "exponent"))
    return named(_plain(mantissa.astype(self.dtype)), _plain(exponent.astype(np.int32)))


@method("ldexp")
def ldexp(self: Tensor, other: TensorLike) -> Tensor:
    """self · 2^other (float result)."""
    exponent = self._operand(other)._as_float()
    return self._as_float() * exponent.exp2()
