"""Random sampling in place (normal_, uniform_, bernoulli_ ...) and multinomial."""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.random import Generator, boxmuller, draws, resolve
from chainrule.random.boxmuller import libm
from chainrule.tensor import Tensor
from chainrule.tensor_methods._common import _array, _plain, method


def _gen(generator: Generator | None) -> Generator:
    return resolve(generator)


def _fill(self: Tensor, make: Callable[[tuple[builtins.int, ...]], np.ndarray]) -> Tensor:
    """Fill self with ``make(shape)``, drawn in self's memory order as torch's iterator
    visits a strided tensor (a transposed view is filled along its storage)."""
    data = self._data
    if data.ndim < 2 or data.flags.c_contiguous:
        values = make(tuple(data.shape))
    else:
        order = sorted(range(data.ndim), key=lambda d: -abs(data.strides[d]))
        drawn = make(tuple(data.shape[d] for d in order))
        values = np.transpose(drawn, np.argsort(order))
    return self.copy_(_plain(np.asarray(values).astype(self.dtype, copy=False)))


def _contiguous(self: Tensor) -> bool:
    return bool(self._data.flags.c_contiguous)


def _moved(self: Tensor, p: np.ndarray) -> np.ndarray:
    """p broadcast to self, its axes in the order `_fill` draws them."""
    data, p = self._data, np.broadcast_to(p, self.shape)
    if data.ndim < 2 or data.flags.c_contiguous:
        return p
    return np.transpose(p, sorted(range(data.ndim), key=lambda d: -abs(data.strides[d])))


@method("normal_")
def normal_(
    self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator: Generator | None = None
) -> Tensor:
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    gen, contiguous = _gen(generator), _contiguous(self)
    return _fill(
        self,
        lambda shape: boxmuller.normal(gen, shape, self.dtype, float(mean), float(std), contiguous),
    )


@method("uniform_")
def uniform_(
    self: Tensor,
    from_: float = 0.0,
    to: float = 1.0,
    *,
    generator: Generator | None = None,
    **kw: float,
) -> Tensor:
    from_ = kw.get("from", from_)
    if from_ > to:
        raise RuntimeError(
            f"uniform_ expects to return a [from, to) range, but found from={from_} > to={to}"
        )
    gen = _gen(generator)
    return _fill(self, lambda shape: draws.uniform(gen, shape, self.dtype, from_, to))


@method("bernoulli_")
def bernoulli_(self: Tensor, p: Any = 0.5, *, generator: Generator | None = None) -> Tensor:
    gen = _gen(generator)
    if isinstance(p, Tensor):
        probability = _moved(self, _array(p))
        return _fill(self, lambda shape: draws.bernoulli_tensor(gen, probability))
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    return _fill(self, lambda shape: draws.bernoulli_scalar(gen, shape, float(p)))


@method("exponential_")
def exponential_(self: Tensor, lambd: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    gen = _gen(generator)
    return _fill(self, lambda shape: draws.exponential(gen, shape, lambd, self.dtype))


@method("log_normal_")
def log_normal_(
    self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator: Generator | None = None
) -> Tensor:
    """exp of the scalar normal sampler (torch's lognormal_distribution)."""
    gen = _gen(generator)

    def make(shape: tuple[builtins.int, ...]) -> np.ndarray:
        return libm(math.exp, boxmuller.scalar_normals(gen, math.prod(shape), mean, std))

    return _fill(self, lambda shape: make(shape).reshape(shape))


@method("cauchy_")
def cauchy_(
    self: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator: Generator | None = None
) -> Tensor:
    """median + sigma tan(pi (u - 1/2)), u a uniform double."""
    gen = _gen(generator)

    def make(shape: tuple[builtins.int, ...]) -> np.ndarray:
        u = boxmuller.uniform01(gen, math.prod(shape), np.dtype(np.float64))
        return (median + sigma * libm(math.tan, math.pi * (u - 0.5))).reshape(shape)

    return _fill(self, make)


@method("geometric_")
def geometric_(self: Tensor, p: float, *, generator: Generator | None = None) -> Tensor:
    """ceil(log(u) / log(1 - p)), u a uniform double: the number of trials to a success."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    gen = _gen(generator)

    def make(shape: tuple[builtins.int, ...]) -> np.ndarray:
        u = boxmuller.uniform01(gen, math.prod(shape), np.dtype(np.float64))
        return np.ceil(libm(math.log, u) / math.log(1 - p)).reshape(shape)

    return _fill(self, make)


@method("random_")
def random_(
    self: Tensor,
    from_: Any = None,
    to: Any = None,
    *,
    generator: Generator | None = None,
    **kw: Any,
) -> Tensor:
    """Integers on [from, to), on [0, to) for random_(to), else over the dtype's range
    ([0, 2^mantissa] for floats, [0, max] for integers)."""
    low = kw.get("from", from_)
    wide = self.dtype in (np.int64, np.float32, np.float64)
    gen = _gen(generator)
    if to is None and low is None:
        return _fill(self, lambda shape: draws.full_range(gen, shape, self.dtype))
    if to is None:
        low, to = 0, low
    return _fill(self, lambda shape: draws.integers(gen, int(low), int(to), shape, wide))


@method("bernoulli")
def bernoulli(self: Tensor, p: Any = None, *, generator: Generator | None = None) -> Tensor:
    """Samples 1 with probability self (or p) elementwise, as self's dtype."""
    if p is None:
        hits = draws.bernoulli_tensor(_gen(generator), _array(self))
    elif isinstance(p, Tensor):
        probability = np.broadcast_to(_array(p), self.shape)
        hits = draws.bernoulli_tensor(_gen(generator), probability)
    else:
        hits = draws.bernoulli_scalar(_gen(generator), self.shape, float(p))
    return _plain(hits.astype(self.dtype))


@method("multinomial")
def multinomial(
    self: Tensor,
    num_samples: builtins.int,
    replacement: builtins.bool = False,
    *,
    generator: Generator | None = None,
) -> Tensor:
    """Sample indices by the (unnormalised) weights in each row of self, as torch draws them.

    Without replacement (or for one sample): the top ``num_samples`` of ``w / q`` per row,
    q ~ Exp(1) (Gumbel-max); with replacement: per sample, the first index whose normalised
    cumulative weight reaches a uniform number. See `chainrule.random.draws`.
    """
    weights = _array(self)
    if weights.dtype.kind != "f":
        raise RuntimeError("multinomial only supports floating-point dtypes for input")
    if weights.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    rows = weights.reshape(-1, weights.shape[-1])
    if (rows < 0).any() or not np.isfinite(rows).all():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    totals = rows.sum(1)
    if (totals <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    n = rows.shape[1]
    if not replacement and num_samples > n:
        raise RuntimeError(
            "cannot sample n_sample > prob_dist.size(-1) samples without replacement"
        )
    if not replacement and (np.count_nonzero(rows, axis=1) < num_samples).any():
        raise RuntimeError(
            "invalid multinomial distribution (with replacement=False, not enough "
            "non-negative category to sample)"
        )
    picks = draws.multinomial(_gen(generator), rows, int(num_samples), bool(replacement))
    return _plain(picks.reshape(weights.shape[:-1] + (num_samples,)).astype(np.int64))
