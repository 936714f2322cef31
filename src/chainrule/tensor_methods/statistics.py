"""Running extremes, quantiles and covariance: cummax, cummin, logcumsumexp, quantile,
nanquantile, nanmedian, cov, corrcoef, dist, renorm.

Values come from recorded ops (gather at computed indices, sort, matmul), so gradients
flow as in PyTorch: to the element each value was taken from, and through the
interpolation weights of a quantile.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from chainrule import return_types
from chainrule.ops.scan import LogCumSumExp
from chainrule.tensor import Tensor
from chainrule.tensor_methods._common import _array, _axis, _plain, method
from chainrule.types import TensorLike

cummax_result = return_types._named("cummax", ("values", "indices"))
cummin_result = return_types._named("cummin", ("values", "indices"))
nanmedian_result = return_types._named("nanmedian", ("values", "indices"))


def _running(self: Tensor, dim: builtins.int, largest: builtins.bool) -> Any:
    axis = _axis(self, dim)
    values = _array(self)
    if self.ndim == 0:
        return self.clone(), _plain(np.zeros((), dtype=np.int64))
    accumulate = np.fmax.accumulate if largest else np.fmin.accumulate
    running = accumulate(values, axis=axis)
    # a new extreme (or a tie with it) moves the index to j: ties take the latest, as torch
    positions = np.arange(values.shape[axis]).reshape(
        [-1 if i == axis else 1 for i in range(self.ndim)]
    )
    hit = (values == running) | np.isnan(values)
    index = np.maximum.accumulate(np.where(hit, positions, 0), axis=axis).astype(np.int64)
    return self.gather(axis, _plain(index)), _plain(index)


@method("cummax")
def cummax(self: Tensor, dim: builtins.int) -> Any:
    """The running maximum along dim and where each was found."""
    return cummax_result(*_running(self, dim, True))


@method("cummin")
def cummin(self: Tensor, dim: builtins.int) -> Any:
    return cummin_result(*_running(self, dim, False))


@method("logcumsumexp")
def logcumsumexp(self: Tensor, dim: builtins.int) -> Tensor:
    """log Σ_{i≤j} exp(x_i) along dim, without overflow."""
    return LogCumSumExp.apply(self._as_float(), axis=_axis(self, dim))


def _quantile(
    self: Tensor, q: Any, dim: Any, keepdim: builtins.bool, interpolation: str,
    ignore_nan: builtins.bool,
) -> Tensor:  # fmt: skip
    if interpolation not in ("linear", "lower", "higher", "midpoint", "nearest"):
        raise RuntimeError(
            "quantile() interpolation must be one of linear, lower, higher, midpoint or "
            f"nearest. Got {interpolation}"
        )
    q_values = np.asarray(_array(q), dtype=np.float64)
    if q_values.ndim > 1:
        raise RuntimeError("quantile() q must be a scalar or 1D tensor")
    if ((q_values < 0) | (q_values > 1)).any():
        raise RuntimeError("quantile() q values must be in the range [0, 1]")
    x = self.reshape(-1) if dim is None else self
    axis = 0 if dim is None else _axis(self, dim)
    data = x.movedim(axis, -1)
    ordered = data.sort(-1).values  # NaNs sort last
    nan = np.isnan(_array(data))
    count = (
        data.shape[-1] - nan.sum(-1, keepdims=True)
        if ignore_nan
        else np.full(nan.shape[:-1] + (1,), data.shape[-1])
    )
    qs = q_values.reshape(-1)
    rank = qs.reshape((-1,) + (1,) * (data.ndim)) * (np.maximum(count, 1) - 1)  # (Q, ..., 1)
    low, high = np.floor(rank), np.ceil(rank)
    if interpolation == "lower":
        high = low
    elif interpolation == "higher":
        low = high
    elif interpolation == "nearest":
        low = high = np.round(rank)  # half to even, as torch
    weight = (
        np.where(high > low, rank - low, 0.0)
        if interpolation != "midpoint"
        else np.where(high > low, 0.5, 0.0)
    )
    stacked = ordered.unsqueeze(0).expand((len(qs),) + tuple(ordered.shape))
    low_v = stacked.gather(-1, _plain(low.astype(np.int64)))
    high_v = stacked.gather(-1, _plain(high.astype(np.int64)))
    result = low_v + (high_v - low_v) * _plain(weight.astype(self.dtype))
    poisoned = (count == 0) if ignore_nan else nan.any(-1, keepdims=True)
    if poisoned.any():
        result = result.masked_fill(_plain(np.broadcast_to(poisoned, result.shape)), float("nan"))
    result = result.squeeze(-1)  # (Q, ...)
    if keepdim:
        if dim is None:
            result = result.reshape((len(qs),) + (1,) * self.ndim)
        else:
            result = result.unsqueeze(axis + 1)
    return result[0] if q_values.ndim == 0 else result


@method("quantile")
def quantile(
    self: Tensor, q: Any, dim: Any = None, keepdim: builtins.bool = False, *,
    interpolation: str = "linear",
) -> Tensor:  # fmt: skip
    """The q-th quantiles along dim (all elements when None); NaN if a NaN is present.
    Linear interpolation between the sorted values at floor/ceil of q · (n - 1)."""
    if self.dtype.kind != "f":
        raise RuntimeError("quantile() input tensor must be either float or double dtype")
    return _quantile(self, q, dim, keepdim, interpolation, False)


@method("nanquantile")
def nanquantile(
    self: Tensor, q: Any, dim: Any = None, keepdim: builtins.bool = False, *,
    interpolation: str = "linear",
) -> Tensor:  # fmt: skip
    """quantile ignoring NaNs (NaN only where every value is NaN)."""
    if self.dtype.kind != "f":
        raise RuntimeError("nanquantile() input tensor must be either float or double dtype")
    return _quantile(self, q, dim, keepdim, interpolation, True)


@method("nanmedian")
def nanmedian(self: Tensor, dim: Any = None, keepdim: builtins.bool = False) -> Any:
    """The lower median ignoring NaNs; median(dim) gives (values, indices)."""
    x = self.reshape(-1) if dim is None else self
    axis = 0 if dim is None else _axis(self, dim)
    values = _array(x)
    order = np.argsort(values, axis=axis, kind="stable")  # NaNs last
    valid = (~np.isnan(values)).sum(axis=axis, keepdims=True)
    position = np.maximum(valid - 1, 0) // 2
    index = np.take_along_axis(order, position, axis=axis)
    picked = x.gather(axis, _plain(index))
    if dim is None:
        return picked.reshape(())
    indices = _plain(index)
    if not keepdim:
        picked, indices = picked.squeeze(axis), indices.squeeze(axis)
    return nanmedian_result(picked, indices)


@method("cov")
def cov(
    self: Tensor, *, correction: builtins.int = 1, fweights: Any = None, aweights: Any = None
) -> Tensor:
    """Covariance of the rows (variables) over the columns (observations):
    Σ w (x - x̄)(x - x̄)ᵀ / (Σw - correction · Σ(w·a)/Σw), w = fweights · aweights."""
    x = self._as_float()
    x = x.reshape(1, -1) if x.ndim < 2 else x
    n = x.shape[1]
    f = np.ones(n) if fweights is None else _array(fweights).astype(np.float64)
    a = None if aweights is None else _array(aweights).astype(np.float64)
    w = f if a is None else f * a
    total = w.sum()
    weights = _plain(w.astype(x.dtype))
    mean = (x * weights).sum(1, keepdim=True) / total
    centred = x - mean
    factor = total - correction * (1 if a is None else (w * a).sum() / total)
    out = (centred * weights) @ centred.T / builtins.max(factor, 0)
    return out.reshape(()) if self.ndim < 2 else out


@method("corrcoef")
def corrcoef(self: Tensor) -> Tensor:
    """Pearson correlation of the rows, clipped to [-1, 1] as torch does."""
    c = cov(self)
    if c.ndim == 0:
        return c / c
    d = c.diagonal().sqrt()
    return (c / d.unsqueeze(1) / d.unsqueeze(0)).clamp(-1, 1)


@method("dist")
def dist(self: Tensor, other: TensorLike, p: float = 2) -> Tensor:
    """The p-norm of self - other."""
    return (self - other).norm(p)


@method("renorm")
def renorm(self: Tensor, p: float, dim: builtins.int, maxnorm: float) -> Tensor:
    """Each slice along dim with p-norm above maxnorm scaled down to maxnorm."""
    axis = _axis(self, dim)
    others = tuple(i for i in range(self.ndim) if i != axis)
    norms = self.abs().pow(p).sum(others, keepdim=True).pow(1 / p) if others else self.abs()
    scale = maxnorm / (norms + 1e-7)
    big = _plain(_array(norms) > maxnorm)
    return self * scale.where(big, 1.0)
