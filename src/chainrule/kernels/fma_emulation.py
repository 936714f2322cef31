"""a·b + c rounded once, in NumPy's own operations (no fma ufunc exists): the fallback of
`chainrule.kernels.fma.fma_numpy` where OpenBLAS's axpy is missing or not exact, and the
reference that axpy is verified against (`chainrule.kernels.axpy`).

**float32**: the product of two float32 numbers is exact in float64 (24 + 24 bits < 53),
so x = a·b + c is a sum of two float64 numbers. Its float64 sum s = RN(x), rounded to
float32, is RN32(x) unless s is exactly a float32 halfway point (then x may lie on
either side of it) or float32-subnormal; only those values (about one in 2^28 of random
ones, and the crafted cases of the tests) take the exact path: the error e = x - s from
Knuth's TwoSum (``t = s - p; e = (p - (s - t)) + (c - t)``), then s rounded to odd
(when e ≠ 0 and s's last bit is even, s steps one ulp towards e: the neighbour on x's
side, whose last bit is odd) gives RO(x), and rounding an odd-rounded value to a format
at least two bits narrower is the correct rounding of x itself (Boldo & Melquiond,
"Emulation of FMA and correctly rounded sums: proved algorithms using rounding to odd",
IEEE Trans. Computers 57(4), 2008): float32(RO(x)) = RN32(x), subnormals included.

**float64**: the same paper's emulated FMA in one precision: (uh, ul) = a·b exactly
(Dekker's product with Veltkamp's split), (th, tl) = c + uh exactly (TwoSum),
v = RO(tl + ul), result = RN(th + v). Exact while the product is neither tiny
(|a·b| ≥ 2^-969, so ``ul`` does not underflow) nor huge (|a|, |b| < 2^995, so the split
does not overflow); SGD's updates are far from both.

NaN and infinities pass through as the plain operations give them (the odd step is taken
only where the error is finite and non-zero). The emulation makes about 10 passes over
memory for float32 (in float64 temporaries) and 40 for float64: over 235,146 values
1.4 ms and 9.4 ms, against 0.17 and 0.52 for NumPy's two-rounding ``p -= lr * g`` (3
December 2026). So `fma_numpy` calls it only where OpenBLAS's axpy is missing or not
exact (`chainrule.kernels.axpy`: one call, 39 µs for float32 there; NumPy's wheels
bundle an OpenBLAS whose axpy was exact on every machine it was probed on here).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["fma_emulated"]


def _odd_step(s: np.ndarray, e: np.ndarray) -> None:
    """s ← RO(s + e) in place, for s = RN(x) and e = x - s exactly: where e is finite and
    non-zero and s's last bit is even, s moves one ulp towards e (its magnitude up when e
    has s's sign, down otherwise)."""
    bits = s.view(np.int64)
    inexact = np.abs(e) < np.inf
    inexact &= e != 0
    inexact &= (bits & 1) == 0
    if not inexact.any():
        return
    outward = np.signbit(e) == np.signbit(s)
    bits += np.where(outward, 1, -1) * inexact  # even ± 1: odd, the neighbour on e's side


def _two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(s, e) with s = RN(a + b) and a + b = s + e exactly (Knuth)."""
    s = a + b
    t = s - a
    e = (a - (s - t)) + (b - t)
    return s, e


_SPLIT = 134217729.0  # 2^27 + 1: Veltkamp's constant for 53-bit halves of 26 and 27 bits


def _two_product(a: np.ndarray, b: float) -> tuple[np.ndarray, np.ndarray]:
    """(p, e) with p = RN(a·b) and a·b = p + e exactly (Dekker, Veltkamp's split)."""
    p = a * b
    big = a * _SPLIT
    a_high = big - (big - a)
    a_low = a - a_high
    scaled = b * _SPLIT
    b_high = scaled - (scaled - b)
    b_low = b - b_high
    e = ((a_high * b_high - p) + a_high * b_low + a_low * b_high) + a_low * b_low
    return p, e


def fma_emulated(a: np.ndarray, b: Any, c: np.ndarray, out: np.ndarray) -> np.ndarray:
    """`fma_numpy` in NumPy's own operations (the module's two methods); ``out`` may be
    ``a`` or ``c``. Returns ``out``."""
    with np.errstate(invalid="ignore", over="ignore"):  # NaN and inf pass through
        arrays = (a, c, out)
        if out.size <= _BLOCK or not all(x.flags.c_contiguous for x in arrays):
            return _emulate(a, b, c, out)
        # block by block, so the temporaries stay in the cache (235,146 values, this
        # module's passes alone: float32 1.4 ms against 1.8 whole, float64 9.4 against 26)
        flat_a, flat_c, flat_out = (x.reshape(-1) for x in arrays)
        for start in range(0, out.size, _BLOCK):
            block = slice(start, start + _BLOCK)
            _emulate(flat_a[block], b, flat_c[block], flat_out[block])
        return out


_BLOCK = 16_384  # values: a float64 temporary of 128 KiB (8,192 and 32,768 were slower)


_HALF_BITS, _HALFWAY = 0x1FFFFFFF, 0x10000000  # float64's 29 bits below float32's last
_FLOAT32_TINY = float(np.finfo(np.float32).tiny)


def _fma32(a: np.ndarray, b: Any, c: np.ndarray) -> np.ndarray:
    """a·b + c for float32 arrays rounded once, in float32: s = RN64(a·b + c) (the product
    exact), rounded to float32, is the correct rounding wherever s is no float32 halfway
    point (a halfway point between x and s would be a float64 number nearer to x than s),
    nor float32-subnormal; those few values take the round-to-odd path."""
    s = np.multiply(a, np.float64(b), dtype=np.float64)  # exact: 24 + 24 bits
    s += c
    doubtful = s.view(np.int64) & _HALF_BITS == _HALFWAY
    doubtful |= (np.abs(s) < _FLOAT32_TINY) & (s != 0)  # s = 0: x = 0 (no underflow)
    result = s.astype(np.float32)
    where = np.flatnonzero(doubtful)
    if where.size:
        exact = np.multiply(a.flat[where], np.float64(b), dtype=np.float64)
        sums, errors = _two_sum(exact, c.flat[where].astype(np.float64))
        _odd_step(sums, errors)
        result.flat[where] = sums  # RN32 of RO53: the correct rounding
    return result


def _emulate(a: np.ndarray, b: Any, c: np.ndarray, out: np.ndarray) -> np.ndarray:
    if out.dtype == np.float32:
        np.copyto(out, _fma32(a, b, c))
        return out
    high, low = _two_product(np.asarray(a, np.float64), float(b))
    th, tl = _two_sum(np.asarray(c, np.float64), high)
    v, e = _two_sum(tl, low)
    _odd_step(v, e)
    # th = RN(c + RN(a·b)): where it is NaN or infinite it is the answer (the error terms
    # are NaN there)
    np.copyto(out, np.where(np.isfinite(th), th + v, th))
    return out
