"""Dropout: random zeroing during training."""

from __future__ import annotations

import numpy as np

from chainrule.random import Generator, draws, resolve
from chainrule.tensor import Tensor


def dropout(
    x: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    *,
    generator: Generator | None = None,
) -> Tensor:
    """Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p),
    so the expected value is unchanged and evaluation needs no rescaling.

    `inplace` is accepted for PyTorch compatibility; the result is always a new tensor.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    # torch's CPU dropout: a Bernoulli(1 - p) mask (a uniform double < 1 - p per element),
    # divided by 1 - p in the input's dtype: the same mask as torch for the same seed
    keep = draws.bernoulli_scalar(resolve(generator), tuple(x.shape), 1 - p)
    mask = keep.astype(x.dtype) / np.asarray(1 - p, dtype=x.dtype)
    return x * Tensor._make(mask, False)
