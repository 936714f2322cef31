"""Datasets, as `torch.utils.data`: `Dataset`, `IterableDataset`, `TensorDataset`, `Subset`,
`random_split`.

A map-style dataset is anything with ``__getitem__(i)`` (one sample) and ``__len__()``
(the number of samples). `TensorDataset` and `Subset` also accept an index *array* and then
return a whole batch with one fancy-indexing operation per tensor; the `DataLoader` uses that
fast path instead of fetching and stacking samples one by one.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeGuard, TypeVar, overload

import numpy as np

from chainrule.creation import randperm
from chainrule.data.base import Dataset
from chainrule.random import Generator
from chainrule.tensor import Tensor
from chainrule.types import Batch, IndexLike

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

BatchFetcher = Callable[[np.ndarray], Batch]


def _is_scalar_index(index: object) -> TypeGuard[int | np.integer[Any] | Tensor]:
    """One position: an int, a NumPy integer or a 0-d integer tensor (not a bool)."""
    if isinstance(index, Tensor):
        return index.ndim == 0 and index.dtype.kind in "iu"
    return isinstance(index, (int, np.integer)) and not isinstance(index, (bool, np.bool_))


def _as_index_array(index: Any, length: int) -> np.ndarray | slice:
    """A slice stays a slice; lists, ndarrays and tensors become an int64 (or bool) ndarray."""
    if isinstance(index, slice):
        return index
    array = np.asarray(index._data if isinstance(index, Tensor) else index)
    if array.dtype.kind == "b":
        if array.shape != (length,):
            raise IndexError(
                f"boolean index of shape {array.shape} does not match a dataset of {length}"
            )
        return array
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.dtype.kind not in "iu":
        raise IndexError(f"dataset indices must be integers, got dtype {array.dtype}")
    if array.min() < -length or array.max() >= length:
        raise IndexError(f"index out of range for a dataset of {length} samples")
    return array.astype(np.int64, copy=False)


def _take(tensor: Tensor, index: Any) -> Tensor:
    """`tensor[index]` along the first dim; leaves outside the graph skip the autograd op."""
    if tensor.requires_grad:
        return tensor[index]
    return Tensor._make(np.asarray(tensor._data[index]), False)


class TensorDataset(Dataset[tuple[Tensor, ...]]):
    """Samples are rows of the given tensors: ``dataset[i] == (t[i] for t in tensors)``.

    Args:
        *tensors: tensors (or ndarrays) sharing their first dimension N; tensor k has shape
            (N, *S_k).

    ``dataset[i]`` (an int) returns a tuple of tensors of shapes S_k. ``dataset[idx]`` with an
    index array, list, tensor or slice of B positions returns a tuple of tensors of shapes
    (B, *S_k), fetched with one fancy-indexing operation per tensor.
    """

    tensors: tuple[Tensor, ...]

    def __init__(self, *tensors: Tensor | np.ndarray) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        wrapped = tuple(
            t if isinstance(t, Tensor) else Tensor._make(np.asarray(t), False) for t in tensors
        )
        if any(t.ndim == 0 for t in wrapped):
            raise ValueError("TensorDataset: every tensor needs a first (sample) dimension")
        sizes = [t.shape[0] for t in wrapped]
        if len(set(sizes)) != 1:
            raise ValueError(
                "TensorDataset: size mismatch between tensors, all must have the same size in "
                f"dimension 0 (got sizes {sizes})"
            )
        self.tensors = wrapped

    def __len__(self) -> int:
        return int(self.tensors[0].shape[0])

    def __getitem__(self, index: IndexLike) -> tuple[Tensor, ...]:
        if _is_scalar_index(index):
            position = int(index)
            if not -len(self) <= position < len(self):
                raise IndexError(f"index {position} out of range for a dataset of {len(self)}")
            return tuple(_take(t, position) for t in self.tensors)
        batch = _as_index_array(index, len(self))
        return tuple(_take(t, batch) for t in self.tensors)


class Subset(Dataset[T_co]):
    """The samples of `dataset` at `indices`: ``subset[i] == dataset[indices[i]]``.

    Args:
        dataset: the full dataset.
        indices: positions into `dataset` (a sequence of ints, an ndarray or a tensor).
    """

    def __init__(
        self, dataset: Dataset[T_co], indices: Sequence[int] | np.ndarray | Tensor
    ) -> None:
        self.dataset = dataset
        raw = indices._data if isinstance(indices, Tensor) else indices
        self.indices: list[int] = [int(i) for i in np.asarray(raw, dtype=np.int64).reshape(-1)]
        self._index_array = np.asarray(self.indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    @overload
    def __getitem__(self, index: int | np.integer[Any]) -> T_co: ...

    @overload
    def __getitem__(self, index: IndexLike) -> T_co | Batch: ...

    def __getitem__(self, index: IndexLike) -> T_co | Batch:
        """One sample at a position; at several positions, the dataset's batch fetch (a
        `TensorDataset`'s tuple of (B, ...) tensors) or else the list of their samples."""
        if _is_scalar_index(index):
            return self.dataset[self.indices[int(index)]]
        positions = self._index_array[_as_index_array(index, len(self))]
        fetch = batch_fetcher(self.dataset)
        if fetch is not None:
            return fetch(positions)
        return [self.dataset[int(i)] for i in positions]


