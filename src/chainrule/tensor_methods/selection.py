"""Sorting and selection (sort, topk, kthvalue, median, mode, unique, histograms)."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from chainrule import dtypes, return_types
from chainrule.tensor import Tensor
from chainrule.tensor_methods._common import _array, _axis, _plain, method
from chainrule.types import TensorLike


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
    weight: TensorLike | None = None,
    density: builtins.bool = False,
) -> Any:
    edges = _array(bins) if isinstance(bins, Tensor) else bins
    counts, edges = np.histogram(
        _array(self), bins=edges, range=range, weights=_array(weight), density=density
    )
    return return_types.histogram(
        _plain(counts.astype(self.dtype)), _plain(np.asarray(edges, dtype=self.dtype))
    )
