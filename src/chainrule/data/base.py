"""The dataset protocols and their compositions, as `torch.utils.data`: `Dataset` (map-style),
`IterableDataset` (a stream), `ConcatDataset` (datasets one after another, ``a + b``),
`ChainDataset` (streams one after another) and `StackDataset` (datasets side by side)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

from chainrule.types import Sample, SampleKey

__all__ = ["ChainDataset", "ConcatDataset", "Dataset", "IterableDataset", "StackDataset"]

T_co = TypeVar("T_co", covariant=True)
"""The type of a dataset's samples (``Dataset[tuple[Tensor, Tensor]]``)."""


def _length(dataset: Dataset[object]) -> int:
    """``len(dataset)`` of a map-style dataset: `Dataset` does not declare ``__len__`` (as
    torch's: an IterableDataset may have none), so the type checker is told here, once."""
    return len(dataset)  # type: ignore[arg-type]


class Dataset(Generic[T_co]):
    """A map-style dataset: ``dataset[i]`` is the i-th sample, ``len(dataset)`` their count.

    Subclasses implement ``__getitem__`` and usually ``__len__`` (which the default
    samplers need), as with `torch.utils.data.Dataset`. ``a + b`` is ``ConcatDataset([a, b])``.
    """

    def __getitem__(self, index: SampleKey) -> T_co:
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: Dataset[T_co]) -> Dataset[T_co]:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co]):
    """A dataset that is a stream: ``iter(dataset)`` yields the samples, in its own order.

    Subclasses implement ``__iter__`` (and ``__len__`` if the count is known, for
    ``len(loader)``). A DataLoader over one reads samples in that order and batches them;
    it takes no sampler and no ``shuffle``. ``a + b`` is ``ChainDataset([a, b])``.
    Batches are made in the main process, so `get_worker_info` returns None inside
    ``__iter__`` and one copy of the stream is read whatever ``num_workers`` is.
    """

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other: Dataset[T_co]) -> Dataset[T_co]:
        return ChainDataset([self, other])


class ConcatDataset(Dataset[T_co]):
    """The samples of several map-style datasets, one dataset after the other.

    With lengths n_1, n_2, … and cumulative sizes c_k = n_1 + … + n_k, index i belongs to
    dataset k = the first with c_k > i, at position i - c_{k-1}. Negative indices count
    from the end, as for a list.

    Args:
        datasets (iterable): the datasets (map-style; not IterableDataset).

    Example::

        both = ConcatDataset([train_a, train_b])     # or train_a + train_b
    """

    def __init__(self, datasets: Iterable[Dataset[T_co]]) -> None:
        self.datasets = list(datasets)
        if len(self.datasets) == 0:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    @staticmethod
    def cumsum(sequence: Iterable[Dataset[object]]) -> list[int]:
        """The running totals of the datasets' lengths."""
        totals, running = [], 0
        for d in sequence:
            running += _length(d)
            totals.append(running)
        return totals

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int) -> T_co:
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        dataset_idx = bisect_right(self.cumulative_sizes, idx)
        sample_idx = idx if dataset_idx == 0 else idx - self.cumulative_sizes[dataset_idx - 1]
        return self.datasets[dataset_idx][sample_idx]


class ChainDataset(IterableDataset[T_co]):
    """Several iterable datasets read one after the other (chained lazily, on iteration).

    Args:
        datasets (iterable): the IterableDatasets.
    """

    def __init__(self, datasets: Iterable[Dataset[T_co]]) -> None:
        self.datasets = datasets

    def __iter__(self) -> Iterator[T_co]:
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self) -> int:
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            total += len(d)  # type: ignore[arg-type]
        return total


class StackDataset(Dataset[Sample]):
    """Datasets of the same length side by side: sample i is the tuple (or dict) of their
    i-th samples.

    Give the datasets positionally (``StackDataset(images, labels)``: samples are tuples)
    or by name (``StackDataset(image=images, label=labels)``: samples are dicts), not both.
    """

    def __init__(self, *args: Dataset[Sample], **kwargs: Dataset[Sample]) -> None:
        if args:
            if kwargs:
                raise ValueError(
                    "Supported either ``tuple``- (via ``args``) or``dict``- (via ``kwargs``) "
                    "like input/output, but both types are given."
                )
            self._length = _length(args[0])
            if any(self._length != _length(dataset) for dataset in args):
                raise ValueError("Size mismatch between datasets")
            self.datasets: tuple[Dataset[Sample], ...] | dict[str, Dataset[Sample]] = args
        elif kwargs:
            tmp = list(kwargs.values())
            self._length = _length(tmp[0])
            if any(self._length != _length(dataset) for dataset in tmp):
                raise ValueError("Size mismatch between datasets")
            self.datasets = kwargs
        else:
            raise ValueError("At least one dataset should be passed")

    def __getitem__(self, index: SampleKey) -> tuple[Sample, ...] | dict[str, Sample]:
        if isinstance(self.datasets, dict):
            return {k: dataset[index] for k, dataset in self.datasets.items()}
        return tuple(dataset[index] for dataset in self.datasets)

    def __len__(self) -> int:
        return self._length
