"""Writing values at positions: index_put, put, masked_scatter, scatter_reduce,
index_reduce, select/slice/diagonal_scatter, fill_diagonal_, and unfold (sliding windows).

Positions become flat indices into the tensor; the writes are `index_copy` / `index_add`
on the flattened tensor and the windows an `index_select`, all recorded ops, so gradients
flow to the kept values of self and to the written source values. scatter_reduce and
index_reduce differentiate their 'sum' and 'mean' reductions; 'prod', 'amax' and 'amin'
give values only (a backward through them raises).
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from chainrule.tensor import Tensor, index_array
from chainrule.tensor_methods._common import _array, _axis, _plain, method


def _flat_indices(self: Tensor, indices: Any) -> tuple[np.ndarray, builtins.int, builtins.int]:
    """Flat positions addressed by a tuple of index tensors (bool masks become positions),
    how many leading dims they index, and how many positions they pick there."""
    parts: list[np.ndarray] = []
    for part in indices if isinstance(indices, (tuple, list)) else (indices,):
        array = np.asarray(_array(part))
        if array.dtype == bool:
            parts.extend(np.nonzero(array))
        else:
            parts.append(array.astype(np.int64))
    grids = np.broadcast_arrays(*parts)
    lead = [np.where(g < 0, g + n, g) for g, n in zip(grids, self.shape, strict=False)]
    rest = tuple(self.shape[len(lead) :])
    base = np.ravel_multi_index(tuple(lead), tuple(self.shape[: len(lead)]))
    inner = int(np.prod(rest))
    return (base[..., None] * inner + np.arange(inner)).reshape(-1), len(lead), base.size


def _write(self: Tensor, flat: np.ndarray, values: Any, accumulate: builtins.bool) -> Tensor:
    source = self._operand(values).to(self.dtype).reshape(-1)
    if source.numel() == 1 and flat.size != 1:
        source = source.expand((flat.size,))
    line = self.reshape(-1)
    index = _plain(flat)
    line = line.index_add(0, index, source) if accumulate else line.index_copy(0, index, source)
    return line.reshape(self.shape)


@method("index_put")
def index_put(self: Tensor, indices: Any, values: Any, accumulate: builtins.bool = False) -> Tensor:
    """A copy of self with self[indices] = values (+= with accumulate; repeated positions
    then add up)."""
    flat, lead, picked = _flat_indices(self, indices)
    block = self._operand(values).to(self.dtype)
    target = (picked, *self.shape[lead:])
    return _write(self, flat, block.expand(target) if block.numel() > 1 else block, accumulate)


@method("put")
def put(self: Tensor, index: Any, source: Any, accumulate: builtins.bool = False) -> Tensor:
    """A copy with the flattened self[index] = source."""
    flat = index_array(index).reshape(-1)
    flat = np.where(flat < 0, flat + self.numel(), flat)
    return _write(self, flat, source, accumulate)


@method("masked_scatter")
def masked_scatter(self: Tensor, mask: Any, source: Tensor) -> Tensor:
    """Where mask holds, the next values of source in order."""
    where = np.broadcast_to(np.asarray(_array(mask), dtype=bool), tuple(self.shape))
    flat = np.flatnonzero(where)
    if source.numel() < flat.size:
        raise RuntimeError(
            "masked_scatter: expected source to have at least as many elements as ones in mask"
        )
    return _write(self, flat, source.reshape(-1)[: flat.size], False)


def _reduce(
    self: Tensor, axis: builtins.int, index: np.ndarray, src: Tensor, reduce: str,
    include_self: builtins.bool, name: str,
) -> Tensor:  # fmt: skip
    """out[.., index[.., i, ..], ..] ⊕= src[.., i, ..] along axis, index the shape of src."""
    grid: list[Any] = list(np.indices(index.shape, sparse=True))
    grid[axis] = index
    where: Any = tuple(np.broadcast_arrays(*grid))
    target = np.ravel_multi_index(where, tuple(self.shape)).reshape(-1)
    touched = np.zeros(self.numel(), dtype=bool)
    touched[target] = True
    keep = _plain((~touched | include_self).reshape(self.shape))
    source = src.to(self.dtype).reshape(-1)
    line = self.reshape(-1)
    if reduce in ("sum", "mean"):
        base = self * keep.to(self.dtype)
        summed = base.reshape(-1).index_add(0, _plain(target), source).reshape(self.shape)
        if reduce == "sum":
            return summed
        counts = np.bincount(target, minlength=self.numel()) + _array(keep).reshape(-1)
        out = summed / _plain(np.maximum(counts, 1).reshape(self.shape).astype(self.dtype))
        return out if self.dtype.kind == "f" else out.floor().to(self.dtype)
    ufunc = {"prod": np.multiply, "amax": np.maximum, "amin": np.minimum}.get(reduce)
    if ufunc is None:
        raise RuntimeError(
            f"{name}(): reduce argument must be one of sum, prod, mean, amax, amin, got {reduce}"
        )
    if self.requires_grad or src.requires_grad:
        raise NotImplementedError(
            f"chainrule does not implement the gradient of {name}(reduce='{reduce}'); see "
            "docs/pytorch-coverage.md"
        )
    values = _array(line).copy()
    start = {"prod": 1, "amax": -np.inf, "amin": np.inf}[reduce]
    if not include_self:
        if self.dtype.kind != "f" and reduce != "prod":
            info = np.iinfo(self.dtype)
            start = info.min if reduce == "amax" else info.max
        values[touched] = start
    ufunc.at(values, target, _array(source))
    return _plain(values.reshape(self.shape))


@method("scatter_reduce")
def scatter_reduce(
    self: Tensor, dim: builtins.int, index: Any, src: Tensor, reduce: str, *,
    include_self: builtins.bool = True,
) -> Tensor:  # fmt: skip
    axis = _axis(self, dim)
    return _reduce(self, axis, index_array(index), src, reduce, include_self, "scatter_reduce")


@method("index_reduce")
def index_reduce(
    self: Tensor, dim: builtins.int, index: Any, source: Tensor, reduce: str, *,
    include_self: builtins.bool = True,
) -> Tensor:  # fmt: skip
    """Along dim, self[index[i]] ⊕= source[i] for reduce in prod, mean, amax, amin."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(
            "index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got "
            f"{reduce}."
        )
    axis = _axis(self, dim)
    idx = index_array(index)
    shape = [1] * source.ndim
    shape[axis] = -1
    full = np.broadcast_to(idx.reshape(shape), tuple(source.shape))
    return _reduce(
        self, axis, np.ascontiguousarray(full), source, reduce, include_self, "index_reduce"
    )


