"""Reductions (sum, mean, var, max, prod, cumsum, logsumexp, norm ...).

PyTorch's dim/keepdim spellings are accepted alike (see `_dims`)."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule import dtypes, ops, return_types
from chainrule.ops.scan import Cumprod, Cumsum, Prod
from chainrule.tensor import Tensor
from chainrule.tensor_methods._common import _array, _axis, _dims, _plain, method
from chainrule.types import DimLike, DTypeLike, Number, TensorLike

_sum, _mean, _var, _amax, _max, _min = (
    Tensor.sum,
    Tensor.mean,
    Tensor.var,
    Tensor.amax,
    Tensor.max,
    Tensor.min,
)
_argmax, _argmin, _amin = Tensor.argmax, Tensor.argmin, Tensor.amin


def _accumulating(self: Tensor, dtype: DTypeLike) -> Tensor:
    """self in `dtype` when given; else bool and integer tensors as int64 (PyTorch's rule for
    sums and products, so they do not overflow a small integer type)."""
    if dtype is not None:
        return self.to(dtype)
    return self.to(dtypes.int64) if self.dtype.kind in "biu" else self


@method("sum")
def sum(
    self: Tensor, dim: DimLike = None, keepdim: builtins.bool = False, *, dtype: DTypeLike = None,
    keepdims: builtins.bool | None = None, axis: DimLike = None,
) -> Tensor:  # fmt: skip
    """Σ over `dim` (all when None); bool and integer tensors sum to int64, as in PyTorch."""
    dim, keep = _dims(dim, keepdim, keepdims, axis)
    return _sum(_accumulating(self, dtype), dim, keep)


@method("mean")
def mean(
    self: Tensor, dim: DimLike = None, keepdim: builtins.bool = False, *, dtype: DTypeLike = None,
    keepdims: builtins.bool | None = None, axis: DimLike = None,
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
    self: Tensor, dim: DimLike = None, unbiased: builtins.bool | builtins.int | None = None,
    keepdim: builtins.bool = False, *, correction: Number | None = None,
    keepdims: builtins.bool | None = None, axis: DimLike = None,
) -> Tensor:  # fmt: skip
    """Σ(x - mean)² / (N - correction); correction=1 (unbiased) by default."""
    if isinstance(unbiased, builtins.int) and not isinstance(unbiased, builtins.bool):
        dim, unbiased = unbiased, None  # var(1): a dim, not `unbiased`
    dim, keep = _dims(dim, keepdim, keepdims, axis)
    return _var(self, dim, keepdim=keep, correction=_correction(unbiased, correction))


@method("std")
def std(
    self: Tensor, dim: DimLike = None, unbiased: builtins.bool | builtins.int | None = None,
    keepdim: builtins.bool = False, *, correction: Number | None = None,
    keepdims: builtins.bool | None = None, axis: DimLike = None,
) -> Tensor:  # fmt: skip
    return var(
        self, dim, unbiased, keepdim, correction=correction, keepdims=keepdims, axis=axis
    ).sqrt()


@method("var_mean")
def var_mean(
    self: Tensor,
    dim: DimLike = None,
    unbiased: builtins.bool | builtins.int | None = None,
    keepdim: builtins.bool = False,
    *,
    correction: Number | None = None,
) -> tuple[Tensor, Tensor]:
    return (var(self, dim, unbiased, keepdim, correction=correction), mean(self, dim, keepdim))


@method("std_mean")
def std_mean(
    self: Tensor,
    dim: DimLike = None,
    unbiased: builtins.bool | builtins.int | None = None,
    keepdim: builtins.bool = False,
    *,
    correction: Number | None = None,
) -> tuple[Tensor, Tensor]:
    return (std(self, dim, unbiased, keepdim, correction=correction), mean(self, dim, keepdim))


def _named(fn: Callable[..., Any], name: str, doc: str | None) -> Callable[..., Any]:
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def _values_over(engine: Callable[..., Tensor], name: str, doc: str) -> Callable[..., Tensor]:
    """amax / amin: `engine(self, dim, keepdim)`, dim=() meaning every dim (torch's default)."""

    def reduction(
        self: Tensor,
        dim: Any = (),
        keepdim: builtins.bool = False,
        *,
        keepdims: builtins.bool | None = None,
    ) -> Tensor:
        dim, keep = _dims(None if dim == () else dim, keepdim, keepdims)
        return engine(self, dim, keep)

    return _named(reduction, name, doc)


def _extreme(engine: Callable[..., Any], name: str, doc: str) -> Callable[..., Any]:
    """max / min: the value, (values, indices) over a dim, or the elementwise extreme of two
    tensors (`other`)."""

    def reduction(
        self: Tensor,
        dim: DimLike = None,
        keepdim: builtins.bool = False,
        *,
        keepdims: builtins.bool | None = None,
        other: TensorLike | None = None,
        axis: DimLike = None,
    ) -> Any:
        dim, keep = _dims(dim, keepdim, keepdims, axis)
        return engine(self, other if other is not None else dim, keep)

    return _named(reduction, name, doc)


def _index_of(engine: Callable[..., Tensor], name: str, doc: str) -> Callable[..., Tensor]:
    """argmax / argmin: the flat index over every dim, or the indices over `dim`."""

    def reduction(
        self: Tensor,
        dim: DimLike = None,
        keepdim: builtins.bool = False,
        *,
        keepdims: builtins.bool | None = None,
        axis: DimLike = None,
    ) -> Tensor:
        dim, keep = _dims(dim, keepdim, keepdims, axis)
        return engine(self, dim, keep)

    return _named(reduction, name, doc)


amax = method("amax")(_values_over(_amax, "amax", "The largest value over `dim` (all dims)."))
amin = method("amin")(_values_over(_amin, "amin", "The smallest value over `dim` (all dims)."))
max = method("max")(
    _extreme(_max, "max", "max() → the largest value; max(dim) → (values, indices); "
             "max(tensor) → maximum.")
)  # fmt: skip
min = method("min")(
    _extreme(_min, "min", "min() → the smallest value; min(dim) → (values, indices); "
             "min(tensor) → minimum.")
)  # fmt: skip
argmax = method("argmax")(_index_of(_argmax, "argmax", "Where the largest value is (flat)."))
argmin = method("argmin")(_index_of(_argmin, "argmin", "Where the smallest value is (flat)."))


@method("aminmax")
def aminmax(self: Tensor, *, dim: DimLike = None, keepdim: builtins.bool = False) -> Any:
    dims = () if dim is None else dim
    return return_types.aminmax(amin(self, dims, keepdim), amax(self, dims, keepdim))


@method("prod")
def prod(
    self: Tensor,
    dim: DimLike = None,
    keepdim: builtins.bool = False,
    *,
    dtype: DTypeLike = None,
    keepdims: builtins.bool | None = None,
) -> Tensor:
    """Π over `dim` (one dim or all); integer tensors multiply as int64."""
    dim, keep = _dims(dim, keepdim, keepdims)
    self = _accumulating(self, dtype)
    if self.ndim == 0:
        return self.clone() if self.requires_grad else self
    return Prod.apply(self, axis=None if dim is None else _axis(self, dim), keepdims=keep)


@method("cumsum")
def cumsum(self: Tensor, dim: builtins.int, *, dtype: DTypeLike = None) -> Tensor:
    self = _accumulating(self, dtype)
    return Cumsum.apply(self, axis=_axis(self, dim)) if self.ndim else self


@method("cumprod")
def cumprod(self: Tensor, dim: builtins.int, *, dtype: DTypeLike = None) -> Tensor:
    self = _accumulating(self, dtype)
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
    self: Tensor,
    p: Any = "fro",
    dim: DimLike = None,
    keepdim: builtins.bool = False,
    dtype: DTypeLike = None,
) -> Tensor:
    """The p-norm over `dim` (all elements by default): 'fro' and 2 are √Σx², 1 is Σ|x|,
    inf is max|x|, any other p is (Σ|x|^p)^(1/p)."""
    x = self._as_float() if dtype is None else self.to(dtype)
    if p in ("fro", 2, 2.0, None):
        return _sum(x * x, dim, keepdim).sqrt()
    if p == 1:
        return _sum(x.abs(), dim, keepdim)
    infinite = p in (np.inf, float("inf"), "inf", -np.inf, float("-inf"))
    if infinite and x._data.size == 0:  # max and min have no identity (torch refuses too)
        raise ValueError(f"norm: cannot compute the {p} norm of an empty tensor")
    if p in (np.inf, float("inf"), "inf"):
        return _amax(x.abs(), dim, keepdim)
    if p in (-np.inf, float("-inf")):
        return _amin(x.abs(), dim, keepdim)
    if p == 0:
        return _sum((x != 0).to(x.dtype), dim, keepdim)
    return _sum(x.abs() ** p, dim, keepdim) ** (1 / p)


