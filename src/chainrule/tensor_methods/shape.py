"""Shape and indexing (split, flip, roll, repeat, diagonal, masked/index/scatter ops, nonzero)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule import ops
from chainrule.ops.scan import Scatter
from chainrule.tensor import Tensor, index_array
from chainrule.tensor_methods._common import Scalar, _array, _axis, _plain, method


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
