"""Adam's update (Adam, AdamW, AMSGrad, L2 or decoupled decay, maximize): one pass over
memory with numba, or the fewest NumPy passes without it. The same numbers either way.

The rule, per coordinate, with step t counted from 1 (γ lr, λ weight decay)::

    g   = -∇ if maximize else ∇
    θ   = θ·(1 - γ·λ)                  decoupled decay (AdamW), λ ≠ 0
    g   = g + λ·θ                      L2 decay (Adam), λ ≠ 0
    m   = m·β1 + g·(1 - β1)
    v   = v·β2 + g²·(1 - β2)
    v̄   = max(v̄, v)  if amsgrad, else v
    θ   = θ - (m / (√v̄ / √(1 - β2^t) + ε)) · (γ / (1 - β1^t))

Every operation is rounded in the parameter's dtype (the scalars too: a Python float meets
a float32 array as float32), in this order. The NumPy twin runs it as one ufunc a pass,
into kept scratch arrays (out=); the compiled loop runs the same operations per element
without fastmath (no fused multiply-adds, no reordering), and IEEE arithmetic makes the two
bitwise equal (tested for every option, float32 and float64).

One operation is computed another way, with the same result: in float32 the loop makes
a/b (a = √v̄, b = √(1 - β2^t) as float32) as float32(a · r), r = 1/b rounded to float64,
a product in place of a division. Why it is the correctly rounded quotient: with a = A·2^i,
b = B·2^j (A, B integers in [2^23, 2^24): normal floats), a float32 rounding boundary near
a/b (a midpoint between two neighbouring float32 numbers) is M·2^k, M odd in [2^24, 2^25).
a/b is never a midpoint (A·2^i = M·B·2^(j+k) would put M times B's odd part, odd and at
least 2^24, into A's 24 bits); so a - M·2^k·b is a non-zero multiple of 2^(j+k) (i > j+k,
as A·2^i ≈ M·B·2^(j+k)), and a/b lies at a relative distance of more than 2^-49 from
M·2^k (M·B < 2^49), while a·r is within about 2^-52 of a/b (two float64 roundings): no
midpoint between them, so both round to the same float32. (It holds while a/b is a
normal float32, as here: b ≤ 1 and a ≥ √(smallest subnormal); inf and NaN go through a
product as through a division. float64 would need 106-bit products: it keeps the
division.)

Passes over a parameter-sized array (reads and writes of memory) for plain Adam: NumPy 13
ufunc calls (m: 3, v: 4, the denominator: 3, the step: 3); maximize adds none (the sign goes
into a subtraction; it was a negation into a new array), L2 decay 2 (into kept scratch; it
was two new arrays), decoupled decay 1, AMSGrad 1. The compiled loop: 1, at every size (a
1-element bias: 6.5 µs a call against NumPy's 15.8; 262k weights 224 µs against 780).

Subnormal moments: float32 parameters run kernels/adam32.py's loop, the same operations
bit for bit, which keeps the processor off its slow path when a moment is a subnormal
float32 (the first moment of a weight behind a dead ReLU unit becomes one after ~900
steps; the plain loop then ran 20x slower). The plain `_adam_loop` serves float64 (its
moments would need ~10^6 steps to get there) and the scalars adam32's proofs do not cover.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np

from chainrule.kernels import (
    FLOAT_DTYPES,
    adam32,
    compiled,
    contiguous_like,
    fusable,
    numba_enabled,
)
from chainrule.kernels.halves import SHARE_MIN, cut, share

__all__ = ["adam_numpy", "adam_step"]


def adam_numpy(
    param: np.ndarray,
    grad: np.ndarray,
    exp_avg: np.ndarray,
    exp_avg_sq: np.ndarray,
    max_exp_avg_sq: np.ndarray | None,
    scratch: np.ndarray,
    spare: np.ndarray | None,
    step: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    maximize: bool,
    decoupled: bool,
) -> None:
    """The update as NumPy ufuncs, in place, temporaries into ``scratch`` (and ``spare``,
    needed only for L2 decay), both of param's shape and dtype; nothing is allocated.

    Walking a large parameter in cache-sized blocks (the 13 passes over 256 KiB at a time)
    was measured and not kept: 0.85x the CPU time alone, but 0.98x (0.79-1.03) of the
    eager wide regression step and 0.95x (0.86-1.12) of the captured one, in one process,
    8 alternating rounds, one BLAS thread, load average 8.5: no gain inside a step."""
    s = scratch
    g, negate = grad, maximize  # -g enters as a subtraction: (-g)·c = -(g·c), (-g)² = g²
    if weight_decay != 0:
        if decoupled:
            param *= 1 - lr * weight_decay
        else:
            assert spare is not None
            np.multiply(param, weight_decay, out=s)  # λ·θ; with maximize -∇ + λ·θ is
            # computed as λ·θ - ∇ (IEEE's a - b is a + (-b), rounded once: the same number)
            g = np.subtract(s, grad, out=spare) if maximize else np.add(grad, s, out=spare)
            negate = False
    exp_avg *= beta1
    np.multiply(g, 1 - beta1, out=s)
    if negate:
        exp_avg -= s
    else:
        exp_avg += s
    exp_avg_sq *= beta2
    np.square(g, out=s)
    s *= 1 - beta2
    exp_avg_sq += s
    second = exp_avg_sq
    if amsgrad:
        assert max_exp_avg_sq is not None
        second = np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
    np.sqrt(second, out=s)
    s /= math.sqrt(1 - beta2**step)
    s += eps
    np.divide(exp_avg, s, out=s)
    s *= lr / (1 - beta1**step)
    param -= s


def _adam_loop(
    param: np.ndarray,
    grad: np.ndarray,
    exp_avg: np.ndarray,
    exp_avg_sq: np.ndarray,
    max_exp_avg_sq: np.ndarray,
    beta1: float,
    keep1: float,
    beta2: float,
    keep2: float,
    root2: float,
    inverse_root2: float,
    eps: float,
    step_size: float,
    weight_decay: float,
    decay: float,
    flags: int,
) -> None:
    """The compiled loop over flat arrays; scalars in the arrays' dtype, but
    ``inverse_root2`` = 1/root2 in float64. flags: 1 maximize, 2 L2 decay, 4 decoupled
    decay, 8 amsgrad, 16 float32 (the loop is specialised per branch by LLVM's unswitching:
    measured as fast as a loop without the branches).

    float32: √v̄ / √(1 - β2^t) is computed as float32(float64(√v̄) · (1/√(1 - β2^t))),
    bitwise the float32 division (the module's note), a product instead of the second
    division: the loop is bound by the shared divide/square-root unit (ymm vectors, about
    2 cycles an element with two divisions and a root), so this ran 1.33x faster alone
    (0.58 against 0.77 ns an element, 65k float32 values, in cache)."""
    maximize, l2, decoupled, amsgrad = flags & 1, flags & 2, flags & 4, flags & 8
    single = flags & 16
    for i in range(param.shape[0]):
        g = grad[i]
        p = param[i]
        if maximize:
            g = -g
        if decoupled:
            p = p * decay
        elif l2:
            g = g + weight_decay * p
        m = exp_avg[i] * beta1 + g * keep1
        v = exp_avg_sq[i] * beta2 + (g * g) * keep2
        exp_avg[i] = m
        exp_avg_sq[i] = v
        if amsgrad:
            top = max_exp_avg_sq[i]
            if not (top > v or top != top):  # np.maximum: NaN wins, else the larger
                top = v  # (of ±0 and ∓0 the second, as np.maximum)
            max_exp_avg_sq[i] = top
            v = top
        if single:  # float32: the exact quotient through a float64 product (see above)
            scaled = np.float32(np.float64(np.sqrt(v)) * inverse_root2)
        else:
            scaled = np.sqrt(v) / root2
        param[i] = p - (m / (scaled + eps)) * step_size


# error_model="numpy": a division by zero gives inf as NumPy's, and without Python's check
# per element the loop vectorises (the check kept it scalar: 2.7x slower, measured).
# One thread: parallel=True (prange over 2 threads for parameters of 16k elements or more)
# ran the wide regression step at 0.14x (eager) and 0.12x (captured) of this serial loop,
# one process, 8 alternating rounds, load average 8.5: a thread-team barrier per call
# stalls whenever another process holds a core, like OpenBLAS's (docs/speed.md).
# fastmath changed the numbers (FMA contraction) and was not faster: not used.
# nogil: the loop runs without the GIL, so kernels.halves's helper thread can run it over
# other elements of the same parameter at the same time
_adam_fused = compiled(_adam_loop, error_model="numpy", nogil=True)


def adam_step(
    param: np.ndarray,
    grad: np.ndarray,
    exp_avg: np.ndarray,
    exp_avg_sq: np.ndarray,
    max_exp_avg_sq: np.ndarray | None,
    scratch: np.ndarray | None,
    spare: np.ndarray | None,
    step: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    maximize: bool,
    decoupled: bool,
) -> None:
    """One Adam step on ``param`` and its moments, in place: the compiled loop when numba is
    on and the arrays allow it (float32/float64, contiguous), else `adam_numpy`
    (``scratch`` None: a new array for its temporaries; ``spare`` None: a new one when L2
    decay needs it; the eager optimizer passes None when numba is on, the loop needing
    none).

    The eager optimizer (chainrule.optim.adam) and the captured program
    (chainrule.capture.update) both call this, so their numbers are the same. ``grad`` is
    only read; ``max_exp_avg_sq`` is used only with ``amsgrad``; ``scratch`` and ``spare``
    (param's shape and dtype) take the NumPy twin's temporaries."""
    if numba_enabled() and _fits(param, exp_avg, exp_avg_sq, max_exp_avg_sq):
        if grad.dtype is not param.dtype or not grad.flags.c_contiguous:
            grad = contiguous_like(grad, param)
        # the floats by their bits: 0.0 == -0.0, and a sign of zero can reach the result
        values = _FLOATS.pack(lr, beta1, beta2, eps, weight_decay)
        key = (param.dtype, step, values, amsgrad, maximize, decoupled)
        kept = _last[0]  # one read: another thread may replace it meanwhile
        loop, scalars = kept[1] if key == kept[0] else _scalars(key)
        # flat views made here: the loop reshaping them itself ran 4x slower on the wide
        # weights (measured; LLVM no longer vectorised it)
        flats = (
            param.reshape(-1),
            grad.reshape(-1),
            exp_avg.reshape(-1),
            exp_avg_sq.reshape(-1),
            (exp_avg_sq if max_exp_avg_sq is None else max_exp_avg_sq).reshape(-1),
        )
        if param.size < SHARE_MIN:
            loop(*flats, *scalars)
        else:  # element-wise: chunks on two threads give the same numbers (kernels.halves)
            _adam_shared(flats, loop, scalars, id(param))  # the call site: this parameter
        return
    if scratch is None:
        scratch = np.empty_like(param)
    if spare is None and weight_decay != 0 and not decoupled:
        spare = np.empty_like(param)
    adam_numpy(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, scratch, spare, step, lr,
               beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled)  # fmt: skip


SHARE_CHUNKS = 4
"""Chunks of a shared update (kernels.halves): a late or preempted helper costs at most
one chunk's time."""


def _adam_shared(
    flats: tuple[np.ndarray, ...], loop: Any, scalars: tuple[Any, ...], key: int
) -> None:
    """The compiled ``loop`` over the flat arrays in `SHARE_CHUNKS` chunks, shared with the
    helper thread (`chainrule.kernels.halves.share`)."""
    parts = [
        tuple(a[start:stop] for a in flats) for start, stop in cut(flats[0].size, SHARE_CHUNKS)
    ]

    def run(index: int) -> None:
        loop(*parts[index], *scalars)

    share(run, len(parts), key)


def _fits(
    param: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray, top: np.ndarray | None
) -> bool:
    """`fusable` for Adam's arrays (the moments of a float parameter are of its shape), the
    usual case asked first by identity: the moments made by the optimizer (zeros_like of
    a C-contiguous parameter) share its dtype object. Anything else asks `fusable`."""
    dtype = param.dtype
    if (
        exp_avg.dtype is dtype
        and exp_avg_sq.dtype is dtype
        and top is None
        and dtype in FLOAT_DTYPES
        and param.flags.c_contiguous
        and exp_avg.flags.c_contiguous
        and exp_avg_sq.flags.c_contiguous
    ):
        return True
    return fusable(param, exp_avg, exp_avg_sq, top)


_FLOATS = struct.Struct("5d")
_last: list[tuple[Any, Any]] = [(None, None)]  # the last call's key, (loop, scalars)


def _scalars(key: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:
    """The compiled loop's scalar arguments for (dtype, step, the packed (lr, β1, β2, ε,
    λ), amsgrad, maximize, decoupled), kept for the next call: the parameters of a group
    share them within a step, and making them (eleven casts, two powers) was about half
    of a small parameter's call (512 values: 7.8 us a call, 3.7 with them kept, the loop
    itself 1.7). Returned with the loop they are for: kernels.adam32's for float32 when
    it takes these scalars, else `_adam_fused`."""
    dtype, step, values, amsgrad, maximize, decoupled = key
    lr, beta1, beta2, eps, weight_decay = _FLOATS.unpack(values)
    kind = dtype.type
    decays = weight_decay != 0
    root2 = kind(math.sqrt(1 - beta2**step))
    single = kind is np.float32 and 0 < root2 < np.inf  # 1/root2 exists and is finite
    flags = (
        maximize
        | (decays and not decoupled) << 1
        | (decays and decoupled) << 2
        | bool(amsgrad) << 3
        | single << 4
    )
    plain = (
        kind(beta1),
        kind(1 - beta1),
        kind(beta2),
        kind(1 - beta2),
        root2,
        1.0 / float(root2) if single else 1.0,  # float64: the float32 value's inverse
        kind(eps),
        kind(lr / (1 - beta1**step)),
        kind(weight_decay),
        kind(1 - lr * weight_decay),
        int(flags),
    )
    chosen = (_adam_fused, plain)
    extra = adam32.scalars(plain, kind(eps)) if single else None
    if extra is not None:  # float32: the loop that keeps subnormal moments fast
        chosen = (adam32.adam_fused32, (*plain, *extra))
    _last[0] = key, chosen
    return chosen
