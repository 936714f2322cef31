"""PyTorch's Tensor methods beyond the core ones in tensor.py, installed from tables.

Most of PyTorch's API is many names over a few ideas: elementwise math (one row each in
`chainrule.ops.pointwise`), aliases (``multiply`` is ``mul``), argument spellings
(``keepdims=`` for ``keepdim=``, ``other=``, ``alpha=``), in-place twins (``sin_`` is
``copy_(sin())``) and compositions of existing differentiable ops (``flip`` is a slice,
``logsumexp`` is max + log(sum(exp))). This module writes each idea once and installs
the names on `Tensor`; `chainrule.functions` derives the module-level ``torch.xxx``
functions from the same methods, so a method and its function never disagree.

Gradients: every method here is built from recorded ops, so autograd differentiates it;
comparisons, sorting indices, rounding and sampling return tensors outside the graph, as
in PyTorch.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule import dtypes, ops, return_types
from chainrule.autograd import is_grad_enabled
from chainrule.ops.pointwise import BINARY_OPS, FLOAT_ONLY, UNARY_OPS, Round
from chainrule.ops.scan import Cumprod, Cumsum, Prod, Scatter
from chainrule.random import Generator, numpy_stream
from chainrule.tensor import Tensor, index_array

Scalar = int | float | bool
METHODS: dict[str, Callable[..., Any]] = {}
"""Every method this module installs, by name (the coverage page and tests read it)."""


def method(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Install the decorated function on Tensor under each name."""

    def install(fn: Callable[..., Any]) -> Callable[..., Any]:
        for name in names:
            METHODS[name] = fn
        return fn

    return install


def _array(value: Any) -> Any:
    return value.detach().numpy() if isinstance(value, Tensor) else value


def _plain(array: Any) -> Tensor:
    """A tensor outside the graph (comparisons, indices, samples)."""
    return Tensor._make(np.asarray(array), False)


def _dims(dim: Any, keepdim: Any, keepdims: Any, axis: Any = None) -> tuple[Any, bool]:
    """PyTorch accepts ``dim=``/``axis=`` and ``keepdim=``/``keepdims=`` alike."""
    return (axis if dim is None else dim), builtins.bool(
        keepdims if keepdims is not None else keepdim
    )


# ====================================================================== elementwise math
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

    def apply(self: Tensor, other: Any) -> Tensor:
        a, b = self._as_float(), self._operand(other)._as_float()
        return ops.binary(op, a, b)

    apply.__name__ = name
    return apply


for _name in BINARY_OPS:
    method(_name)(_binary(_name))


@method("round")
def round(self: Tensor, decimals: builtins.int = 0) -> Tensor:
    """Round half to even (as PyTorch), to `decimals` places."""
    return Round.apply(self, decimals=decimals)


@method("add")
def add(self: Tensor, other: Any, *, alpha: Scalar = 1) -> Tensor:
    """self + alpha · other."""
    return self + (other if alpha == 1 else self._operand(other) * alpha)


@method("sub", "subtract")
def sub(self: Tensor, other: Any, *, alpha: Scalar = 1) -> Tensor:
    """self - alpha · other."""
    return self - (other if alpha == 1 else self._operand(other) * alpha)


@method("rsub")
def rsub(self: Tensor, other: Any, *, alpha: Scalar = 1) -> Tensor:
    return self._operand(other) - self * alpha


@method("mul", "multiply")
def mul(self: Tensor, other: Any) -> Tensor:
    return self * other


@method("div", "divide", "true_divide")
def div(self: Tensor, other: Any, *, rounding_mode: str | None = None) -> Tensor:
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
def floor_divide(self: Tensor, other: Any) -> Tensor:
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
def fmax(self: Tensor, other: Any) -> Tensor:
    """maximum, ignoring NaN (the other value wins)."""
    b = self._operand(other)
    return ops.binary(ops.Maximum, self.nan_to_num(-np.inf), b.nan_to_num(-np.inf))


@method("fmin")
def fmin(self: Tensor, other: Any) -> Tensor:
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


# ====================================================================== comparisons
def _comparison(compare: Any) -> Callable[..., Tensor]:
    def apply(self: Tensor, other: Any) -> Tensor:
        return _plain(compare(_array(self), _array(other)))

    return apply


for _names, _ufunc in (
    (("ne", "not_equal"), np.not_equal),
    (("lt", "less"), np.less),
    (("le", "less_equal"), np.less_equal),
    (("gt", "greater"), np.greater),
    (("ge", "greater_equal"), np.greater_equal),
    (("logical_and",), np.logical_and),
    (("logical_or",), np.logical_or),
    (("logical_xor",), np.logical_xor),
    (("bitwise_and", "__and__"), np.bitwise_and),
    (("bitwise_or", "__or__"), np.bitwise_or),
    (("bitwise_xor", "__xor__"), np.bitwise_xor),
):
    method(*_names)(_comparison(_ufunc))


for _names, _test in (
    (("isnan",), np.isnan),
    (("isinf",), np.isinf),
    (("isfinite",), np.isfinite),
    (("isposinf",), np.isposinf),
    (("isneginf",), np.isneginf),
    (("logical_not",), np.logical_not),
    (("bitwise_not",), np.invert),
    (("signbit",), np.signbit),
):
    method(*_names)(lambda self, _f=_test: _plain(_f(_array(self))))


@method("isclose")
def isclose(
    self: Tensor,
    other: Any,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    equal_nan: builtins.bool = False,
) -> Tensor:
    return _plain(
        np.isclose(_array(self), _array(other), rtol=rtol, atol=atol, equal_nan=equal_nan)
    )


@method("allclose")
def allclose(
    self: Tensor,
    other: Any,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    equal_nan: builtins.bool = False,
) -> builtins.bool:
    return builtins.bool(
        np.allclose(_array(self), _array(other), rtol=rtol, atol=atol, equal_nan=equal_nan)
    )


