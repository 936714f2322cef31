"""Normal samples as torch's CPU kernel draws them: Box-Muller, in blocks of 16 or one by one.

A contiguous tensor of n >= 16 elements is filled with n uniforms first, then transformed
16 at a time: with u the block's uniforms (torch's ``normal_fill``)::

    r_j = sqrt(-2 log(1 - u_j)),  theta_j = 2 pi u_{j+8}         (j = 0..7)
    out_j = r_j cos(theta_j) std + mean,  out_{j+8} = r_j sin(theta_j) std + mean

When 16 does not divide n, the last 16 values are redrawn (16 more uniforms) and transformed
again, overwriting the tail. float32 takes 24-bit uniforms and torch's AVX2 code path, whose
log and sincos are Cephes-style polynomials evaluated in float32 with fused multiply-adds
(``log256_ps``/``sincos256_ps``); `_log_f32` and `_sincos_f32` evaluate the same arithmetic
step by step in NumPy, so the results agree bit for bit. float64 takes 53-bit uniforms and
the C library's log/sin/cos.

Fewer than 16 elements (or a non-contiguous tensor, or any count when not float32/float64
in a block) go through the scalar sampler, which caches its second sample in the generator::

    u1, u2 uniform doubles;  r = sqrt(-2 log1p(-u2)),  theta = 2 pi u1
    returns r cos(theta) std + mean, keeps r sin(theta) for the next scalar draw
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from chainrule.random.generator import Generator

F32 = np.float32
F64 = np.float64
_MIN_NORM = np.array(0x0080_0000, np.uint32).view(F32)
_HALF_BITS = np.array(0.5, F32).view(np.uint32)
_LOG_P = [
    7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
    -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
]  # fmt: skip


def _fma32(a: np.ndarray, b: np.ndarray | F32, c: np.ndarray | F32) -> np.ndarray:
    """float32 ``a*b + c`` with one rounding, as the FMA instruction.

    a*b of two floats is exact in double; the double sum's rounding can only spoil the final
    rounding to float when it lands exactly halfway between two floats, so there the sum's
    exact error (Fast2Sum) decides which way to go.
    """
    product = np.asarray(a, F64) * np.asarray(b, F64)
    total = product + np.asarray(c, F64)
    halfway = (total.view(np.uint64) & np.uint64(0x1FFF_FFFF)) == np.uint64(0x1000_0000)
    if halfway.any():  # only those elements: the products of short inputs land there often
        where = np.nonzero(halfway)
        p = product[where]
        q = np.broadcast_to(np.asarray(c, F64), total.shape)[where]
        s = total[where]
        big, small = np.where(np.abs(p) >= np.abs(q), p, q), np.where(np.abs(p) >= np.abs(q), q, p)
        error = small - (s - big)  # exact: what the double sum dropped
        total[where] = np.where(error != 0, np.nextafter(s, np.copysign(np.inf, error)), s)
    return total.astype(F32)


def _two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """s + e == a + b exactly, s the rounded sum (Knuth)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = 134217729.0 * a  # 2^27 + 1 (Veltkamp): a = high + low, each of 26 bits or fewer
    high = t - (t - a)
    return high, a - high