def _positions(self: Tensor, dim: builtins.int, where: Any) -> np.ndarray:
    """Flat positions of self[..., where, ...] along dim, in row-major order."""
    grid = np.arange(self.numel()).reshape(tuple(self.shape))
    return np.take(grid, where, axis=_axis(self, dim)).reshape(-1)


@method("select_scatter")
def select_scatter(self: Tensor, src: Tensor, dim: builtins.int, index: builtins.int) -> Tensor:
    """A copy with self.select(dim, index) = src."""
    return _write(self, _positions(self, dim, builtins.int(index)), src, False)


@method("slice_scatter")
def slice_scatter(
    self: Tensor, src: Tensor, dim: builtins.int = 0, start: Any = None, end: Any = None,
    step: builtins.int = 1,
) -> Tensor:  # fmt: skip
    """A copy with self[start:end:step] (along dim) = src."""
    n = self.shape[_axis(self, dim)]
    return _write(self, _positions(self, dim, np.arange(n)[slice(start, end, step)]), src, False)


@method("diagonal_scatter")
def diagonal_scatter(
    self: Tensor, src: Tensor, offset: builtins.int = 0, dim1: builtins.int = 0,
    dim2: builtins.int = 1,
) -> Tensor:  # fmt: skip
    """A copy with self.diagonal(offset, dim1, dim2) = src."""
    grid = np.arange(self.numel()).reshape(tuple(self.shape))
    flat = np.diagonal(grid, offset, _axis(self, dim1), _axis(self, dim2)).reshape(-1)
    return _write(self, flat, src, False)


@method("fill_diagonal_")
def fill_diagonal_(self: Tensor, fill_value: Any, wrap: builtins.bool = False) -> Tensor:
    """In place: the main diagonal (all dims equal, or a 2-D matrix) set to fill_value; a
    tall matrix restarts the diagonal every n+1 rows with wrap=True, as torch."""
    if self.ndim < 2 or (self.ndim > 2 and len(set(self.shape)) != 1):
        raise RuntimeError("all dimensions of input must be of equal length")
    rows, cols = self.shape[0], self.shape[-1]
    if self.ndim == 2:
        limit = rows * cols if wrap else builtins.min(rows, cols) * cols
        flat = np.arange(0, limit, cols + 1)
    else:
        flat = np.arange(rows) * builtins.sum(cols**k for k in range(self.ndim))
    mask = np.zeros(self.numel(), dtype=bool)
    mask[flat[flat < self.numel()]] = True
    return self.masked_fill_(_plain(mask.reshape(tuple(self.shape))), fill_value)


@method("unfold")
def unfold(self: Tensor, dimension: builtins.int, size: builtins.int, step: builtins.int) -> Tensor:
    """Every window of `size` along dimension, `step` apart: that dim becomes the window
    count and a new last dim of length size holds each window."""
    axis = _axis(self, dimension)
    n = self.shape[axis] if self.ndim else 1
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {axis} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    starts = np.arange(0, n - size + 1, step)
    windows = (starts[:, None] + np.arange(size)).reshape(-1)
    picked = self.index_select(axis, _plain(windows))
    shape = list(self.shape)
    shape[axis : axis + 1] = [len(starts), size]
    return picked.reshape(shape).movedim(axis + 1, -1)