# ====================================================================== reductions
_sum, _mean, _var, _amax, _max, _min = (
    Tensor.sum,
    Tensor.mean,
    Tensor.var,
    Tensor.amax,
    Tensor.max,
    Tensor.min,
)
_argmax, _argmin, _amin = Tensor.argmax, Tensor.argmin, Tensor.amin


@method("sum")
def sum(
    self: Tensor, dim: Any = None, keepdim: builtins.bool = False, *, dtype: Any = None,
    keepdims: Any = None, axis: Any = None,
) -> Tensor:  # fmt: skip
    """Σ over `dim` (all when None); bool and integer tensors sum to int64, as in PyTorch."""
    dim, keep = _dims(dim, keepdim, keepdims, axis)
    if dtype is not None:
        self = self.to(dtype)
    elif self.dtype.kind in "biu" and self.dtype != dtypes.int64:
        self = self.to(dtypes.int64)
    return _sum(self, dim, keep)


@method("mean")
def mean(
    self: Tensor, dim: Any = None, keepdim: builtins.bool = False, *, dtype: Any = None,
    keepdims: Any = None, axis: Any = None,
) -> Tensor:  # fmt: skip
    dim, keep = _dims(dim, keepdim, keepdims, axis)
    if self.dtype.kind != "f" and dtype is None:
        raise RuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {_torch_name(self.dtype)}"
        )
    return _mean(self if dtype is None else self.to(dtype), dim, keep)


def _torch_name(dtype: np.dtype) -> str:
    names = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
             "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
             "bool": "Bool"}  # fmt: skip
    return names.get(dtype.name, dtype.name)


def _correction(unbiased: Any, correction: Any) -> builtins.int:
    if correction is not None:
        return builtins.int(correction)
    return 0 if unbiased is False else 1


@method("var")
def var(
    self: Tensor, dim: Any = None, unbiased: Any = None, keepdim: builtins.bool = False, *,
    correction: Any = None, keepdims: Any = None, axis: Any = None,
) -> Tensor:  # fmt: skip
    """Σ(x - mean)² / (N - correction); correction=1 (unbiased) by default."""
    if isinstance(unbiased, builtins.int) and not isinstance(unbiased, builtins.bool):
        dim, unbiased = unbiased, None  # var(1): a dim, not `unbiased`
    dim, keep = _dims(dim, keepdim, keepdims, axis)
    return _var(self, dim, keepdim=keep, correction=_correction(unbiased, correction))


@method("std")
def std(
    self: Tensor, dim: Any = None, unbiased: Any = None, keepdim: builtins.bool = False, *,
    correction: Any = None, keepdims: Any = None, axis: Any = None,
) -> Tensor:  # fmt: skip
    return var(
        self, dim, unbiased, keepdim, correction=correction, keepdims=keepdims, axis=axis
    ).sqrt()


@method("var_mean")
def var_mean(
    self: Tensor,
    dim: Any = None,
    unbiased: Any = None,
    keepdim: builtins.bool = False,
    *,
    correction: Any = None,
) -> tuple[Tensor, Tensor]:
    return (var(self, dim, unbiased, keepdim, correction=correction), mean(self, dim, keepdim))


@method("std_mean")
def std_mean(
    self: Tensor,
    dim: Any = None,
    unbiased: Any = None,
    keepdim: builtins.bool = False,
    *,
    correction: Any = None,
) -> tuple[Tensor, Tensor]:
    return (std(self, dim, unbiased, keepdim, correction=correction), mean(self, dim, keepdim))


@method("amax")
def amax(
    self: Tensor, dim: Any = (), keepdim: builtins.bool = False, *, keepdims: Any = None
) -> Tensor:
    dim, keep = _dims(None if dim == () else dim, keepdim, keepdims)
    return _amax(self, dim, keep)


@method("amin")
def amin(
    self: Tensor, dim: Any = (), keepdim: builtins.bool = False, *, keepdims: Any = None
) -> Tensor:
    dim, keep = _dims(None if dim == () else dim, keepdim, keepdims)
    return _amin(self, dim, keep)


@method("max")
def max(
    self: Tensor,
    dim: Any = None,
    keepdim: builtins.bool = False,
    *,
    keepdims: Any = None,
    other: Any = None,
    axis: Any = None,
) -> Any:
    """max() → the largest value; max(dim) → (values, indices); max(tensor) → maximum."""
    dim, keep = _dims(dim, keepdim, keepdims, axis)
    return _max(self, other if other is not None else dim, keep)


@method("min")
def min(
    self: Tensor,
    dim: Any = None,
    keepdim: builtins.bool = False,
    *,
    keepdims: Any = None,
    other: Any = None,
    axis: Any = None,
) -> Any:
    dim, keep = _dims(dim, keepdim, keepdims, axis)
    return _min(self, other if other is not None else dim, keep)


@method("argmax")
def argmax(
    self: Tensor,
    dim: Any = None,
    keepdim: builtins.bool = False,
    *,
    keepdims: Any = None,
    axis: Any = None,
) -> Tensor:
    dim, keep = _dims(dim, keepdim, keepdims, axis)
    return _argmax(self, dim, keep)


@method("argmin")
def argmin(
    self: Tensor,
    dim: Any = None,
    keepdim: builtins.bool = False,
    *,
    keepdims: Any = None,
    axis: Any = None,
) -> Tensor:
    dim, keep = _dims(dim, keepdim, keepdims, axis)
    return _argmin(self, dim, keep)


@method("aminmax")
def aminmax(self: Tensor, *, dim: Any = None, keepdim: builtins.bool = False) -> Any:
    dims = () if dim is None else dim
    return return_types.aminmax(amin(self, dims, keepdim), amax(self, dims, keepdim))