def fma64(a: Any, b: Any, c: Any) -> np.ndarray:
    """float64 ``a*b + c`` with one rounding (NumPy has no fma; torch's kernels fuse these).

    a*b = uh + ul exactly (Dekker); c + ul = th + tl and uh + th = sh + sl exactly (TwoSum);
    then the rest sl + tl, rounded to odd so that it keeps a sticky bit, is added to sh with
    one final rounding, which is the correct rounding of the exact a*b + c (Boldo and
    Melquiond's argument: the rest is far below sh's last bit, so only its side matters).
    """
    a, b, c = (np.asarray(v, F64) for v in (a, b, c))
    uh = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    ul = ((ah * bh - uh) + ah * bl + al * bh) + al * bl
    th, tl = _two_sum(c, ul)
    sh, sl = _two_sum(uh, th)
    rest, rest_error = _two_sum(sl, tl)
    odd_up = (rest_error != 0) & ((rest.view(np.uint64) & np.uint64(1)) == 0)
    rest = np.where(odd_up, np.nextafter(rest, np.copysign(np.inf, rest_error)), rest)
    out = np.asarray(sh + rest)
    tiny = (np.abs(uh) < 2.0**-900) & (uh != 0)  # Dekker's split is inexact near underflow
    if tiny.any():  # rare: exact rational arithmetic, correctly rounded by float()
        a_, b_, c_ = np.broadcast_arrays(a, b, c)
        out = out.copy()
        for i in zip(*np.nonzero(tiny), strict=True):
            exact = Fraction(float(a_[i])) * Fraction(float(b_[i])) + Fraction(float(c_[i]))
            out[i] = float(exact)
    return out


def _log_f32(x: np.ndarray) -> np.ndarray:
    """Natural log of positive floats by torch's AVX2 polynomial (exponent + Cephes logf)."""
    x = np.maximum(x, _MIN_NORM)
    bits = x.view(np.uint32)
    e = ((bits >> np.uint32(23)).astype(np.int32) - 0x7F).astype(F32) + F32(1)
    x = ((bits & np.uint32(0x807F_FFFF)) | _HALF_BITS).view(F32)  # mantissa in [0.5, 1)
    small = x < F32(0.707106781186547524)  # then use 2x - 1 and one less in the exponent
    x = (x - F32(1)) + np.where(small, x, F32(0))
    e = e - small.astype(F32)
    z = x * x
    y = np.full_like(x, F32(_LOG_P[0]))
    for c in _LOG_P[1:]:
        y = _fma32(y, x, F32(c))
    y = y * x
    y = _fma32(y, z, e * F32(-2.12194440e-4))
    y = y - z * F32(0.5)
    return _fma32(e, F32(0.693359375), x + y)


def _sincos_f32(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sin x, cos x) of floats by torch's AVX2 polynomial: reduce by pi/4, two polynomials."""
    negative = np.signbit(x)
    x = np.abs(x)
    j = (x * F32(1.27323954473516)).astype(np.int32)  # octant, truncated, rounded up to even
    j = (j + 1) & ~1
    y = j.astype(F32)
    for part in (-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8):
        x = _fma32(y, F32(part), x)  # x - j pi/4 in three exact-ish pieces (Cody-Waite)
    sin_negative = negative ^ ((j & 4) != 0)
    cos_negative = ((~(j - 2)) & 4) != 0
    use_sin_poly = (j & 2) == 0
    z = x * x
    cos_poly = np.full_like(x, F32(2.443315711809948e-005))
    cos_poly = _fma32(cos_poly, z, F32(-1.388731625493765e-003))
    cos_poly = _fma32(cos_poly, z, F32(4.166664568298827e-002))
    cos_poly = cos_poly * z
    cos_poly = _fma32(cos_poly, z, -(z * F32(0.5))) + F32(1)
    sin_poly = np.full_like(x, F32(-1.9515295891e-4))
    sin_poly = _fma32(sin_poly, z, F32(8.3321608736e-3))
    sin_poly = _fma32(sin_poly, z, F32(-1.6666654611e-1))
    sin_poly = _fma32(sin_poly * z, x, x)
    sin = np.where(use_sin_poly, sin_poly, cos_poly)
    cos = np.where(use_sin_poly, cos_poly, sin_poly)
    return np.where(sin_negative, -sin, sin), np.where(cos_negative, -cos, cos)


def libm(function: object, values: np.ndarray) -> np.ndarray:
    """The C library's function elementwise (torch calls it; NumPy's SIMD log differs by an ulp)."""
    flat = values.reshape(-1).tolist()
    return np.fromiter(map(function, flat), F64, count=len(flat)).reshape(values.shape)  # type: ignore[call-overload]