def _truth_over(test: Callable[..., Any], name: str, doc: str) -> Callable[..., Tensor]:
    """all / any: NumPy's `test` over `dim` (every dim by default), a bool tensor outside
    the graph."""

    def reduction(
        self: Tensor,
        dim: DimLike = None,
        keepdim: builtins.bool = False,
        *,
        keepdims: builtins.bool | None = None,
    ) -> Tensor:
        dim, keep = _dims(dim, keepdim, keepdims)
        return _plain(test(_array(self), axis=ops.normalize_dims(dim, self.ndim), keepdims=keep))

    return _named(reduction, name, doc)


all = method("all")(_truth_over(np.all, "all", "True where every element over `dim` is."))
any = method("any")(_truth_over(np.any, "any", "True where some element over `dim` is."))


@method("count_nonzero")
def count_nonzero(self: Tensor, dim: DimLike = None) -> Tensor:
    return _plain(
        np.asarray(
            np.count_nonzero(_array(self), axis=ops.normalize_dims(dim, self.ndim)), dtype=np.int64
        )
    )


@method("nansum")
def nansum(self: Tensor, dim: DimLike = None, keepdim: builtins.bool = False) -> Tensor:
    clean = ops.Where.apply(
        self, self._operand(0).expand(self.shape), condition=~np.isnan(_array(self))
    )
    return _sum(clean, dim, keepdim)


@method("nanmean")
def nanmean(self: Tensor, dim: DimLike = None, keepdim: builtins.bool = False) -> Tensor:
    present = _plain(~np.isnan(_array(self))).to(self.dtype)
    return nansum(self, dim, keepdim) / _sum(present, dim, keepdim)