def _axis(self: Tensor, dim: Any) -> builtins.int:
    ops.normalize_dims(dim, self.ndim)  # the usual IndexError for a bad dim
    return builtins.int(dim) % builtins.max(self.ndim, 1)


@method("prod")
def prod(
    self: Tensor,
    dim: Any = None,
    keepdim: builtins.bool = False,
    *,
    dtype: Any = None,
    keepdims: Any = None,
) -> Tensor:
    """Π over `dim` (one dim or all); integer tensors multiply as int64."""
    dim, keep = _dims(dim, keepdim, keepdims)
    if dtype is not None:
        self = self.to(dtype)
    elif self.dtype.kind in "biu":
        self = self.to(dtypes.int64)
    if self.ndim == 0:
        return self.clone() if self.requires_grad else self
    return Prod.apply(self, axis=None if dim is None else _axis(self, dim), keepdims=keep)


@method("cumsum")
def cumsum(self: Tensor, dim: builtins.int, *, dtype: Any = None) -> Tensor:
    if dtype is not None:
        self = self.to(dtype)
    elif self.dtype.kind in "biu":
        self = self.to(dtypes.int64)
    return Cumsum.apply(self, axis=_axis(self, dim)) if self.ndim else self


@method("cumprod")
def cumprod(self: Tensor, dim: builtins.int, *, dtype: Any = None) -> Tensor:
    if dtype is not None:
        self = self.to(dtype)
    elif self.dtype.kind in "biu":
        self = self.to(dtypes.int64)
    return Cumprod.apply(self, axis=_axis(self, dim)) if self.ndim else self


@method("logsumexp")
def logsumexp(self: Tensor, dim: Any, keepdim: builtins.bool = False) -> Tensor:
    """log Σ exp(x), computed as m + log Σ exp(x - m) with m the (constant) max."""
    x = self._as_float()
    peak = _amax(x.detach(), dim, True)
    peak = Tensor._make(np.where(np.isfinite(_array(peak)), _array(peak), 0), False)
    out = _sum((x - peak).exp(), dim, True).log() + peak
    return (
        out
        if keepdim
        else out.squeeze(dim)
        if isinstance(dim, builtins.int)
        else out.reshape(
            tuple(n for i, n in enumerate(out.shape) if i not in ops.normalize_dims(dim, x.ndim))  # type: ignore[operator]
        )
    )


@method("norm")
def norm(
    self: Tensor, p: Any = "fro", dim: Any = None, keepdim: builtins.bool = False, dtype: Any = None
) -> Tensor:
    """The p-norm over `dim` (all elements by default): 'fro' and 2 are √Σx², 1 is Σ|x|,
    inf is max|x|, any other p is (Σ|x|^p)^(1/p)."""
    x = self._as_float() if dtype is None else self.to(dtype)
    if p in ("fro", 2, 2.0, None):
        return _sum(x * x, dim, keepdim).sqrt()
    if p == 1:
        return _sum(x.abs(), dim, keepdim)
    if p in (np.inf, float("inf"), "inf"):
        return _amax(x.abs(), dim, keepdim)
    if p in (-np.inf, float("-inf")):
        return _amin(x.abs(), dim, keepdim)
    if p == 0:
        return _sum((x != 0).to(x.dtype), dim, keepdim)
    return _sum(x.abs() ** p, dim, keepdim) ** (1 / p)


@method("all")
def all(
    self: Tensor, dim: Any = None, keepdim: builtins.bool = False, *, keepdims: Any = None
) -> Tensor:
    dim, keep = _dims(dim, keepdim, keepdims)
    return _plain(np.all(_array(self), axis=ops.normalize_dims(dim, self.ndim), keepdims=keep))


@method("any")
def any(
    self: Tensor, dim: Any = None, keepdim: builtins.bool = False, *, keepdims: Any = None
) -> Tensor:
    dim, keep = _dims(dim, keepdim, keepdims)
    return _plain(np.any(_array(self), axis=ops.normalize_dims(dim, self.ndim), keepdims=keep))


@method("count_nonzero")
def count_nonzero(self: Tensor, dim: Any = None) -> Tensor:
    return _plain(
        np.asarray(
            np.count_nonzero(_array(self), axis=ops.normalize_dims(dim, self.ndim)), dtype=np.int64
        )
    )


