"""`DataLoader`: iterate over a dataset in mini-batches, as PyTorch's.

A map-style dataset is read through a *sampler* (the order of indices: `SequentialSampler`,
or `RandomSampler` with ``shuffle=True``, or the one given) grouped by a *batch sampler*
(`BatchSampler(sampler, batch_size, drop_last)`, or the one given); each list of indices
becomes one batch (``collate_fn`` of the samples). For N samples and batch size B an epoch
has ceil(N / B) batches, floor(N / B) with ``drop_last``; ``len(loader)`` is that count.
An `IterableDataset` is read in its own order, batch_size samples at a time.

Randomness follows torch's draws: every epoch's iterator first draws a 64-bit base seed
(torch's, for its workers) from ``generator`` (or the default generator), then the sampler
draws its order; so a seeded generator reproduces the whole sequence of epochs.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from typing import Any, Generic, TypeVar, cast

import numpy as np

from chainrule.data.base import Dataset, IterableDataset
from chainrule.data.collate import default_collate, default_convert
from chainrule.data.dataset import batch_fetcher
from chainrule.data.sampler import (
    BatchSampler,
    RandomSampler,
    SequentialSampler,
    draw_seed,
    index_chunks,
)
from chainrule.random import Generator
from chainrule.types import Batch, SampleKey

T_co = TypeVar("T_co", covariant=True)

__all__ = ["DataLoader", "get_worker_info"]


def get_worker_info() -> None:
    """Information about the current DataLoader worker process: None in the main process.

    chainrule makes every batch in the main process (for any ``num_workers``), so this is
    always None, which is what torch returns with ``num_workers=0``; a dataset that shards
    itself by worker (``if info is None: read everything``) reads everything once.
    """
    return None


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


class DataLoader(Generic[T_co]):
    """Mini-batches of a dataset.

    Args:
        dataset: map-style (``len`` and ``dataset[i]``) or an `IterableDataset`.
        batch_size (int or None): samples per batch B (default: 1), or None to yield
            single samples without collating (PyTorch's "automatic batching disabled").
        shuffle (bool): a new random order every epoch (a `RandomSampler`).
        sampler (iterable, optional): the indices each epoch visits, instead of shuffle.
        batch_sampler (iterable, optional): lists of indices, one per batch; excludes
            batch_size, shuffle, sampler and drop_last.
        num_workers (int): accepted and checked as torch checks it; batches are made in
            this process, so the batches and their order are the same for any value.
        collate_fn (callable, optional): merges a list of samples into a batch
            (`default_collate` if None; with batch_size=None it takes one sample, and
            `default_convert` is the default, as torch).
        pin_memory (bool): accepted; iterating warns as torch does without a GPU.
        drop_last (bool): drop the final batch when it has fewer than B samples.
        timeout (float): non-negative; as in torch, iterating with timeout > 0 and
            num_workers=0 fails (chainrule then waits for nothing: no workers).
        worker_init_fn (callable, optional): accepted; never called, as there are no
            worker processes (torch does not call it with num_workers=0 either).
        multiprocessing_context: accepted, unused.
        generator (Generator, optional): the random stream of the base seed and of the
            RandomSampler made for shuffle (the default generator if None).
        prefetch_factor (int, optional): only with num_workers > 0 (2 then, as torch).
        persistent_workers (bool): only with num_workers > 0.
        pin_memory_device (str), in_order (bool): accepted, unused.

    Batches of a `TensorDataset` (or a `Subset` of one) with the default collate_fn are
    fetched with one fancy-indexing operation per tensor, not sample by sample; they are
    the same lists of (B, ...) tensors.

    Example::

        loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
        for xb, yb in loader:   # xb: (32, features), yb: (32,)
            ...
    """

    def __init__(
        self,
        dataset: Dataset[T_co],
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Iterable[SampleKey] | None = None,
        batch_sampler: Iterable[Sequence[SampleKey]] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[..., Batch] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: object = None,
        generator: Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        _check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers)
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        self.dataset = dataset
        self.num_workers, self.pin_memory = int(num_workers), bool(pin_memory)
        self.timeout, self.worker_init_fn = timeout, worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.prefetch_factor, self.persistent_workers = prefetch_factor, persistent_workers
        self.pin_memory_device, self.in_order = pin_memory_device, in_order
        self.generator = generator

        if isinstance(dataset, IterableDataset):
            if shuffle not in {False, None}:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified shuffle option, "
                    f"but got shuffle={shuffle}"
                )
            if sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified sampler option, "
                    f"but got sampler={sampler}"
                )
            if batch_sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified batch_sampler "
                    f"option, but got batch_sampler={batch_sampler}"
                )
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive with "
                "drop_last"
            )
        elif batch_size is not None and (not _is_int(batch_size) or batch_size <= 0):
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size}"
            )

        if sampler is None and not isinstance(dataset, IterableDataset):
            sized = cast("Sized", dataset)  # a map-style dataset has a length
            sampler = (
                RandomSampler(sized, generator=generator) if shuffle else SequentialSampler(sized)
            )
        if batch_size is not None and batch_sampler is None and sampler is not None:
            batch_sampler = BatchSampler(sampler, int(batch_size), bool(drop_last))
            batch_sampler._made_by_loader = True  # type: ignore[attr-defined]
        self.batch_size = None if batch_size is None else int(batch_size)
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.collate_fn = collate_fn
        self.shuffle = shuffle

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)  # type: ignore[arg-type]
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        index_sampler = self.batch_sampler if self._auto_collation else self.sampler
        return len(index_sampler)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[Batch]:
        """One epoch. As torch's iterator, creating it draws the base seed at once; the
        sampler draws its order when the first batch is asked for."""
        if self.num_workers == 0 and self.timeout > 0:
            # torch's single-process iterator refuses a timeout (there is no worker to wait for)
            raise AssertionError(
                "_SingleProcessDataLoaderIter requires timeout == 0: a timeout only applies "
                "to worker processes (num_workers > 0)"
            )
        if self.pin_memory:  # torch's words: pinned memory is for copies to a GPU
            warnings.warn(
                "'pin_memory' argument is set as true but no accelerator is found, then "
                "device pinned memory won't be used.",
                stacklevel=2,
            )
        draw_seed(self.generator)
        if isinstance(self.dataset, IterableDataset):
            return self._stream()
        return self._mapped()

    def _mapped(self) -> Iterator[Batch]:
        if not self._auto_collation:  # batch_size=None: samples converted, not batched
            convert = self.collate_fn or default_convert
            for index in self.sampler:  # type: ignore[union-attr]
                yield convert(self.dataset[index])
            return
        fetch = batch_fetcher(self.dataset) if self.collate_fn is None else None
        collate = self.collate_fn or default_collate
        for indices in self._index_batches():
            if fetch is not None:
                yield list(fetch(np.asarray(indices)))
            else:
                yield collate([self.dataset[int(i)] for i in indices])

    def _index_batches(self) -> Iterator[Any]:
        """The batch sampler's lists of indices; for the loader's own BatchSampler over a
        Random- or SequentialSampler, the same batches sliced from the sampler's arrays,
        drawn at the same moments (a Python int per sample would cost ~10x the memory)."""
        sampler = self.batch_sampler
        chunks = None
        if isinstance(sampler, BatchSampler) and getattr(sampler, "_made_by_loader", False):
            chunks = index_chunks(sampler.sampler)
        if chunks is None:
            yield from sampler  # type: ignore[misc]
            return
        size, pending = self.batch_size or 1, None
        for chunk in chunks:
            pending = (
                chunk if pending is None or not len(pending) else np.concatenate([pending, chunk])
            )
            start = 0
            while len(pending) - start >= size:
                yield pending[start : start + size]
                start += size
            # keep only the short remainder (a copy: the epoch's big array can then go
            # before the sampler's next draw)
            pending = pending[start:].copy()
        if pending is not None and len(pending) and not self.drop_last:
            yield pending

    def _stream(self) -> Iterator[Batch]:
        samples = iter(self.dataset)
        if self.batch_size is None:
            yield from map(self.collate_fn or default_convert, samples)
            return
        collate = self.collate_fn or default_collate
        while True:
            batch = [sample for _, sample in zip(range(self.batch_size), samples, strict=False)]
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield collate(batch)

    def __repr__(self) -> str:
        stream = isinstance(self.dataset, IterableDataset)
        size = "a stream" if stream else str(len(cast("Sized", self.dataset)))
        return (
            f"DataLoader(dataset={type(self.dataset).__name__} of {size}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last})"
        )


def _check_worker_options(
    num_workers: Any, timeout: float, prefetch_factor: int | None, persistent_workers: bool
) -> None:
    """torch's checks of the worker options (which otherwise change nothing here)."""
    if not _is_int(num_workers) or num_workers < 0:
        raise ValueError(
            "num_workers option should be non-negative; use num_workers=0 to disable "
            "multiprocessing."
        )
    if timeout < 0:
        raise ValueError("timeout option should be non-negative")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError(
            "prefetch_factor option could only be specified in multiprocessing."
            "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor "
            "to None."
        )
    if num_workers > 0 and prefetch_factor is not None and prefetch_factor < 0:
        raise ValueError("prefetch_factor option should be non-negative")
    if persistent_workers and num_workers == 0:
        raise ValueError("persistent_workers option needs num_workers > 0")
