"""`DataLoader`: iterate over a dataset in (optionally shuffled) mini-batches, as PyTorch's.

For a dataset of N samples and batch size B, one epoch (one ``for batch in loader``) yields
ceil(N / B) batches, or floor(N / B) with ``drop_last=True`` (the last, smaller batch is
dropped); ``len(loader)`` is that count. With ``shuffle=True`` every epoch visits the samples
in a fresh random order drawn from `generator` (the default generator if None), so a seeded
generator reproduces the whole sequence of epochs; the draws are torch's, so after
``manual_seed(s)`` the batches come in the order torch's DataLoader gives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from chainrule.data.collate import default_collate
from chainrule.data.dataset import batch_fetcher
from chainrule.random import Generator, draws, resolve


class DataLoader:
    """Mini-batches of a map-style dataset.

    Args:
        dataset: supports ``len(dataset)`` and ``dataset[i]``.
        batch_size: samples per batch B (a positive int), or None to yield single samples
            without collating (PyTorch's "automatic batching disabled").
        shuffle: draw a new random order for every epoch.
        drop_last: drop the final batch when it has fewer than B samples.
        generator: the random stream used for shuffling (the default generator if None).
        collate_fn: merges a list of samples into a batch (`default_collate` if None).
        num_workers, pin_memory, timeout, worker_init_fn, multiprocessing_context,
            prefetch_factor, persistent_workers, pin_memory_device: PyTorch's worker and
            memory options, validated as PyTorch does; batches are made in this process, so
            the batches and their order are the same for any num_workers.
        sampler: an iterable of dataset indices giving each epoch's order instead of
            `shuffle` (e.g. a `DistributedSampler`); ``len(sampler)`` samples per epoch.

    Batches of a `TensorDataset` (or a `Subset` of one) are tuples of tensors of shape
    (B, ...), fetched with one fancy-indexing operation per tensor; other datasets are read
    sample by sample and merged by `collate_fn`.

    Example::

        loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
        for xb, yb in loader:   # xb: (32, features), yb: (32,)
            ...
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        generator: Generator | None = None,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        sampler: Iterable[int] | None = None,
        num_workers: int = 0,
        pin_memory: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: Any = None,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
    ) -> None:
        # PyTorch's worker and memory options change where batches are made, never which
        # batches or in what order: chainrule makes them in this process, so they are
        # checked as PyTorch checks them and otherwise have no effect.
        if not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
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
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.num_workers, self.pin_memory = int(num_workers), bool(pin_memory)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_size is not None and (
            not isinstance(batch_size, (int, np.integer))
            or isinstance(batch_size, bool)
            or batch_size <= 0
        ):
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size!r}"
            )
        if batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None disables automatic batching and is mutually exclusive with "
                "drop_last"
            )
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator
        self.collate_fn = collate_fn
        self.sampler = sampler

    def __len__(self) -> int:
        n = len(self.dataset) if self.sampler is None else len(self.sampler)  # type: ignore[arg-type]
        if self.batch_size is None:
            return n
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)

    def _order(self) -> np.ndarray:
        """The epoch's sample indices. Shuffled, they are `randperm(n)`'s permutation from
        the same draws (Generator.permutation(n) is arange(n) shuffled in place), built in
        int32 when n fits: the order is the one array of an epoch that grows with the data,
        and int32 halves it (4 bytes a sample, where randperm's int64 result plus its cast
        made a peak of 16; measured by benchmarks/fit_memory.py)."""
        if self.sampler is not None:
            return np.fromiter(self.sampler, dtype=np.int64)
        n = len(self.dataset)
        index_type = np.int32 if n < 2**31 else np.int64  # fit's memory: 4 bytes a row
        if not self.shuffle:
            return np.arange(n, dtype=index_type)
        if self.generator is None:  # torch's RandomSampler: a private generator per epoch,
            seed = int(resolve(None).random64(1)[0] % np.uint64(2**63))  # seeded from the default
            return draws.randperm(Generator().manual_seed(seed), n, index_type)
        return draws.randperm(self.generator, n, index_type)

    def __iter__(self) -> Iterator[Any]:
        """One epoch, drawing from the generators as torch's DataLoader does.

        torch's iterator draws a 64-bit base seed (for worker processes) from `generator`, or
        the default generator, when it is created; its RandomSampler then draws the order at
        the first batch (from `generator`, else from a fresh generator seeded by one draw of
        the default one) and, when the epoch runs to its end, one more permutation that it
        throws away. chainrule makes the same draws, so seeded streams stay in step with torch.
        """
        resolve(self.generator).random64(1)  # torch's _base_seed
        return self._epoch()

    def _epoch(self) -> Iterator[Any]:
        order = self._order()
        if self.batch_size is None:
            yield from (self.dataset[int(i)] for i in order)
        else:
            yield from self._batches(order, self.batch_size)
        if self.shuffle and self.sampler is None and self.generator is not None:
            draws.randperm(self.generator, len(order))  # RandomSampler's trailing permutation

    def _batches(self, order: np.ndarray, batch_size: int) -> Iterator[Any]:
        fetch = batch_fetcher(self.dataset) if self.collate_fn is None else None
        collate = self.collate_fn or default_collate
        stop = len(self) * batch_size
        for start in range(0, stop, batch_size):
            indices = order[start : start + batch_size]
            if fetch is not None:
                yield fetch(indices)
            else:
                yield collate([self.dataset[int(i)] for i in indices])

    def __repr__(self) -> str:
        return (
            f"DataLoader(dataset={type(self.dataset).__name__} of {len(self.dataset)}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last})"
        )