@method("nansum")
def nansum(self: Tensor, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
    clean = ops.Where.apply(
        self, self._operand(0).expand(self.shape), condition=~np.isnan(_array(self))
    )
    return _sum(clean, dim, keepdim)


@method("nanmean")
def nanmean(self: Tensor, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
    present = _plain(~np.isnan(_array(self))).to(self.dtype)
    return nansum(self, dim, keepdim) / _sum(present, dim, keepdim)


# ====================================================================== sorting and selection


def _sorted_indices(
    values: np.ndarray, axis: builtins.int, descending: builtins.bool
) -> np.ndarray:
    """A stable order (equal values keep their positions, as PyTorch's stable sort)."""
    if descending:  # stable descending: sort the negated ranks, NaN first as in PyTorch
        order = np.argsort(np.flip(values, axis), axis=axis, kind="stable")
        n = values.shape[axis]
        return np.flip(n - 1 - order, axis)
    return np.argsort(values, axis=axis, kind="stable")


@method("sort")
def sort(
    self: Tensor,
    dim: builtins.int = -1,
    descending: builtins.bool = False,
    stable: builtins.bool = False,
) -> Any:
    if self.ndim == 0:
        return return_types.sort(self, _plain(np.array(0)))
    axis = _axis(self, dim)
    index = _sorted_indices(_array(self), axis, descending)
    return return_types.sort(self.gather(axis, index), _plain(index))


@method("argsort")
def argsort(
    self: Tensor,
    dim: builtins.int = -1,
    descending: builtins.bool = False,
    stable: builtins.bool = False,
) -> Tensor:
    return sort(self, dim, descending).indices


@method("msort")
def msort(self: Tensor) -> Tensor:
    return sort(self, 0).values


@method("topk")
def topk(
    self: Tensor,
    k: builtins.int,
    dim: builtins.int = -1,
    largest: builtins.bool = True,
    sorted: builtins.bool = True,
) -> Any:
    axis = _axis(self, dim)
    if not 0 <= k <= (self.shape[axis] if self.ndim else 1):
        raise RuntimeError("selected index k out of range")
    index = np.take(_sorted_indices(_array(self), axis, largest), np.arange(k), axis=axis)
    return return_types.topk(self.gather(axis, index), _plain(index))


@method("kthvalue")
def kthvalue(
    self: Tensor,
    k: builtins.int,
    dim: builtins.int = -1,
    keepdim: builtins.bool = False,
    _named: Any = None,
) -> Any:
    axis = _axis(self, dim)
    index = np.take(_sorted_indices(_array(self), axis, False), [k - 1], axis=axis)
    values, indices = self.gather(axis, index), _plain(index)
    if not keepdim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return (_named or return_types.kthvalue)(values, indices)


@method("median")
def median(self: Tensor, dim: Any = None, keepdim: builtins.bool = False) -> Any:
    """The lower median (PyTorch's): median() → a value, median(dim) → (values, indices)."""
    if dim is None:
        flat = self.reshape(-1)
        return kthvalue(flat, (flat.shape[0] + 1) // 2, 0).values
    return kthvalue(
        self, (self.shape[_axis(self, dim)] + 1) // 2, dim, keepdim, return_types.median
    )


@method("mode")
def mode(self: Tensor, dim: builtins.int = -1, keepdim: builtins.bool = False) -> Any:
    """The most frequent value along dim (the smallest on ties) and its last index."""
    axis = _axis(self, dim)
    moved = np.moveaxis(_array(self), axis, -1)
    flat = moved.reshape(-1, moved.shape[-1])
    picks = []
    for row in flat:
        uniq, counts = np.unique(row, return_counts=True)
        value = uniq[np.argmax(counts)]
        picks.append(np.flatnonzero(row == value)[-1])
    index = np.asarray(picks, dtype=np.int64).reshape(moved.shape[:-1] + (1,))
    index = np.moveaxis(index, -1, axis)
    values, indices = self.gather(axis, index), _plain(index)
    if not keepdim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return return_types.mode(values, indices)


@method("unique")
def unique(
    self: Tensor,
    sorted: builtins.bool = True,
    return_inverse: builtins.bool = False,
    return_counts: builtins.bool = False,
    dim: Any = None,
) -> Any:
    values, inverse, counts = np.unique(
        _array(self), return_inverse=True, return_counts=True, axis=dim
    )
    result: list[Tensor] = [_plain(values)]
    if return_inverse:
        result.append(_plain(inverse.reshape(self.shape) if dim is None else inverse))
    if return_counts:
        result.append(_plain(counts.astype(np.int64)))
    return result[0] if len(result) == 1 else tuple(result)


@method("bincount")
def bincount(self: Tensor, weights: Any = None, minlength: builtins.int = 0) -> Tensor:
    w = None if weights is None else _array(weights)
    return _plain(np.bincount(_array(self), w, minlength))


@method("histc")
def histc(self: Tensor, bins: builtins.int = 100, min: float = 0, max: float = 0) -> Tensor:
    """Counts in `bins` equal bins over [min, max] (the data's range when both are 0);
    values outside are ignored, as in PyTorch."""
    data = _array(self).astype(np.float64).reshape(-1)
    low, high = float(min), float(max)
    if low == high == 0 and data.size:
        low, high = float(data.min()), float(data.max())
    if low == high:
        low, high = low - 1, high + 1
    counts, _ = np.histogram(data[(data >= low) & (data <= high)], bins=bins, range=(low, high))
    return _plain(counts.astype(self.dtype if self.dtype.kind == "f" else dtypes.float32))


@method("histogram")
def histogram(
    self: Tensor,
    bins: Any = 100,
    *,
    range: Any = None,
    weight: Any = None,
    density: builtins.bool = False,
) -> Any:
    edges = _array(bins) if isinstance(bins, Tensor) else bins
    counts, edges = np.histogram(
        _array(self), bins=edges, range=range, weights=_array(weight), density=density
    )
    return return_types.histogram(
        _plain(counts.astype(self.dtype)), _plain(np.asarray(edges, dtype=self.dtype))
    )


# ====================================================================== shape and indexing
def _index_along(ndim: builtins.int, axis: builtins.int, part: Any) -> tuple[Any, ...]:
    return (slice(None),) * axis + (part,)


@method("narrow")
def narrow(self: Tensor, dim: builtins.int, start: builtins.int, length: builtins.int) -> Tensor:
    axis = _axis(self, dim)
    start = builtins.int(start) % self.shape[axis] if start < 0 else builtins.int(start)
    return self[_index_along(self.ndim, axis, slice(start, start + length))]


@method("split")
def split(self: Tensor, split_size_or_sections: Any, dim: builtins.int = 0) -> tuple[Tensor, ...]:
    axis = _axis(self, dim)
    n = self.shape[axis]
    if isinstance(split_size_or_sections, builtins.int):
        size = split_size_or_sections
        bounds = [(i, builtins.min(i + size, n)) for i in builtins.range(0, n, size)] or [(0, 0)]
    else:
        sizes = [builtins.int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's "
                f"size at dimension {dim}), but got split_sizes={sizes}"
            )
        starts = np.cumsum([0, *sizes])
        bounds = list(zip(starts[:-1], starts[1:], strict=True))
    return tuple(self[_index_along(self.ndim, axis, slice(a, b))] for a, b in bounds)


@method("chunk")
def chunk(self: Tensor, chunks: builtins.int, dim: builtins.int = 0) -> tuple[Tensor, ...]:
    n = self.shape[_axis(self, dim)]
    return split(self, builtins.max(-(-n // chunks), 1), dim)


@method("tensor_split")
def tensor_split(
    self: Tensor, indices_or_sections: Any, dim: builtins.int = 0
) -> tuple[Tensor, ...]:
    axis = _axis(self, dim)
    n = self.shape[axis]
    if isinstance(indices_or_sections, builtins.int):
        k = indices_or_sections
        sizes = [n // k + (1 if i < n % k else 0) for i in builtins.range(k)]
        cuts = list(np.cumsum(sizes)[:-1])
    else:
        cuts = [builtins.int(i) for i in indices_or_sections]
    edges = [0, *cuts, n]
    return tuple(
        self[_index_along(self.ndim, axis, slice(a, b))]
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    )


@method("unbind")
def unbind(self: Tensor, dim: builtins.int = 0) -> tuple[Tensor, ...]:
    axis = _axis(self, dim)
    return tuple(self[_index_along(self.ndim, axis, i)] for i in builtins.range(self.shape[axis]))


@method("flip")
def flip(self: Tensor, *dims: Any) -> Tensor:
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    axes = {_axis(self, d) for d in dims}
    return self[
        tuple(
            slice(None, None, -1) if i in axes else slice(None) for i in builtins.range(self.ndim)
        )
    ]


@method("fliplr")
def fliplr(self: Tensor) -> Tensor:
    return flip(self, 1)


@method("flipud")
def flipud(self: Tensor) -> Tensor:
    return flip(self, 0)


@method("roll")
def roll(self: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    if dims is None:
        return roll(self.reshape(-1), shifts, 0).reshape(self.shape)
    shifts = (shifts,) if isinstance(shifts, builtins.int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, builtins.int) else tuple(dims)
    out = self
    for shift, dim in zip(shifts, dims, strict=True):
        axis = _axis(self, dim)
        n = self.shape[axis]
        k = shift % n if n else 0
        if k:
            head = out[_index_along(self.ndim, axis, slice(n - k, None))]
            tail = out[_index_along(self.ndim, axis, slice(0, n - k))]
            out = ops.Cat.apply(head, tail, axis=axis)
    return out


@method("repeat")
def repeat(self: Tensor, *sizes: Any) -> Tensor:
    """Tile the tensor sizes[i] times along dim i (new leading dims when more sizes)."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    sizes = tuple(builtins.int(s) for s in sizes)
    if len(sizes) < self.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions "
            "of tensor"
        )
    shape = (1,) * (len(sizes) - self.ndim) + tuple(self.shape)
    x = self.reshape(shape)
    # (a, b) repeated (r, s): view as (1, a, 1, b), expand to (r, a, s, b), merge pairs
    interleaved = builtins.sum(((1, n) for n in shape), ())
    expanded = builtins.sum(((r, n) for r, n in zip(sizes, shape, strict=True)), ())
    merged = tuple(r * n for r, n in zip(sizes, shape, strict=True))
    return x.reshape(interleaved).expand(expanded).reshape(merged)


@method("tile")
def tile(self: Tensor, *dims: Any) -> Tensor:
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    dims = (1,) * (self.ndim - len(dims)) + tuple(dims)
    return repeat(self, *dims)


@method("repeat_interleave")
def repeat_interleave(
    self: Tensor, repeats: Any, dim: Any = None, *, output_size: Any = None
) -> Tensor:
    x = self.reshape(-1) if dim is None else self
    axis = 0 if dim is None else _axis(self, dim)
    counts = np.broadcast_to(np.asarray(_array(repeats)), (x.shape[axis],))
    index = np.repeat(np.arange(x.shape[axis]), counts)
    return x[_index_along(x.ndim, axis, index)]


@method("movedim", "moveaxis")
def movedim(self: Tensor, source: Any, destination: Any) -> Tensor:
    """Move dims `source` to positions `destination`, keeping the others in order."""
    sources = [source] if isinstance(source, builtins.int) else list(source)
    targets = [destination] if isinstance(destination, builtins.int) else list(destination)
    sources = [_axis(self, d) for d in sources]
    targets = [_axis(self, d) for d in targets]
    rest = iter(d for d in builtins.range(self.ndim) if d not in sources)
    placed = dict(zip(targets, sources, strict=True))
    order = [placed[i] if i in placed else next(rest) for i in builtins.range(self.ndim)]
    return self.permute(*order)


@method("swapaxes", "swapdims")
def swapaxes(self: Tensor, axis0: builtins.int, axis1: builtins.int) -> Tensor:
    return self.transpose(axis0, axis1)


@method("unflatten")
def unflatten(self: Tensor, dim: builtins.int, sizes: Sequence[builtins.int]) -> Tensor:
    axis = _axis(self, dim)
    inner = tuple(sizes)
    if -1 in inner:
        known = builtins.int(np.prod([n for n in inner if n != -1]))
        inner = tuple(self.shape[axis] // known if n == -1 else n for n in inner)
    return self.reshape(tuple(self.shape[:axis]) + inner + tuple(self.shape[axis + 1 :]))


@method("ravel")
def ravel(self: Tensor) -> Tensor:
    return self.reshape(-1)


@method("reshape_as")
def reshape_as(self: Tensor, other: Tensor) -> Tensor:
    return self.reshape(other.shape)


@method("broadcast_to")
def broadcast_to(self: Tensor, size: Sequence[builtins.int]) -> Tensor:
    return self.expand(tuple(size))


@method("tril")
def tril(self: Tensor, diagonal: builtins.int = 0) -> Tensor:
    mask = np.tril(np.ones(self.shape[-2:], dtype=bool), diagonal)
    return ops.Where.apply(self, self._operand(0).expand(self.shape), condition=mask)


@method("triu")
def triu(self: Tensor, diagonal: builtins.int = 0) -> Tensor:
    mask = np.triu(np.ones(self.shape[-2:], dtype=bool), diagonal)
    return ops.Where.apply(self, self._operand(0).expand(self.shape), condition=mask)


@method("diagonal")
def diagonal(
    self: Tensor, offset: builtins.int = 0, dim1: builtins.int = 0, dim2: builtins.int = 1
) -> Tensor:
    a, b = _axis(self, dim1), _axis(self, dim2)
    moved = self.permute(*[i for i in builtins.range(self.ndim) if i not in (a, b)], a, b)
    rows, cols = moved.shape[-2], moved.shape[-1]
    start_r, start_c = (0, offset) if offset >= 0 else (-offset, 0)
    length = builtins.max(0, builtins.min(rows - start_r, cols - start_c))
    r = np.arange(length) + start_r
    c = np.arange(length) + start_c
    return moved[(Ellipsis, r, c)]


@method("diag")
def diag(self: Tensor, diagonal: builtins.int = 0) -> Tensor:
    """A 1-D tensor → the square matrix with it on a diagonal; a matrix → that diagonal."""
    if self.ndim == 2:
        return self.diagonal(diagonal)
    if self.ndim != 1:
        raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " + f"{self.ndim}D")
    n = self.shape[0] + builtins.abs(diagonal)
    eye = np.eye(n, k=diagonal, dtype=bool)
    spread = np.zeros((n, self.shape[0]), dtype=self.dtype)
    rows, cols = np.nonzero(eye)
    spread[rows, np.arange(self.shape[0])] = 1
    # M[r, c] = v[j] where (r, c) is the j-th diagonal element: (spread · v) on the mask
    placed = (Tensor._make(spread, False) * self.reshape(1, -1)).sum(1, keepdim=True)
    return ops.Where.apply(placed.expand((n, n)), self._operand(0).expand((n, n)), condition=eye)


@method("diag_embed")
def diag_embed(self: Tensor) -> Tensor:
    n = self.shape[-1]
    return self.unsqueeze(-1) * Tensor._make(np.eye(n, dtype=self.dtype), False)


@method("trace")
def trace(self: Tensor) -> Tensor:
    return self.diagonal().sum()


@method("masked_fill")
def masked_fill(self: Tensor, mask: Any, value: Any) -> Tensor:
    condition = np.broadcast_to(np.asarray(_array(mask), dtype=bool), self.shape)
    filler = self._operand(value.item() if isinstance(value, Tensor) and value.ndim == 0 else value)
    return ops.Where.apply(filler.to(self.dtype).expand(self.shape), self, condition=condition)


@method("masked_select")
def masked_select(self: Tensor, mask: Any) -> Tensor:
    condition = np.asarray(_array(mask), dtype=bool)
    shape = np.broadcast_shapes(self.shape, condition.shape)
    return self.expand(shape)[np.broadcast_to(condition, shape)]


@method("index_select")
def index_select(self: Tensor, dim: builtins.int, index: Any) -> Tensor:
    return self[_index_along(self.ndim, _axis(self, dim), index_array(index).reshape(-1))]


@method("take")
def take(self: Tensor, index: Any) -> Tensor:
    return self.reshape(-1)[index_array(index)]


@method("take_along_dim")
def take_along_dim(self: Tensor, indices: Any, dim: Any = None) -> Tensor:
    if dim is None:
        return take(self, indices)
    index = index_array(indices)
    shape = np.broadcast_shapes(
        tuple(n if i != _axis(self, dim) else 1 for i, n in enumerate(self.shape)),
        tuple(n if i != _axis(self, dim) else 1 for i, n in enumerate(index.shape)),
    )
    target = tuple(index.shape[i] if i == _axis(self, dim) else n for i, n in enumerate(shape))
    source = tuple(self.shape[i] if i == _axis(self, dim) else n for i, n in enumerate(shape))
    return self.expand(source).gather(dim, np.broadcast_to(index, target))


def _scatter(self: Tensor, dim: builtins.int, index: Any, src: Any, add: builtins.bool) -> Tensor:
    positions = index_array(index)
    source = (
        src if isinstance(src, Tensor) else Tensor._make(np.array(src, dtype=self.dtype), False)
    )
    if source.dtype != self.dtype:
        source = source.to(self.dtype)
    return Scatter.apply(self, source, index=positions, axis=_axis(self, dim), add=add)


@method("scatter")
def scatter(
    self: Tensor,
    dim: builtins.int,
    index: Any,
    src: Any = None,
    *,
    value: Any = None,
    reduce: Any = None,
) -> Tensor:
    """out = self with out[index[i][j]][j] = src[i][j] (dim 0; likewise for other dims)."""
    if reduce not in (None, "add"):
        raise NotImplementedError(
            f"scatter reduce={reduce!r}: chainrule implements reduce='add'; "
            "see docs/pytorch-coverage.md"
        )
    return _scatter(self, dim, index, value if src is None else src, reduce == "add")


@method("scatter_add")
def scatter_add(self: Tensor, dim: builtins.int, index: Any, src: Tensor) -> Tensor:
    return _scatter(self, dim, index, src, True)


@method("index_add")
def index_add(
    self: Tensor, dim: builtins.int, index: Any, source: Tensor, *, alpha: Scalar = 1
) -> Tensor:
    """out = self; out[..., index[i], ...] += alpha · source[..., i, ...] along `dim`."""
    axis = _axis(self, dim)
    idx = index_array(index).reshape(-1)
    shape = [1] * source.ndim
    shape[axis] = idx.size
    full = np.broadcast_to(idx.reshape(shape), source.shape)
    return _scatter(self, axis, full, source * alpha if alpha != 1 else source, True)


@method("index_fill")
def index_fill(self: Tensor, dim: builtins.int, index: Any, value: Any) -> Tensor:
    axis = _axis(self, dim)
    mask = np.zeros(self.shape, dtype=bool)
    mask[_index_along(self.ndim, axis, index_array(index).reshape(-1))] = True
    return masked_fill(self, mask, value)


@method("index_copy")
def index_copy(self: Tensor, dim: builtins.int, index: Any, source: Tensor) -> Tensor:
    axis = _axis(self, dim)
    idx = index_array(index).reshape(-1)
    shape = [1] * source.ndim
    shape[axis] = idx.size
    return _scatter(self, axis, np.broadcast_to(idx.reshape(shape), source.shape), source, False)


@method("nonzero")
def nonzero(self: Tensor, *, as_tuple: builtins.bool = False) -> Any:
    found = np.nonzero(_array(self))
    if as_tuple:
        return tuple(_plain(i.astype(np.int64)) for i in found)
    return _plain(np.stack(found, axis=1).astype(np.int64) if found else np.zeros((1, 0), np.int64))


@method("argwhere")
def argwhere(self: Tensor) -> Tensor:
    return nonzero(self)


@method("type_as")
def type_as(self: Tensor, other: Tensor) -> Tensor:
    return self.to(other.dtype)


# ====================================================================== properties and new_*
def _new(fill: Callable[..., Tensor]) -> Callable[..., Tensor]:
    def make(
        self: Tensor,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: builtins.bool = False,
        **kw: Any,
    ) -> Tensor:
        return fill(
            *size,
            dtype=self.dtype if dtype is None else dtype,
            device=device,
            requires_grad=requires_grad,
        )

    return make


def _install_new() -> None:
    from chainrule import creation

    method("new_zeros")(_new(creation.zeros))
    method("new_ones")(_new(creation.ones))
    method("new_empty")(_new(creation.empty))

    def new_full(
        self: Tensor,
        size: Any,
        fill_value: Any,
        *,
        dtype: Any = None,
        device: Any = None,
        requires_grad: builtins.bool = False,
        **kw: Any,
    ) -> Tensor:
        return creation.full(
            size,
            fill_value,
            dtype=self.dtype if dtype is None else dtype,
            device=device,
            requires_grad=requires_grad,
        )

    def new_tensor(
        self: Tensor,
        data: Any,
        *,
        dtype: Any = None,
        device: Any = None,
        requires_grad: builtins.bool = False,
    ) -> Tensor:
        return Tensor(
            data, dtype=self.dtype if dtype is None else dtype, requires_grad=requires_grad
        )

    method("new_full")(new_full)
    method("new_tensor")(new_tensor)


@method("nelement")
def nelement(self: Tensor) -> builtins.int:
    return self.numel()


@method("ndimension")
def ndimension(self: Tensor) -> builtins.int:
    return self.ndim


@method("element_size")
def element_size(self: Tensor) -> builtins.int:
    return builtins.int(self.dtype.itemsize)


@method("is_floating_point")
def is_floating_point(self: Tensor) -> builtins.bool:
    return self.dtype.kind == "f"


@method("is_complex")
def is_complex(self: Tensor) -> builtins.bool:
    return False


@method("contiguous")
def contiguous(self: Tensor, memory_format: Any = None) -> Tensor:
    """Values are always laid out for NumPy: the same tensor (PyTorch returns self too when
    it is already contiguous)."""
    return self


@method("is_contiguous")
def is_contiguous(self: Tensor, memory_format: Any = None) -> builtins.bool:
    return builtins.bool(_array(self).flags.c_contiguous)


@method("half")
def half(self: Tensor) -> Tensor:
    return self.to(dtypes.float16)


@method("short")
def short(self: Tensor) -> Tensor:
    return self.to(dtypes.int16)


@method("char")
def char(self: Tensor) -> Tensor:
    return self.to(dtypes.int8)


@method("byte")
def byte(self: Tensor) -> Tensor:
    return self.to(dtypes.uint8)


_TYPE_NAMES = {
    "float32": "torch.FloatTensor", "float64": "torch.DoubleTensor", "float16": "torch.HalfTensor",
    "int64": "torch.LongTensor", "int32": "torch.IntTensor", "int16": "torch.ShortTensor",
    "int8": "torch.CharTensor", "uint8": "torch.ByteTensor", "bool": "torch.BoolTensor",
}  # fmt: skip
_NAMED_TYPES = {name: np.dtype(code) for code, name in _TYPE_NAMES.items()}


@method("type")
def type(
    self: Tensor, dtype: Any = None, non_blocking: builtins.bool = False, **kwargs: Any
) -> Any:
    """type() → PyTorch's type name ('torch.FloatTensor'); type(dtype) → converted."""
    if dtype is None:
        return _TYPE_NAMES.get(self.dtype.name, self.dtype.name)
    if isinstance(dtype, str) and dtype in _NAMED_TYPES:
        dtype = _NAMED_TYPES[dtype]
    return self.to(dtype)


@method("__format__")
def format(self: Tensor, spec: str) -> str:
    """f"{loss:.4f}": a 0-d tensor formats as its number, as in PyTorch; others need an
    empty spec (then str(tensor))."""
    if self.ndim == 0:
        return builtins.format(self.item(), spec)
    return object.__format__(self, spec)


# ====================================================================== random sampling
def _stream(generator: Generator | None) -> np.random.Generator:
    return numpy_stream(generator)


def _fill_random(self: Tensor, values: np.ndarray) -> Tensor:
    return self.copy_(_plain(np.asarray(values).astype(self.dtype, copy=False)))


@method("normal_")
def normal_(
    self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator: Generator | None = None
) -> Tensor:
    return _fill_random(self, _stream(generator).normal(mean, std, self.shape))


@method("uniform_")
def uniform_(
    self: Tensor,
    from_: float = 0.0,
    to: float = 1.0,
    *,
    generator: Generator | None = None,
    **kw: float,
) -> Tensor:
    from_ = kw.get("from", from_)
    return _fill_random(self, _stream(generator).uniform(from_, to, self.shape))


@method("bernoulli_")
def bernoulli_(self: Tensor, p: Any = 0.5, *, generator: Generator | None = None) -> Tensor:
    probability = _array(p)
    return _fill_random(self, _stream(generator).random(self.shape) < probability)


@method("exponential_")
def exponential_(self: Tensor, lambd: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    return _fill_random(self, _stream(generator).exponential(1 / lambd, self.shape))


@method("log_normal_")
def log_normal_(
    self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator: Generator | None = None
) -> Tensor:
    return _fill_random(self, _stream(generator).lognormal(mean, std, self.shape))


@method("cauchy_")
def cauchy_(
    self: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator: Generator | None = None
) -> Tensor:
    return _fill_random(self, median + sigma * _stream(generator).standard_cauchy(self.shape))


@method("geometric_")
def geometric_(self: Tensor, p: float, *, generator: Generator | None = None) -> Tensor:
    return _fill_random(self, _stream(generator).geometric(p, self.shape))


@method("random_")
def random_(
    self: Tensor,
    from_: builtins.int = 0,
    to: Any = None,
    *,
    generator: Generator | None = None,
    **kw: Any,
) -> Tensor:
    low = kw.get("from", from_)
    if to is None:  # random_(to) or random_(): [0, to) or the dtype's range
        low, to = (
            (0, low) if low else (0, 2**24 if self.dtype.kind == "f" else np.iinfo(self.dtype).max)
        )
    return _fill_random(self, _stream(generator).integers(low, to, self.shape))


@method("bernoulli")
def bernoulli(self: Tensor, p: Any = None, *, generator: Generator | None = None) -> Tensor:
    """Samples 1 with probability self (or p) elementwise, as self's dtype."""
    probability = _array(self) if p is None else p
    return _plain((_stream(generator).random(self.shape) < probability).astype(self.dtype))


@method("multinomial")
def multinomial(
    self: Tensor,
    num_samples: builtins.int,
    replacement: builtins.bool = False,
    *,
    generator: Generator | None = None,
) -> Tensor:
    """Sample indices by the (unnormalised) weights in each row of self.

    With replacement each draw is an inverse-CDF lookup of a uniform number; without, each
    row is a draw of `num_samples` distinct indices (NumPy's choice without replacement).
    """
    weights = _array(self).astype(np.float64)
    if weights.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    rows = weights.reshape(-1, weights.shape[-1])
    if (rows < 0).any() or not np.isfinite(rows).all():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    totals = rows.sum(1)
    if (totals <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    n = rows.shape[1]
    if not replacement and num_samples > n:
        raise RuntimeError(
            "cannot sample n_sample > prob_dist.size(-1) samples without replacement"
        )
    stream = _stream(generator)
    if replacement:
        cdf = np.cumsum(rows, axis=1)
        u = stream.random((rows.shape[0], num_samples)) * cdf[:, -1:]
        picks = np.stack([np.searchsorted(c, r, side="right") for c, r in zip(cdf, u, strict=True)])
        picks = np.minimum(picks, n - 1)
    else:
        if (np.count_nonzero(rows, axis=1) < num_samples).any():
            raise RuntimeError(
                "invalid multinomial distribution (with replacement=False, not enough "
                "non-negative category to sample)"
            )
        picks = np.stack(
            [stream.choice(n, num_samples, replace=False, p=r / r.sum()) for r in rows]
        )
    return _plain(picks.reshape(weights.shape[:-1] + (num_samples,)).astype(np.int64))


# ====================================================================== in-place twins
INPLACE_OF = (
    *UNARY_OPS, "round", "abs", "absolute", "neg", "negative", "exp", "log", "sqrt", "sigmoid",
    "tanh", "relu", "clamp", "clip", "clamp_min", "clamp_max", "pow", "float_power", "add",
    "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide",
    "masked_fill", "index_fill", "index_add", "index_copy", "scatter", "scatter_add", "lerp",
    "addcmul", "addcdiv", "nan_to_num", "tril", "triu", "fmod", "remainder", "atan2", "hypot",
    "logaddexp", "copysign", "xlogy", "ne", "lt", "le", "gt", "ge", "eq", "not_equal", "less",
    "less_equal", "greater", "greater_equal", "logical_and", "logical_or", "logical_xor",
    "logical_not", "bitwise_not", "maximum", "minimum", "addmm", "cumsum", "cumprod", "rsqrt",
    "reciprocal", "square", "sign", "log1p", "expm1",
)  # fmt: skip


def _inplace_twin(name: str) -> Callable[..., Tensor]:
    def apply(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        source = self
        if is_grad_enabled() and builtins.any(
            isinstance(t, Tensor) and t.requires_grad for t in (self, *args, *kwargs.values())
        ):
            # in the graph: the op may save its input for backward, and copy_ is about to
            # overwrite it, so it reads a copy (PyTorch saves the original self the same way)
            source = self.clone()
        return self.copy_(getattr(source, name)(*args, **kwargs))

    apply.__name__ = name + "_"
    apply.__doc__ = f"In place: self.copy_(self.{name}(...)) (PyTorch's {name}_)."
    return apply


def install() -> None:
    """Put every method of this module on Tensor (called once, by chainrule/__init__)."""
    _install_new()
    for name in INPLACE_OF:
        if name + "_" not in vars(Tensor) and name + "_" not in METHODS:
            METHODS[name + "_"] = _inplace_twin(name)
    for name, fn in METHODS.items():
        setattr(Tensor, name, fn)