def _blocks_f32(u: np.ndarray, mean: float, std: float) -> np.ndarray:
    blocks = u.reshape(-1, 16)
    radius = np.sqrt(F32(-2) * _log_f32(F32(1) - blocks[:, :8]))
    sin, cos = _sincos_f32(F32(2.0 * math.pi) * blocks[:, 8:])
    out = np.empty_like(blocks)
    out[:, :8] = _fma32(radius * cos, F32(std), F32(mean))
    out[:, 8:] = _fma32(radius * sin, F32(std), F32(mean))
    return out.reshape(-1)


def _blocks_f64(u: np.ndarray, mean: float, std: float) -> np.ndarray:
    blocks = u.reshape(-1, 16)
    radius = np.sqrt(-2.0 * libm(math.log, 1.0 - blocks[:, :8]))
    theta = (2.0 * math.pi) * blocks[:, 8:]
    out = np.empty_like(blocks)
    out[:, :8] = fma64(radius * np.cos(theta), std, mean)
    out[:, 8:] = fma64(radius * np.sin(theta), std, mean)
    return out.reshape(-1)


def uniform01(generator: Generator, n: int, dtype: np.dtype) -> np.ndarray:
    """n uniforms on [0, 1): 24-bit from one draw for float32, 53-bit from two for float64."""
    if dtype == F64:
        return (generator.random64(n) & np.uint64((1 << 53) - 1)).astype(F64) * 2.0**-53
    return (generator.random32(n) & np.uint64(0xFF_FFFF)).astype(F32) * F32(2.0**-24)


def _filled(generator: Generator, n: int, dtype: np.dtype, mean: float, std: float) -> np.ndarray:
    blocks = _blocks_f32 if dtype == F32 else _blocks_f64
    u = uniform01(generator, n, dtype)
    out = np.empty(n, dtype)
    whole = n - n % 16
    out[:whole] = blocks(u[:whole], mean, std)
    if whole != n:  # torch redraws the last 16 and transforms them again
        out[n - 16 :] = blocks(uniform01(generator, 16, dtype), mean, std)
    return out


def scalar_normals(generator: Generator, n: int, mean: float, std: float) -> np.ndarray:
    """n doubles from the scalar sampler, using and refilling the generator's cached sample."""
    out = np.empty(n, F64)
    start = 0
    if n and generator._normal_cache is not None:
        out[0], generator._normal_cache, start = generator._normal_cache, None, 1
    pairs = (n - start + 1) // 2
    if pairs:
        u = uniform01(generator, 2 * pairs, np.dtype(F64)).reshape(pairs, 2)
        radius = np.sqrt(-2.0 * libm(math.log1p, -u[:, 1]))
        theta = 2.0 * math.pi * u[:, 0]
        both = np.stack([radius * np.cos(theta), radius * np.sin(theta)], axis=1).reshape(-1)
        out[start:] = both[: n - start]
        if (n - start) % 2:
            generator._normal_cache = float(both[-1])
    return fma64(out, std, mean)


def normal(
    generator: Generator, shape: tuple[int, ...], dtype: np.dtype, mean: float = 0.0,
    std: float = 1.0, contiguous: bool = True,
) -> np.ndarray:  # fmt: skip
    """An array of N(mean, std^2) samples of ``shape``, as torch's normal_ on such a tensor."""
    n = math.prod(shape)
    dtype = np.dtype(dtype)
    if n >= 16 and contiguous:
        block_dtype = np.dtype(F32 if dtype == F32 else F64)
        if dtype == F32:
            mean_c, std_c = float(F32(mean)), float(F32(std))
        else:
            mean_c, std_c = mean, std
        return _filled(generator, n, block_dtype, mean_c, std_c).astype(dtype).reshape(shape)
    return scalar_normals(generator, n, mean, std).astype(dtype).reshape(shape)
