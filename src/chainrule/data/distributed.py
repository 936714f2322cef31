"""`DistributedSampler`: each rank's share of a dataset's indices, as PyTorch's sampler.

For N samples and W ranks, every rank gets S = ceil(N / W) indices (with ``drop_last``,
floor(N / W)), so all ranks run the same number of batches (a rank with fewer would leave
the others waiting in a gradient allreduce). One epoch's order::

    order   = randperm(N) seeded with seed + epoch   (0, 1, ..., N-1 without shuffle)
    order   = order repeated cyclically to W·S entries      (padding; drop_last: cut to W·S)
    rank r  = order[r], order[r + W], order[r + 2W], ...     (S indices, strided)

So with N = 10 and W = 4, S = 3: two samples appear twice in the epoch (the padding), as
in PyTorch. The strided split and the padding are PyTorch's exactly (the tests compare
with torch.utils.data.DistributedSampler), and so is the shuffled order: `randperm` draws
torch's permutation for the same seed.
Call ``set_epoch(epoch)`` before each epoch for a new order (the same on every rank).
"""

from __future__ import annotations

from collections.abc import Iterator, Sized
from typing import TypeVar

import numpy as np

from chainrule.creation import randperm
from chainrule.data.base import Dataset
from chainrule.data.loader import DataLoader
from chainrule.random import Generator
from chainrule.types import Batch

T_co = TypeVar("T_co", covariant=True)

__all__ = ["DistributedSampler", "ShardedLoader"]


class DistributedSampler:
    """The indices of rank `rank`'s share of `dataset` (see the module docstring).

    Args:
        dataset: anything with ``len``.
        num_replicas, rank: the world size and this rank (from `chainrule.distributed`'s
            process group if None).
        shuffle: a fresh order every epoch (seeded by seed + epoch, equal on every rank).
        seed: the shuffling seed; must be the same on every rank.
        drop_last: drop the tail that does not divide evenly instead of padding.
    """

    def __init__(
        self,
        dataset: Sized,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None or rank is None:
            from chainrule import distributed

            num_replicas = distributed.get_world_size() if num_replicas is None else num_replicas
            rank = distributed.get_rank() if rank is None else rank
        if num_replicas < 1:
            raise ValueError(f"num_replicas must be >= 1, got {num_replicas}")
        if not 0 <= rank < num_replicas:
            raise ValueError(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]"
            )
        self.dataset = dataset
        self.num_replicas, self.rank = int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        self.num_samples = n // self.num_replicas if self.drop_last else -(-n // self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Use the order of `epoch` next (call it on every rank before each epoch)."""
        self.epoch = int(epoch)

    def indices(self) -> np.ndarray:
        """This rank's indices for the current epoch, as an int64 array."""
        n = len(self.dataset)
        if self.shuffle:
            order = randperm(n, generator=Generator().manual_seed(self.seed + self.epoch))
            order_array = order.detach().numpy().astype(np.int64)
        else:
            order_array = np.arange(n, dtype=np.int64)
        if self.drop_last:
            order_array = order_array[: self.total_size]
        elif n:
            order_array = np.resize(order_array, self.total_size)  # cyclic repetition
        return order_array[self.rank : self.total_size : self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples


class ShardedLoader(DataLoader[T_co]):
    """The batches of ``DataLoader(dataset, batch_size, shuffle, generator=...)``, each cut
    into `num_replicas` contiguous pieces, of which this yields piece `rank`.

    Every rank draws the same order from its (identically seeded) generator, so together
    the ranks see exactly the single-process run's batches: a global batch of m samples
    gives rank r the rows [⌊r·m/W⌋, ⌊(r+1)·m/W⌋) (sizes differing by at most one; empty on
    some ranks when m < W). `chainrule train --nproc` trains on these, so that its result
    equals the one-process run on the same global batch; a `DistributedSampler` instead
    gives each rank its own batches of its own samples (PyTorch's way).
    """

    def __init__(
        self,
        dataset: Dataset[T_co],
        batch_size: int,
        shuffle: bool = False,
        generator: Generator | None = None,
        *,
        num_replicas: int,
        rank: int,
    ) -> None:
        super().__init__(dataset, batch_size, shuffle=shuffle, generator=generator)
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank must be in 0..{num_replicas - 1}, got {rank}")
        self.num_replicas, self.rank = num_replicas, rank

    def __iter__(self) -> Iterator[tuple[Batch, ...]]:
        for batch in super().__iter__():
            m = len(batch[0])
            start = self.rank * m // self.num_replicas
            stop = (self.rank + 1) * m // self.num_replicas
            yield tuple(column[start:stop] for column in batch)
