"""Random sampling in place (normal_, uniform_, bernoulli_ ...) and multinomial."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from chainrule.random import Generator, numpy_stream
from chainrule.tensor import Tensor
from chainrule.tensor_methods._common import _array, _plain, method


def _stream(generator: Generator | None) -> np.random.Generator:
    return numpy_stream(generator)


def _fill_random(self: Tensor, values: np.ndarray) -> Tensor:
    return self.copy_(_plain(np.asarray(values).astype(self.dtype, copy=False)))


@method("normal_")
def normal_(
    self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator: Generator | None = None
) -> Tensor:
    return _fill_random(self, _stream(generator).normal(mean, std, self.shape))


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
    return _fill_random(self, _stream(generator).uniform(from_, to, self.shape))


@method("bernoulli_")
def bernoulli_(self: Tensor, p: Any = 0.5, *, generator: Generator | None = None) -> Tensor:
    probability = _array(p)
    return _fill_random(self, _stream(generator).random(self.shape) < probability)


@method("exponential_")
def exponential_(self: Tensor, lambd: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    return _fill_random(self, _stream(generator).exponential(1 / lambd, self.shape))


@method("log_normal_")
def log_normal_(
    self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator: Generator | None = None
) -> Tensor:
    return _fill_random(self, _stream(generator).lognormal(mean, std, self.shape))


@method("cauchy_")
def cauchy_(
    self: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator: Generator | None = None
) -> Tensor:
    return _fill_random(self, median + sigma * _stream(generator).standard_cauchy(self.shape))


@method("geometric_")
def geometric_(self: Tensor, p: float, *, generator: Generator | None = None) -> Tensor:
    return _fill_random(self, _stream(generator).geometric(p, self.shape))


@method("random_")
def random_(
    self: Tensor,
    from_: builtins.int = 0,
    to: Any = None,
    *,
    generator: Generator | None = None,
    **kw: Any,
) -> Tensor:
    low = kw.get("from", from_)
    if to is None:  # random_(to) or random_(): [0, to) or the dtype's range
        low, to = (
            (0, low) if low else (0, 2**24 if self.dtype.kind == "f" else np.iinfo(self.dtype).max)
        )
    return _fill_random(self, _stream(generator).integers(low, to, self.shape))


@method("bernoulli")
def bernoulli(self: Tensor, p: Any = None, *, generator: Generator | None = None) -> Tensor:
    """Samples 1 with probability self (or p) elementwise, as self's dtype."""
    probability = _array(self) if p is None else p
    return _plain((_stream(generator).random(self.shape) < probability).astype(self.dtype))


@method("multinomial")
def multinomial(
    self: Tensor,
    num_samples: builtins.int,
    replacement: builtins.bool = False,
    *,
    generator: Generator | None = None,
) -> Tensor:
    """Sample indices by the (unnormalised) weights in each row of self.

    With replacement each draw is an inverse-CDF lookup of a uniform number; without, each
    row is a draw of `num_samples` distinct indices (NumPy's choice without replacement).
    """
    weights = _array(self).astype(np.float64)
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
    stream = _stream(generator)
    if replacement:
        cdf = np.cumsum(rows, axis=1)
        u = stream.random((rows.shape[0], num_samples)) * cdf[:, -1:]
        picks = np.stack([np.searchsorted(c, r, side="right") for c, r in zip(cdf, u, strict=True)])
        picks = np.minimum(picks, n - 1)
    else:
        if (np.count_nonzero(rows, axis=1) < num_samples).any():
            raise RuntimeError(
                "invalid multinomial distribution (with replacement=False, not enough "
                "non-negative category to sample)"
            )
        picks = np.stack(
            [stream.choice(n, num_samples, replace=False, p=r / r.sum()) for r in rows]
        )
    return _plain(picks.reshape(weights.shape[:-1] + (num_samples,)).astype(np.int64))
