"""Samplers, as `torch.utils.data`: which dataset indices an epoch visits, in what order.

`SequentialSampler` (0, 1, …, N-1), `RandomSampler` (a permutation, or draws with
replacement), `SubsetRandomSampler` (a permutation of given indices),
`WeightedRandomSampler` (indices drawn by weight) and `BatchSampler` (groups another
sampler's indices into lists of batch_size).

The random ones draw from chainrule's generator functions at the points where torch's
draw (``randperm``, ``randint``, ``multinomial`` with ``generator=``; without a generator,
RandomSampler seeds a fresh one from one draw of the default generator, as torch does),
so the same seeds give torch's orders once the streams are torch's.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Generic, TypeVar

import numpy as np

from chainrule import creation, dtypes
from chainrule.random import Generator
from chainrule.tensor import Tensor

__all__ = [
    "BatchSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "draw_seed",
    "index_chunks",
]


def _tolist(t: Tensor) -> list[int]:
    return [int(i) for i in t.tolist()]


def index_chunks(sampler: Iterable[object]) -> Iterator[np.ndarray] | None:
    """A sampler's epoch as arrays (see `RandomSampler.chunks`), for the samplers that can
    give one; None for others (they are iterated index by index)."""
    if isinstance(sampler, RandomSampler):
        return sampler.chunks()
    if isinstance(sampler, SequentialSampler):
        n = len(sampler)
        return iter([np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)])
    return None


def draw_seed(generator: Generator | None = None) -> int:
    """One 63-bit seed from ``generator`` (the default one if None): torch's
    ``torch.empty((), dtype=torch.int64).random_(generator=...)``."""
    return int(creation.empty((), dtype=dtypes.int64).random_(generator=generator).item())


T_co = TypeVar("T_co", covariant=True)


class Sampler(Generic[T_co]):
    """Base class: an iterable of dataset indices (``__iter__``; ``__len__`` if known);
    ``Sampler[int]`` yields positions, ``Sampler[list[int]]`` batches of them."""

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError


class SequentialSampler(Sampler[int]):
    """0, 1, …, len(data_source) - 1."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """A random order of the N indices of ``data_source``.

    Without replacement: ⌊num_samples / N⌋ full permutations, then the first
    num_samples mod N of one more (drawn even when that is 0, as torch). With
    replacement: num_samples uniform draws from 0..N-1, in chunks of 32 (torch's chunks,
    so the stream is consumed identically).

    Args:
        data_source: the dataset (only its length is used).
        replacement (bool): draw with replacement (default: False).
        num_samples (int, optional): indices per epoch (default: N).
        generator (Generator, optional): the random stream; if None, each epoch seeds a
            fresh generator from one draw of the default one.
    """

    def __init__(
        self,
        data_source: Sized,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: Generator | None = None,
    ) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(
                f"replacement should be a boolean value, but got replacement={self.replacement}"
            )
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(
                "num_samples should be a positive integer value, but got "
                f"num_samples={self.num_samples}"
            )

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        for chunk in self.chunks():
            yield from chunk.tolist()

    def chunks(self) -> Iterator[np.ndarray]:
        """The epoch's indices as torch draws them, one array a draw (each drawn only when
        the previous one has been used up, as torch's generator-based sampler does): the
        DataLoader slices batches out of these without making a Python int per sample."""
        n = len(self.data_source)
        generator = self.generator
        if generator is None:
            generator = Generator().manual_seed(draw_seed())
        if self.replacement:
            for _ in range(self.num_samples // 32):
                yield creation.randint(0, n, (32,), generator=generator)._data
            rest = self.num_samples % 32
            yield creation.randint(0, n, (rest,), generator=generator)._data
        else:
            # int32 when it fits: the order is the one array of an epoch that grows with the
            # data; torch's permutation does not depend on the dtype it is written in
            dtype = dtypes.int32 if n < 2**31 else dtypes.int64
            for _ in range(self.num_samples // n):
                yield creation.randperm(n, generator=generator, dtype=dtype)._data
            tail = creation.randperm(n, generator=generator, dtype=dtype)._data
            yield tail[: self.num_samples % n]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """The given indices in a random order (a fresh permutation every epoch).

    Args:
        indices (sequence): dataset indices.
        generator (Generator, optional): the random stream (the default one if None).
    """

    def __init__(self, indices: Sequence[int], generator: Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        for i in _tolist(creation.randperm(len(self.indices), generator=self.generator)):
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler[int]):
    """num_samples indices drawn with probability proportional to ``weights``.

    Index i comes with probability w_i / Σw (``multinomial``; with ``replacement=False``
    each index at most once). Useful to rebalance classes: weight each sample by
    1 / (its class's count).

    Args:
        weights (sequence): one non-negative weight per index (not necessarily summing to 1).
        num_samples (int): indices per epoch.
        replacement (bool): draw with replacement (default: True).
        generator (Generator, optional): the random stream (the default one if None).
    """

    def __init__(
        self,
        weights: Sequence[float] | np.ndarray | Tensor,
        num_samples: int,
        replacement: bool = True,
        generator: Generator | None = None,
    ) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(
                f"num_samples should be a positive integer value, but got num_samples={num_samples}"
            )
        if not isinstance(replacement, bool):
            raise ValueError(
                f"replacement should be a boolean value, but got replacement={replacement}"
            )
        weights_tensor = creation.as_tensor(
            weights.detach().numpy() if isinstance(weights, Tensor) else weights,
            dtype=dtypes.float64,
        )
        if weights_tensor.ndim != 1:
            raise ValueError(
                "weights should be a 1d sequence but given weights have shape "
                f"{tuple(weights_tensor.shape)}"
            )
        self.weights = weights_tensor
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        drawn = self.weights.multinomial(
            self.num_samples, self.replacement, generator=self.generator
        )
        yield from _tolist(drawn)

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list[int]]):
    """Lists of ``batch_size`` indices from another sampler (the last one shorter, or
    dropped with ``drop_last``).

    Example::

        list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False))
        # [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    """

    def __init__(
        self, sampler: Sampler[int] | Iterable[int], batch_size: int, drop_last: bool
    ) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size}"
            )
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        # the sampler is read to its end either way, so a random one finishes its draws
        indices = iter(self.sampler)
        if self.drop_last:
            yield from (list(batch) for batch in zip(*[indices] * self.batch_size, strict=False))
            return
        batch = list(itertools.islice(indices, self.batch_size))
        while batch:
            yield batch
            batch = list(itertools.islice(indices, self.batch_size))

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return (
            n // self.batch_size if self.drop_last else (n + self.batch_size - 1) // self.batch_size
        )
