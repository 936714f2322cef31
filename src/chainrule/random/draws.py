"""torch's CPU transforms of the raw stream: uniform, integers, permutations, Bernoulli,
exponential and multinomial draws, each consuming the stream as torch does.

With ``random()`` a 32-bit draw and ``random64()`` a 64-bit one (see `generator`)::

    uniform [a, b)   float32: (random() & (2^24-1)) 2^-24 (b-a) + a        (one float fma)
                     (a value that rounds to b is returned as a: the range stays [a, b))
                     float64: (random64() & (2^53-1)) 2^-53 (b-a) + a
    integers [lo, hi)  random() % (hi-lo) + lo, or random64() when hi-lo >= 2^32
    randperm(n)      Fisher-Yates from the front: swap(r[i], r[i + random() % (n-i)]), i < n-1
    bernoulli(p)     uniform double < p   (a float32 tensor of p: a 24-bit uniform < p)
    exponential(l)   (-1/l) log1p(-u), u a uniform double
    multinomial      without replacement, or one sample: argmax / top-k of p / q, q ~ Exp(1)
                     (Gumbel-max in exponential form); with replacement: per row, each
                     sample the first index whose normalised cumulative sum is >= a uniform
                     double (cumulative sums in the weights' dtype)

Every element's draws come in row-major order, one element after another.
"""

from __future__ import annotations

import array
import math

import numpy as np

from chainrule.random.boxmuller import _fma32, fma64, libm, uniform01
from chainrule.random.generator import Generator
from chainrule.types import DTypeLike

_MANTISSA = {np.dtype(np.float16): 11, np.dtype(np.float32): 24, np.dtype(np.float64): 53}


def uniform(
    generator: Generator, shape: tuple[int, ...], dtype: np.dtype, low: float = 0.0,
    high: float = 1.0,
) -> np.ndarray:  # fmt: skip
    """U(low, high) of ``shape``: float64 from 53-bit draws, other floats from 24-bit ones
    (computed in float32, then rounded: float16 as torch)."""
    n = math.prod(shape)
    dtype = np.dtype(dtype)
    if low == 0 and high == 1 and dtype in (np.float32, np.float64):
        return uniform01(generator, n, dtype).reshape(shape)  # x (1 - 0) + 0 is x, below 1
    if dtype == np.float64:
        x = uniform01(generator, n, np.dtype(np.float64))
        out = fma64(x, high - low, low)
        return np.where(out == high, low, out).reshape(shape)  # [low, high): torch's rule
    x = uniform01(generator, n, np.dtype(np.float32))  # float16 too: 24 bits, then rounded
    a, b = np.float32(dtype.type(low)), np.float32(dtype.type(high))  # torch casts the bounds
    out = _fma32(x, b - a, a).astype(dtype)  # torch's kernel fuses x (b - a) + a
    return np.where(out == dtype.type(b), dtype.type(a), out).reshape(shape)


def integers(
    generator: Generator, low: int, high: int, shape: tuple[int, ...], wide: bool = True
) -> np.ndarray:
    """Integers on [low, high) as int64; ``wide`` dtypes (int64, float, double) take 64-bit
    draws when the range needs them, as torch's uniform_int_from_to."""
    span = int(high) - int(low)
    if span <= 0:
        raise RuntimeError(
            f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
        )
    n = math.prod(shape)
    raw = generator.random64(n) if (wide and span >= 2**32) else generator.random32(n)
    values = (raw % np.uint64(span)).astype(np.int64) + np.int64(low)
    return values.reshape(shape)