def batch_fetcher(dataset: Dataset[object]) -> BatchFetcher | None:
    """A function taking an int64 index array of B positions to a whole batch, or None.

    Defined for `TensorDataset` (a tuple of (B, ...) tensors) and for `Subset`s of one; other
    datasets return None and the DataLoader fetches and collates samples one at a time.
    """
    if isinstance(dataset, TensorDataset):
        return dataset.__getitem__
    if isinstance(dataset, Subset):
        inner = batch_fetcher(dataset.dataset)
        if inner is not None:
            index_array = dataset._index_array
            return lambda positions: inner(index_array[positions])
    return None


def _split_lengths(total: int, lengths: Sequence[int | float]) -> list[int]:
    """Integer lengths from counts, or from fractions summing to 1 (PyTorch's rule).

    Fractions: each split gets floor(total * fraction) samples, then the remainder is dealt
    one sample at a time to the splits in order (round-robin), as `torch.utils.data`.
    """
    fractional = math.isclose(sum(lengths), 1) and sum(lengths) <= 1
    if not fractional:
        counts = []
        for i, length in enumerate(lengths):
            if isinstance(length, float) and not length.is_integer():
                raise ValueError(
                    f"random_split: length at index {i} is {length}; give integer counts or "
                    f"fractions summing to 1 (these sum to {sum(lengths)})"
                )
            if length < 0:
                raise ValueError(f"random_split: length at index {i} is negative ({length})")
            counts.append(int(length))
        return counts
    counts = []
    for i, fraction in enumerate(lengths):
        if not 0 <= fraction <= 1:
            raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1")
        counts.append(math.floor(total * fraction))
    for i in range(total - sum(counts)):
        counts[i % len(counts)] += 1
    for i, count in enumerate(counts):
        if count == 0:
            warnings.warn(
                f"random_split: length of split at index {i} is 0; this split will be empty",
                stacklevel=3,
            )
    return counts


def random_split(
    dataset: Dataset[T], lengths: Sequence[int | float], generator: Generator | None = None
) -> list[Subset[T]]:
    """Split `dataset` into non-overlapping random `Subset`s of the given lengths.

    Args:
        dataset: a map-style dataset of N samples.
        lengths: sample counts summing to N, or fractions summing to 1 (each split gets
            floor(N * fraction), the remainder goes round-robin to the first splits).
        generator: the random stream for the permutation (the default generator if None).

    Example: ``train, val = random_split(ds, [0.8, 0.2], generator=Generator().manual_seed(0))``.
    """
    if not lengths:
        raise ValueError("random_split: lengths must not be empty")
    total = len(dataset)  # type: ignore[arg-type]  # a map-style dataset has a length
    counts = _split_lengths(total, lengths)
    if sum(counts) != total:
        raise ValueError(
            f"random_split: sum of input lengths ({sum(counts)}) does not equal the length of "
            f"the input dataset ({total})"
        )
    order = randperm(total, generator=generator)._data
    ends = np.cumsum(counts)
    return [
        Subset(dataset, order[end - count : end]) for end, count in zip(ends, counts, strict=True)
    ]
