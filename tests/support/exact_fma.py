"""The fused multiply-add a·b + c rounded once, computed exactly with fractions: the
reference for chainrule.kernels.fma and for SGD's steps (torch's ``add(..., alpha=)``).

Slow (a Python loop of `fractions.Fraction` arithmetic, ~20 µs a value): for a few
thousand values. Finite inputs only; results must be finite and normal or subnormal in
the dtype (no overflow handling)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

__all__ = ["exact_fma", "round_to"]


def round_to(x: Fraction, dtype: type) -> np.floating:
    """x rounded to nearest in `dtype` (float32 or float64), ties to even."""
    if dtype is np.float64:
        return np.float64(float(x))  # int / int in Python is correctly rounded
    # float64's rounding can land beside float32's (a double rounding): of the float32
    # nearest to it and its two neighbours, take the nearest to x, the even one on a tie
    guess = np.float32(float(x))
    candidates = [
        np.nextafter(guess, np.float32(-np.inf)),
        guess,
        np.nextafter(guess, np.float32(np.inf)),
    ]

    def key(value: np.float32) -> tuple[Fraction, int]:
        odd = int(np.array(value).view(np.int32)) & 1
        return abs(Fraction(float(value)) - x), odd

    return min(candidates, key=key)


def exact_fma(a: np.ndarray, b: float | np.ndarray, c: np.ndarray) -> np.ndarray:
    """a·b + c elementwise, rounded once to c's dtype; ``b`` a scalar or an array."""
    dtype = c.dtype.type
    a, b, c = np.broadcast_arrays(np.asarray(a), np.asarray(b, c.dtype), c)
    out = np.empty(c.shape, dtype)
    for index in np.ndindex(c.shape):
        exact = Fraction(float(a[index])) * Fraction(float(b[index])) + Fraction(float(c[index]))
        out[index] = round_to(exact, dtype)
    return out