def full_range(generator: Generator, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """``random_()`` with no bounds: [0, 2^mantissa] for floats, [0, max] for integers."""
    dtype = np.dtype(dtype)
    n = math.prod(shape)
    if dtype == np.bool_:
        return (generator.random32(n) & np.uint64(1)).astype(bool).reshape(shape)
    if dtype.kind == "f":
        bits = _MANTISSA.get(dtype, 24)
        raw = generator.random64(n) if dtype == np.float64 else generator.random32(n)
        return (raw % np.uint64((1 << bits) + 1)).astype(dtype).reshape(shape)
    top = int(np.iinfo(dtype).max) + 1
    raw = generator.random64(n) if dtype == np.int64 else generator.random32(n)
    return (raw % np.uint64(top)).astype(dtype).reshape(shape)


def randperm(generator: Generator, n: int, dtype: DTypeLike = np.int64) -> np.ndarray:
    """A permutation of 0..n-1 by torch's forward Fisher-Yates (n-1 draws), as ``dtype``.

    Each swap depends on the ones before it, so the loop is sequential; the draws and the
    modulo are vectorised and the swaps run in Python (about 0.4 us a swap: 25 ms for
    60,000). Past 65,536 the permutation lives in a typed array (4 or 8 bytes a row, not a
    list's 36) and the draws and swap partners are made a chunk at a time, so memory stays
    near the result's (4 bytes a row for int32).
    """
    n = int(n)
    if n < 0:
        raise RuntimeError(f"randperm expects n >= 0, but got n={n}")
    dtype = np.dtype(dtype)
    if n < 2:
        return np.arange(n, dtype=dtype)
    wide = n >= 2**32 // 20  # torch draws 64-bit numbers for such n

    def draw(count: int) -> np.ndarray:  # the stream is sequential: chunks draw the same
        return generator.random64(count) if wide else generator.random32(count)

    if n <= 65_536:
        targets = (draw(n - 1) % np.arange(n, 1, -1, dtype=np.uint64)).astype(np.int64)
        targets += np.arange(n - 1, dtype=np.int64)  # step i swaps with i + draw % (n - i)
        order = list(range(n))
        for i, j in enumerate(targets.tolist()):
            order[i], order[j] = order[j], order[i]
        return np.array(order, dtype=dtype)
    own = np.int32 if n < 2**31 else np.int64
    slots = array.array("i" if own is np.int32 else "q")
    slots.frombytes(np.arange(n, dtype=own).data.cast("B"))  # 0..n-1, no Python int a row
    for start in range(0, n - 1, 65_536):  # draws and swap partners a chunk at a time: no
        stop = min(start + 65_536, n - 1)  # n-sized temporaries beside the result
        spans = np.arange(n - start, n - stop, -1, dtype=np.uint64)
        partners = (draw(stop - start) % spans).astype(np.int64)
        partners += np.arange(start, stop, dtype=np.int64)
        for i, j in enumerate(partners.tolist(), start):
            slots[i], slots[j] = slots[j], slots[i]
    return np.frombuffer(slots, dtype=own).astype(dtype, copy=False)


def bernoulli_scalar(generator: Generator, shape: tuple[int, ...], p: float) -> np.ndarray:
    """True with probability p per element: a uniform double < p."""
    return (uniform01(generator, math.prod(shape), np.dtype(np.float64)) < p).reshape(shape)


def bernoulli_tensor(generator: Generator, p: np.ndarray) -> np.ndarray:
    """True with probability p[i] per element; float64 p compares a 53-bit uniform, any
    other dtype a 24-bit uniform in float."""
    p = np.asarray(p)
    if p.dtype == np.float64:
        return uniform01(generator, p.size, p.dtype).reshape(p.shape) < p
    u = uniform01(generator, p.size, np.dtype(np.float32)).reshape(p.shape)
    return u < p.astype(np.float32)


def exponential(
    generator: Generator, shape: tuple[int, ...], lambd: float, dtype: np.dtype
) -> np.ndarray:
    """Exp(lambd) samples: (-1/lambd) log1p(-u) in double, rounded to ``dtype``."""
    u = uniform01(generator, math.prod(shape), np.dtype(np.float64))
    values = (-1.0 / lambd) * libm(math.log1p, -u)
    return values.astype(dtype).reshape(shape)


def multinomial(
    generator: Generator, weights: np.ndarray, num_samples: int, replacement: bool
) -> np.ndarray:
    """Indices drawn by the (unnormalised) weights of each row; weights is (rows, n)."""
    rows, n = weights.shape
    if not replacement or num_samples == 1:
        q = exponential(generator, weights.shape, 1.0, weights.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            keys = weights / q
        if num_samples == 1:
            return np.argmax(keys, axis=1).reshape(rows, 1)
        return np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    cdf = np.cumsum(weights, axis=1, dtype=weights.dtype)  # torch sums in the weights' dtype
    cdf = cdf / cdf[:, -1:]
    cdf[:, -1] = 1
    u = uniform01(generator, rows * num_samples, np.dtype(np.float64)).reshape(rows, num_samples)
    cdf64 = cdf.astype(np.float64)
    picks = np.stack([np.searchsorted(c, r, side="left") for c, r in zip(cdf64, u, strict=True)])
    return picks.astype(np.int64)
