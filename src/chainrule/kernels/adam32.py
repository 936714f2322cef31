"""Adam's compiled float32 loop, bitwise kernels/adam.py's `_adam_loop`, that stays fast
when the moments are subnormal.

Why: a weight behind a dead ReLU unit gets the gradient ±0 at every step; its first moment
is multiplied by β1 each step and after ~900 steps is a subnormal float32 (|m| < 2^-126)
for good (k·2^-149 with k ≤ 4 rounds back to itself: round(0.9·k) = k). Every float32
multiplication, division or square root that reads or makes a subnormal takes a microcode
assist (kernels/subnormal.py has the figures): one plain pass over 262,144 values ran 20x
slower with 12% of m subnormal. JAX's jit flushes them to zero, which changes the numbers;
this loop keeps IEEE's numbers and avoids the assists.

How, per block of `BLOCK` elements:

- A scan (integer tests on the bits: no assist) asks whether any m, v (or AMSGrad's v̄) of
  the block is subnormal. Most blocks have none (the trained wide regression's 512x512
  weight: 23% of its 256-element blocks have one, mostly the whole rows of dead units),
  and they run the plain loop's operations unchanged.
- A block with one runs the guarded loop: for a lane whose g is ±0 and whose m (or v) is
  subnormal or ±0 ("emulated"), the float32 operations get 0 in its place and its result
  comes from integer arithmetic on the bits instead (`subnormal.grid_product`):
  m·β1 + (±0) is ±rint(k·|β1|) on the subnormal grid, exactly IEEE's rounding. A subnormal
  v̄'s square root is √(±2k)·2^-75 (`subnormal.doubled`, exact). Every other lane runs
  the plain loop's float32 operations.
- θ's update from an emulated (subnormal) m is below a quarter of θ's ulp when
  |θ| ≥ p_floor, and then θ - u rounds to θ: such a lane divides ±0 (m's sign) by d
  instead, giving θ bit for bit. The bound: |m| < 2^-126 and d = √v̄/√(1 - β2^t) + ε ≥ ε
  (√v̄ ≥ 0; a NaN d gives the same NaN from ±0/d as from m/d, an infinite d the same
  ±0), so |m/d| ≤ Q·(1 + 2^-23) with Q = 2^-126/ε, |u| ≤ Q·|γ'|·(1 + 2^-22) (γ' the step
  size), and ulp(θ)/4 > |θ|·2^-26 for a normal θ: p_floor = 2^26·Q·|γ'|·(1 + 2^-20),
  rounded up, at least 2^-126; none (no lane skips) when ε = 0 or the floor is huge.
  A lane under the floor divides its subnormal m (an assist, rarely).

What stays on the processor's slow path, rarely: a subnormal m or v with a non-zero g (a
dead unit coming back, one step), a subnormal gradient or parameter, a normal moment whose
product underflows (once per moment on its way down). Those lanes run the plain float32
operations: slow, still exact.

Only for these scalars (`scalars` says which): |β1|, |β2| < 1, finite 1 - β and step size;
otherwise adam.py runs its plain loop, with the same numbers. float64 never needs it here
(its moments would need ~10^6 steps of decay; the plain loop serves it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.kernels import compiled, jit, subnormal

__all__ = ["BLOCK", "adam_fused32", "scalars"]

BLOCK = 512
"""Elements a scan decides on: of the trained wide regression's 512x512 weight, blocks with a
subnormal moment were 22.3% at 64 elements, 22.9% at 256, 23.4% at 512, 40.2% at 1,024."""


def _block_python(
    ps: np.ndarray,
    gs: np.ndarray,
    ms: np.ndarray,
    vs: np.ndarray,
    tops: np.ndarray,
    start: int,
    count: int,
    scalars: tuple[Any, ...],
    guarded: bool,
    amsgrad: bool,
    plain: bool,
) -> None:
    """The update of elements ``start`` to ``start + count`` of the flat arrays, with
    `_adam_loop32`'s ``scalars``; inlined by numba into each of the `_VARIANTS` with
    constant ``guarded``, ``amsgrad`` and ``plain``, so LLVM makes one loop for each:
    unguarded, the emulation folds away and the operations are the plain loop's (adam.py's
    `_adam_loop` in float32); without AMSGrad ``tops`` (v's own buffer then) is neither read
    nor written (a store there kept LLVM's aliasing test from vectorising: 9x slower);
    ``plain`` (no maximize, no weight decay: Adam's defaults) drops the options' selects."""
    beta1, keep1, beta2, keep2, _, inverse_root2, eps, step_size = scalars[:8]
    weight_decay, decay, flags, beta1_wide, beta2_wide, sign1, sign2 = scalars[8:15]
    inverse_low, p_floor, normal = scalars[15:]
    maximize, l2, decoupled = (0, 0, 0) if plain else (flags & 1, flags & 2, flags & 4)
    low, below, grid_product = subnormal.low, subnormal.below, subnormal.grid_product
    zero = np.float32(0.0)
    base = np.uint64(start)  # unsigned: numba's test for a negative index kept LLVM
    for j in range(count):  # from vectorising (5x slower)
        i = base + np.uint64(j)
        g = gs[i]
        p = ps[i]
        if maximize:
            g = -g
        if decoupled:
            p = p * decay
        elif l2:
            g = g + weight_decay * p
        m = ms[i]
        v = vs[i]
        still = guarded & (g == zero)  # g = ±0: the moments only decay
        m_low = still & low(m)  # a subnormal (or ±0) moment, emulated in integers
        v_low = still & low(v)
        gm = g * keep1
        gv = (g * g) * keep2
        # an emulated lane gives the float32 operations 0 for its subnormal, by a test LLVM
        # cannot tell is m_low (``normal`` is an argument): with the same test it drops
        # this select (m_low's other arm is the result there) and the multiplication sees
        # the subnormal again (measured: 1,541 µs against 370 a pass)
        m_next = (zero if still & below(m, normal) else m) * beta1 + gm
        v_next = (zero if still & below(v, normal) else v) * beta2 + gv
        m = grid_product(m, beta1_wide, sign1, gm) if m_low else m_next
        v = grid_product(v, beta2_wide, sign2, gv) if v_low else v_next
        ms[i] = m
        vs[i] = v
        if amsgrad:
            top = tops[i]
            if not (top > v or top != top):  # np.maximum: NaN wins, else the larger
                top = v  # (of ±0 and ∓0 the second, as np.maximum)
            tops[i] = top
            v = top
        w_low = guarded & low(v)  # √ of v̄ = ±k·2^-149 is √(±2k)·2^-75, 2^-75 in inverse_low
        root = np.sqrt(subnormal.doubled(v) if w_low else v)
        scaled = np.float32(np.float64(root) * (inverse_low if w_low else inverse_root2))
        skip = m_low & subnormal.at_least(p, p_floor)  # θ - u = θ (the module's note)
        numerator = subnormal.sign_of(m) if skip else m
        ps[i] = p - (numerator / (scaled + eps)) * step_size


_block: Any = _block_python  # numba's inline="always" function after `_prepare`


def _adam_loop32(
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
    beta1_wide: float,
    beta2_wide: float,
    sign1: int,
    sign2: int,
    inverse_low: float,
    p_floor: int,
    normal: int,
) -> None:
    """kernels/adam.py's `_adam_loop` over float32 flat arrays (its arguments, ``flags`` with
    the float32 bit), then: |β1|, |β2| as float64 and their sign bits (``sign1``, ``sign2``:
    0 or 2^31), ``inverse_low`` = inverse_root2·2^-75, ``p_floor`` the bits of the
    smallest |θ| an emulated m's update cannot change (2^31: none), and ``normal`` =
    0x00800000, the bits of 2^-126 (an argument on purpose: `_block_python`)."""
    scalars = (beta1, keep1, beta2, keep2, root2, inverse_root2, eps, step_size,
               weight_decay, decay, flags, beta1_wide, beta2_wide, sign1, sign2,
               inverse_low, p_floor, normal)  # fmt: skip
    amsgrad = flags & 8
    tiny = subnormal.tiny
    ps, gs, ms, vs, tops = param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq  # short names
    size = param.shape[0]
    for start in range(0, size, BLOCK):
        count = min(BLOCK, size - start)
        # a subnormal m makes the block take the guarded loop (m only: the scan's cost
        # counts on every block, and a dead unit's m is subnormal ~65,000 steps before
        # its v; a block it misses still gets the right numbers, the slow way)
        dirty = False
        base = np.uint64(start)
        for j in range(count):
            dirty |= tiny(ms[base + np.uint64(j)])
        if amsgrad:
            if dirty:
                _guarded_amsgrad(ps, gs, ms, vs, tops, start, count, scalars)
            else:
                _clean_amsgrad(ps, gs, ms, vs, tops, start, count, scalars)
        elif dirty:
            _guarded(ps, gs, ms, vs, tops, start, count, scalars)
        elif flags & 7:  # maximize or weight decay
            _clean(ps, gs, ms, vs, tops, start, count, scalars)
        else:
            _clean_plain(ps, gs, ms, vs, tops, start, count, scalars)


# The block loops `_adam_loop32` calls, each compiled on its own (not inlined into it): with
# the four variants inlined into one function the unguarded loop ran slower than alone
# (likely the guarded loops' live values crowding its registers). Measured on the AMX Xeon,
# one thread, 8 alternating rounds, ns a value (median, range), before -> after: plain Adam
# on 262,144 values 1.11 (1.09-1.43) -> 0.86 (0.85-1.03), near the divider's bound of one
# square root and one division a value; on 51,200 0.91 -> 0.78; AMSGrad 1.72 -> 1.45;
# weight decay 1.13 -> 1.10 (the options' selects stay: only ``plain`` drops them). A call
# per block costs a few nanoseconds of 512 values' ~450.
def _guarded_amsgrad(ps: Any, gs: Any, ms: Any, vs: Any, tops: Any, start: int, count: int,
                     scalars: tuple[Any, ...]) -> None:  # fmt: skip
    _block(ps, gs, ms, vs, tops, start, count, scalars, True, True, False)


def _clean_amsgrad(ps: Any, gs: Any, ms: Any, vs: Any, tops: Any, start: int, count: int,
                   scalars: tuple[Any, ...]) -> None:  # fmt: skip
    _block(ps, gs, ms, vs, tops, start, count, scalars, False, True, False)


def _guarded(ps: Any, gs: Any, ms: Any, vs: Any, tops: Any, start: int, count: int,
             scalars: tuple[Any, ...]) -> None:  # fmt: skip
    _block(ps, gs, ms, vs, tops, start, count, scalars, True, False, False)


def _clean(ps: Any, gs: Any, ms: Any, vs: Any, tops: Any, start: int, count: int,
           scalars: tuple[Any, ...]) -> None:  # fmt: skip
    _block(ps, gs, ms, vs, tops, start, count, scalars, False, False, False)


def _clean_plain(ps: Any, gs: Any, ms: Any, vs: Any, tops: Any, start: int, count: int,
                 scalars: tuple[Any, ...]) -> None:  # fmt: skip
    _block(ps, gs, ms, vs, tops, start, count, scalars, False, False, True)


_VARIANTS = ("_guarded_amsgrad", "_clean_amsgrad", "_guarded", "_clean", "_clean_plain")


def _prepare() -> None:
    """kernels.subnormal's helpers, `_block` compiled for inlining, then the `_VARIANTS`
    compiled (module globals, where `_adam_loop32` finds them when it compiles)."""
    global _block
    subnormal.prepare()
    if _block is _block_python:
        _block = jit(_block_python, inline="always")
        for name in _VARIANTS:  # as adam.py's loop: vectorises, nogil (kernels.halves)
            globals()[name] = jit(globals()[name], error_model="numpy", nogil=True)


# as adam.py's loop: error_model="numpy" (vectorises), nogil (kernels.halves), no fastmath
adam_fused32 = compiled(_adam_loop32, _prepare, error_model="numpy", nogil=True)


def scalars(plain: tuple[Any, ...], eps: np.float32) -> tuple[Any, ...] | None:
    """The float32 loop's scalars after adam.py's ``plain`` ones (β1, 1 - β1, β2, 1 - β2,
    √(1 - β2^t), its float64 inverse, ε, step size, λ, 1 - γλ, flags), or None when its
    proofs do not cover them (|β| ≥ 1, a non-finite 1 - β or step size): adam.py's plain
    loop then, the same numbers, slower only on subnormal moments."""
    beta1, keep1, beta2, keep2, _, inverse, _, step_size = plain[:8]
    if not (np.isfinite([keep1, keep2, step_size]).all() and abs(beta1) < 1 and abs(beta2) < 1):
        return None
    sign1, sign2 = (int(np.array(b).view(np.uint32)) & 0x80000000 for b in (beta1, beta2))
    floor = 0x80000000  # no |θ|'s bits reach it: no lane skips
    if eps > 0:
        bound = 2.0**26 * 2.0**-126 / float(eps) * abs(float(step_size)) * (1 + 2.0**-20)
        if bound < 2.0**100:
            rounded = np.nextafter(np.float32(bound), np.float32(np.inf))  # up
            floor = max(int(np.array(rounded).view(np.uint32)), 0x00800000)
    return float(abs(beta1)), float(abs(beta2)), sign1, sign2, inverse * 2.0**-75, floor, 0x00800000
