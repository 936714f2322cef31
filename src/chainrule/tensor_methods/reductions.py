"""Reductions (sum, mean, var, max, prod, cumsum, logsumexp, norm ...).

PyTorch's dim/keepdim spellings are accepted alike (see `_dims`)."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from chainrule import dtypes, ops, return_types
from chainrule.ops.scan import Cumprod, Cumsum, Prod
from chainrule.tensor import Tensor
from chainrule.tensor_methods._common import _array, _axis, _dims, _plain, method

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
