"""Elementwise math, arithmetic with PyTorch's argument names, and matrix products."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule import dtypes, ops
from chainrule.ops.pointwise import BINARY_OPS, FLOAT_ONLY, UNARY_OPS, Round
from chainrule.tensor import Tensor
from chainrule.tensor_methods._common import METHODS, Scalar, _array, _plain, method
from chainrule.types import TensorLike


def _unary(name: str) -> Callable[..., Tensor]:
    op = UNARY_OPS[name]
    to_float = name in FLOAT_ONLY

    def apply(self: Tensor) -> Tensor:
        if to_float or self.dtype.kind == "b":
            self = self._as_float()
        return op.apply(self)

    apply.__name__ = name
    apply.__doc__ = f"torch.{name}, elementwise (`chainrule.ops.pointwise`)."
    return apply


for _name in UNARY_OPS:
    method(_name)(_unary(_name))


def _binary(name: str) -> Callable[..., Tensor]:
    op = BINARY_OPS[name]

    def apply(self: Tensor, other: TensorLike) -> Tensor:
        a, b = self._as_float(), self._operand(other)._as_float()
        return ops.binary(op, a, b)

    apply.__name__ = name
    return apply


for _name in BINARY_OPS:
    method(_name)(_binary(_name))

ALIASES = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh",
           "arccosh": "acosh", "arctanh": "atanh", "arctan2": "atan2"}  # fmt: skip
"""NumPy-style names PyTorch also accepts: the same method (and in-place twin)."""
for _alias, _name in ALIASES.items():
    method(_alias)(METHODS[_name])


@method("round")
def round(self: Tensor, decimals: builtins.int = 0) -> Tensor:
    """Round half to even (as PyTorch), to `decimals` places."""
    return Round.apply(self, decimals=decimals)


@method("add")
def add(self: Tensor, other: TensorLike, *, alpha: Scalar = 1) -> Tensor:
    """self + alpha · other."""
    return self + (other if alpha == 1 else self._operand(other) * alpha)


@method("sub", "subtract")
def sub(self: Tensor, other: TensorLike, *, alpha: Scalar = 1) -> Tensor:
    """self - alpha · other."""
    return self - (other if alpha == 1 else self._operand(other) * alpha)


@method("rsub")
def rsub(self: Tensor, other: TensorLike, *, alpha: Scalar = 1) -> Tensor:
    return self._operand(other) - self * alpha


@method("mul", "multiply")
def mul(self: Tensor, other: TensorLike) -> Tensor:
    return self * other


@method("div", "divide", "true_divide")
def div(self: Tensor, other: TensorLike, *, rounding_mode: str | None = None) -> Tensor:
    """self / other; rounding_mode 'trunc' or 'floor' rounds the quotient (integer inputs
    then stay integers, as in PyTorch)."""
    if rounding_mode is None:
        return self / other
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(
            "div expected rounding_mode to be one of None, 'trunc', or 'floor' "
            f"but found '{rounding_mode}'"
        )
    b = self._operand(other)
    if self.dtype.kind in "iub" and b.dtype.kind in "iub":
        a_, b_ = _array(self), _array(b)
        quotient = np.floor_divide(a_, b_) if rounding_mode == "floor" else np.trunc(a_ / b_)
        return _plain(quotient.astype(dtypes.promote(self.dtype, b.dtype)))
    quotient = self / b
    return quotient.floor() if rounding_mode == "floor" else quotient.trunc()


@method("floor_divide")
def floor_divide(self: Tensor, other: TensorLike) -> Tensor:
    return div(self, other, rounding_mode="floor")


@method("neg", "negative")
def neg(self: Tensor) -> Tensor:
    return -self


@method("absolute")
def absolute(self: Tensor) -> Tensor:
    return self.abs()


@method("float_power")
def float_power(self: Tensor, exponent: Any) -> Tensor:
    base = self.to(dtypes.float64)
    return base ** (exponent.to(dtypes.float64) if isinstance(exponent, Tensor) else exponent)


@method("clamp_min")
def clamp_min(self: Tensor, min: Scalar) -> Tensor:
    return self.clamp(min=min)


@method("clamp_max")
def clamp_max(self: Tensor, max: Scalar) -> Tensor:
    return self.clamp(max=max)


@method("lerp")
def lerp(self: Tensor, end: Any, weight: Any) -> Tensor:
    """self + weight · (end - self)."""
    return self + weight * (self._operand(end) - self)


@method("addcmul")
def addcmul(self: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Scalar = 1) -> Tensor:
    return self + value * tensor1 * tensor2


@method("addcdiv")
def addcdiv(self: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Scalar = 1) -> Tensor:
    return self + value * tensor1 / tensor2


@method("fmax")
def fmax(self: Tensor, other: TensorLike) -> Tensor:
    """maximum, ignoring NaN (the other value wins)."""
    b = self._operand(other)
    return ops.binary(ops.Maximum, self.nan_to_num(-np.inf), b.nan_to_num(-np.inf))


@method("fmin")
def fmin(self: Tensor, other: TensorLike) -> Tensor:
    b = self._operand(other)
    return ops.binary(ops.Minimum, self.nan_to_num(np.inf), b.nan_to_num(np.inf))


@method("nan_to_num")
def nan_to_num(
    self: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> Tensor:
    """NaN → nan, ±inf → the dtype's largest / smallest finite values (or posinf/neginf)."""
    if self.dtype.kind != "f":
        return self
    info = np.finfo(self.dtype)
    values = _array(self)
    mask_nan, mask_pos, mask_neg = np.isnan(values), values == np.inf, values == -np.inf
    out = self
    for mask, value in (
        (mask_nan, nan),
        (mask_pos, info.max if posinf is None else posinf),
        (mask_neg, info.min if neginf is None else neginf),
    ):
        if mask.any():  # the gradient of a replaced element is 0, as in PyTorch
            out = ops.Where.apply(out._operand(value).expand(self.shape), out, condition=mask)
    return out


@method("mm")
def mm(self: Tensor, mat2: Tensor) -> Tensor:
    if self.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got {self.ndim}-D and {mat2.ndim}-D")
    return self @ mat2


@method("matmul")
def matmul(self: Tensor, other: Tensor) -> Tensor:
    return self @ other


@method("bmm")
def bmm(self: Tensor, mat2: Tensor) -> Tensor:
    if self.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(f"bmm: expected 3-D tensors, got {self.ndim}-D and {mat2.ndim}-D")
    return self @ mat2


@method("mv")
def mv(self: Tensor, vec: Tensor) -> Tensor:
    if self.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"mv: expected a matrix and a vector, got {self.ndim}-D, {vec.ndim}-D")
    return self @ vec


@method("dot", "inner")
def dot(self: Tensor, other: Tensor) -> Tensor:
    if self.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {self.ndim}D and {other.ndim}D tensors")
    return (self * other).sum()


@method("outer", "ger")
def outer(self: Tensor, vec2: Tensor) -> Tensor:
    return self.reshape(-1, 1) * vec2.reshape(1, -1)


@method("addmm")
def addmm(
    self: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Scalar = 1, alpha: Scalar = 1
) -> Tensor:
    return beta * self + alpha * (mat1 @ mat2)


@method("hardshrink")
def hardshrink(self: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0 (F.hardshrink)."""
    from chainrule.ops import piecewise

    return piecewise.Hardshrink.apply(self, lambd=lambd)


@method("prelu")
def prelu(self: Tensor, weight: Tensor) -> Tensor:
    """x where x > 0, else weight · x, one slope per channel (dim 1) or one for all."""
    from chainrule.ops import piecewise

    return piecewise.Prelu.apply(self, weight)
