"""Ops that move values without computing new ones: reshape, permute, expand, indexing,
gather, cat and stack. Their backward moves the gradient back to where each value came from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.autograd import Function
from chainrule.kernels import numba_enabled
from chainrule.kernels.embedding import embedding_gather, embedding_grad, indices_below


class Reshape(Function):
    """Same values, new shape; the gradient is reshaped back."""

    def forward(self, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        self.input_shape, self.shape = x.shape, shape
        return x.reshape(shape)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad.reshape(self.input_shape)

    def backward_graph(self, grad: Any, out: Any) -> Any:
        return grad.reshape(self.input_shape)


class Permute(Function):
    """Reorders dims; the gradient goes through the inverse permutation."""

    def forward(self, x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        self.axes = axes
        return x.transpose(axes)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad.transpose(np.argsort(self.axes))

    def backward_graph(self, grad: Any, out: Any) -> Any:
        return grad.permute(*np.argsort(self.axes).tolist())


class Expand(Function):
    """Broadcasts to a larger shape without copying; the engine sums the gradient back."""

    def forward(self, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        return np.broadcast_to(x, shape)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad  # reduced to the input's shape by the engine's unbroadcast

    def backward_graph(self, grad: Any, out: Any) -> Any:
        return grad


def is_advanced(index: Any) -> bool:
    """True when the index has an integer array in it (NumPy's advanced indexing)."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, np.ndarray) and p.dtype != bool for p in parts)


class GetItem(Function):
    """x[index] for basic (slices, ints) and advanced (integer array, mask) indexing.

    Backward scatters the gradient into zeros of the input's shape; with an integer array
    the same element can be picked twice, so its gradients are added (np.add.at).
    """

    def forward(self, x: np.ndarray, index: Any) -> np.ndarray:
        self.input_shape, self.index = x.shape, index
        try:
            return np.asarray(x[index])
        except IndexError as error:
            raise IndexError(f"indexing a tensor of shape {x.shape}: {error}") from None

    def backward(self, grad: np.ndarray) -> np.ndarray:
        full = np.zeros(self.input_shape, dtype=grad.dtype)
        if is_advanced(self.index):
            np.add.at(full, self.index, grad)
        else:
            full[self.index] = grad
        return full

    def backward_graph(self, grad: Any, out: Any) -> Any:
        return IndexScatter.apply(grad, index=self.index, shape=self.input_shape)


class IndexScatter(Function):
    """GetItem's backward as an op of its own, for double backward: zeros of `shape` with
    the gradient added at `index`. It is linear, so its backward is GetItem again."""

    def forward(self, grad: np.ndarray, index: Any, shape: tuple[int, ...]) -> np.ndarray:
        self.index = index
        full = np.zeros(shape, dtype=grad.dtype)
        if is_advanced(index):
            np.add.at(full, index, grad)
        else:
            full[index] = grad
        return full

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return np.asarray(grad[self.index])

    def backward_graph(self, grad: Any, out: Any) -> Any:
        return GetItem.apply(grad, index=self.index)


class Gather(Function):
    """out = take_along_axis(x, index, axis) (torch.gather); gradients of repeats add up."""

    def forward(self, x: np.ndarray, index: np.ndarray, axis: int) -> np.ndarray:
        if index.ndim != x.ndim:
            raise ValueError(
                f"gather: index has {index.ndim} dims but the input has {x.ndim}; they must match"
            )
        self.input_shape, self.index, self.axis = x.shape, index, axis
        return np.take_along_axis(x, index, axis=axis)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        full = np.zeros(self.input_shape, dtype=grad.dtype)
        # add.at over an open grid: repeated indices along `axis` accumulate
        grid: list[Any] = list(np.indices(self.index.shape, sparse=True))
        grid[self.axis] = self.index
        np.add.at(full, tuple(grid), grad)
        return full


class Cat(Function):
    """Joins tensors along `axis`; each input gets back its slice of the gradient."""

    def forward(self, *arrays: np.ndarray, axis: int) -> np.ndarray:
        self.axis = axis
        self.bounds = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    def backward(self, grad: np.ndarray) -> list[np.ndarray]:
        return np.split(grad, self.bounds, axis=self.axis)

    def backward_graph(self, grad: Any, out: Any) -> list[Any]:
        edges = [0, *self.bounds.tolist(), grad.shape[self.axis]]
        lead = (slice(None),) * self.axis
        return [grad[lead + (slice(lo, hi),)] for lo, hi in zip(edges, edges[1:], strict=False)]


class Stack(Function):
    """Stacks same-shaped tensors along a new `axis`; each gets back its slice."""

    def forward(self, *arrays: np.ndarray, axis: int) -> np.ndarray:
        self.axis = axis
        return np.stack(arrays, axis=axis)

    def backward(self, grad: np.ndarray) -> list[np.ndarray]:
        return [np.take(grad, i, axis=self.axis) for i in range(grad.shape[self.axis])]

    def backward_graph(self, grad: Any, out: Any) -> list[Any]:
        lead = (slice(None),) * self.axis
        return [grad[lead + (i,)] for i in range(grad.shape[self.axis])]


def embedding_forward(
    weight: np.ndarray, index: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """weight[index]: the rows of the table weight (V, D) picked by integer `index` (*), in
    range -> (*, D), into `out` (None: a new array). With numba, one compiled loop
    (chainrule.kernels.embedding); else np.take: the same values."""
    if out is None and numba_enabled():  # (np.take without out= is faster than with)
        out = np.empty(index.shape + weight.shape[1:], weight.dtype)
    if out is not None and embedding_gather(weight, index, out):
        return out
    return np.take(weight, index, axis=0, out=out)


def embedding_lookup(weight: np.ndarray, index: np.ndarray, out: np.ndarray) -> bool:
    """`embedding_forward(weight, index, out)` when every index is in 0..V-1 (True); False,
    `out` not all written, when one is not (the caller raises its own error). With numba,
    one compiled loop checks and copies (chainrule.kernels.embedding)."""
    if embedding_gather(weight, index, out):  # it checks every index first
        return True
    if not indices_below(index, len(weight)):
        return False
    embedding_forward(weight, index, out)
    return True


def embedding_backward(
    grad: np.ndarray, index: np.ndarray, table_shape: tuple[int, ...], padding_idx: int | None,
    into: np.ndarray | None = None,
) -> np.ndarray:  # fmt: skip
    """The table's gradient (V, D): each output row's gradient grad (*, D) added into the
    row `index` (*) picked (rows picked twice get both, in order), the padding row zero;
    into `into` (None: a new array). With numba, one compiled loop
    (chainrule.kernels.embedding); else np.add.at: the same numbers."""
    table = np.empty(table_shape, grad.dtype) if into is None else into
    rows = grad.reshape(-1, table_shape[-1])
    return embedding_grad(table, index.reshape(-1), rows, padding_idx)


class EmbeddingLookup(Function):
    """weight[index]: rows of a table. Backward adds each output row's gradient into the row
    it came from (rows picked twice get both); the padding row gets no gradient. Kernels
    `embedding_forward`, `embedding_backward` (which `compile_step`'s programs call too)."""

    def forward(self, weight: np.ndarray, index: np.ndarray, padding_idx: int | None) -> np.ndarray:
        self.table_shape, self.index, self.padding_idx = weight.shape, index, padding_idx
        return embedding_forward(weight, index)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return embedding_backward(grad, self.index, self.table_shape, self.padding_idx)


class SetItem(Function):
    """x[index] = value, recorded (PyTorch's index_put_ / copy_slices): the result is x with
    the indexed elements replaced. Backward: x gets the gradient with those elements zeroed
    (they no longer depend on x); value gets the gradient at those elements (summed back to
    value's shape by the engine when value was broadcast).

    Forward writes into x's memory and returns it: the op is in place.
    """

    def forward(self, x: np.ndarray, value: np.ndarray, index: Any) -> np.ndarray:
        self.index = index
        try:
            x[index] = value
        except IndexError as error:
            raise IndexError(f"indexing a tensor of shape {x.shape}: {error}") from None
        return x

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        need_x, need_value = self.needs_input_grad
        grad_x = None
        if need_x:
            grad_x = np.array(grad)
            grad_x[self.index] = 0
        return grad_x, (np.asarray(grad[self.index]) if need_value else None)

    def backward_graph(self, grad: Any, out: Any) -> tuple[Any, Any]:
        need_x, need_value = self.needs_input_grad
        grad_x = None
        if need_x:
            keep = np.ones(grad.shape, dtype=grad.dtype)
            keep[self.index] = 0
            grad_x = grad * grad._make(keep, False)
        return grad_x, (grad[self.index] if need_value else None)


class ViewScatter(Function):
    """A base tensor after one of its views was changed in place: base_new = base_old with
    the view's elements replaced by the view's new values (PyTorch's CopySlices).

    `view_of(array)` makes the same view of any array of the base's shape (same index,
    reshape or permutation), so backward can split the gradient: the view's elements go to
    the new view values, the rest to the old base. Forward computes nothing: the memory is
    already changed.
    """

    def forward(self, base: np.ndarray, view: np.ndarray, view_of: Any) -> np.ndarray:
        self.view_of = view_of
        return base

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        need_base, need_view = self.needs_input_grad
        grad_view = np.array(self.view_of(grad)) if need_view else None
        grad_base = None
        if need_base:
            grad_base = np.array(grad)
            self.view_of(grad_base)[...] = 0
        return grad_base, grad_view
