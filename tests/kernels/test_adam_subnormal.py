"""Adam's float32 loop over subnormal moments (chainrule.kernels.adam32, kernels.subnormal):
bitwise the plain float32 loop (kernels.adam's `_adam_loop`) and the NumPy twin on random
bit patterns over the whole float32 range, for every option; and a trained model whose
Adam state holds subnormal moments still updates as the twin does.

NaN lanes are compared as NaN, not bit for bit: x86 returns the first operand's NaN and
the compiler orders the operands of a commutative operation as it likes, so the payload
of a NaN met by another NaN differs between the twin and either loop (it did before)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.kernels import adam as adam_kernel
from chainrule.kernels import adam32
from chainrule.kernels.adam import adam_step
from tests.support.numba_paths import needs_numba, numba_path

# (weight_decay, amsgrad, maximize, decoupled): every combination
OPTIONS = list(itertools.product((0.0, 0.1), (False, True), (False, True), (False, True)))
# (lr, beta1, beta2, eps): the defaults, other betas, ties of k·0.5 on the grid, no ε
SCALARS = [(1e-3, 0.9, 0.999, 1e-8), (0.02, 0.8, 0.99, 1e-6), (0.5, 0.5, 0.5, 0.0)]
SPECIAL = np.array(
    [0, 0x80000000, 1, 0x80000001, 2, 3, 4, 5, 7, 0x7FFFFF, 0x807FFFFF, 0x800000, 0x800001,
     0x80800000, 0x7F800000, 0xFF800000, 0x7FC00000, 0x3F800000, 0x00400000, 0x0C000000],
    dtype=np.uint32,
)  # fmt: skip


def _bits(rng: np.random.Generator, size: int) -> np.ndarray:
    """float32 values from bit patterns: subnormals (random and k ≤ 7), ±0, values near
    2^-126 on both sides, the special values above, normal ones and random bits (inf and
    NaN among them)."""
    kind = rng.integers(0, 8, size)
    sign = rng.integers(0, 2, size).astype(np.uint32) << 31
    out = rng.integers(0, 2**32, size, dtype=np.uint64).astype(np.uint32)  # any bits
    out = np.where(kind == 0, sign | rng.integers(1, 0x800000, size).astype(np.uint32), out)
    out = np.where(kind == 1, sign | rng.integers(0, 8, size).astype(np.uint32), out)
    out = np.where(kind == 2, sign | rng.integers(0x7FFFF0, 0x800010, size).astype(np.uint32), out)
    out = np.where(kind == 3, SPECIAL[rng.integers(0, SPECIAL.size, size)], out)
    normal = (rng.standard_normal(size) * 10.0 ** rng.integers(-30, 5, size)).astype(np.float32)
    out = np.where(kind >= 5, normal.view(np.uint32), out)
    return out.view(np.float32)


def _state(rng: np.random.Generator, size: int) -> list[np.ndarray]:
    """param, m, v, max_v: mostly normal parameters, moments from `_bits` with whole runs of
    subnormal m (a dead unit's row) and runs with none (blocks the loop takes plainly)."""
    param = (rng.standard_normal(size) * 0.05).astype(np.float32)
    param[::5] = _bits(rng, param[::5].size)
    m, v, top = _bits(rng, size), np.abs(_bits(rng, size)), _bits(rng, size)
    dead = slice(0, adam32.BLOCK)  # a whole block of subnormal m
    m[dead] = (rng.integers(1, 6, adam32.BLOCK).astype(np.uint32)).view(np.float32)
    clean = slice(adam32.BLOCK, 2 * adam32.BLOCK)  # a block without a subnormal m
    m[clean] = rng.standard_normal(adam32.BLOCK).astype(np.float32) * 1e-4
    return [param, m, v, top]


def _gradient(rng: np.random.Generator, size: int) -> np.ndarray:
    grad = _bits(rng, size)
    grad[rng.random(size) < 0.5] = 0.0  # exact zeros: the lanes that are emulated
    grad[rng.random(size) < 0.1] = -0.0
    grad[: adam32.BLOCK] = np.where(rng.random(adam32.BLOCK) < 0.5, 0.0, -0.0)  # a dead row
    return grad


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bitwise equal, but two NaNs match whatever their payloads (the module's note)."""
    both_nan = np.isnan(a) & np.isnan(b)
    return bool(np.array_equal(a.view(np.uint32)[~both_nan], b.view(np.uint32)[~both_nan])
                and np.array_equal(np.isnan(a), np.isnan(b)))  # fmt: skip


def _plain_loop(arrays: list[np.ndarray], grad: np.ndarray, step: int, scalars: tuple[Any, ...],
                options: tuple[Any, ...]) -> None:  # fmt: skip
    """kernels.adam's plain compiled loop (`_adam_fused`) on float32, in place."""
    lr, beta1, beta2, eps = scalars
    weight_decay, amsgrad, maximize, decoupled = options
    key = (np.dtype(np.float32), step, adam_kernel._FLOATS.pack(lr, beta1, beta2, eps,
           weight_decay), amsgrad, maximize, decoupled)  # fmt: skip
    loop, values = adam_kernel._scalars(key)
    assert loop is adam32.adam_fused32  # these scalars take the subnormal-safe loop
    param, m, v, top = arrays
    adam_kernel._adam_fused(param, grad, m, v, top if amsgrad else v, *values[:11])


def _steps(way: str, state: list[np.ndarray], grads: list[np.ndarray],
           scalars: tuple[Any, ...], options: tuple[Any, ...]) -> list[np.ndarray]:  # fmt: skip
    arrays = [a.copy() for a in state]
    lr, beta1, beta2, eps = scalars
    for step, grad in zip((1, 2, 40), grads, strict=True):
        if way == "plain":
            _plain_loop(arrays, grad, step, scalars, options)
            continue
        param, m, v, top = arrays
        with numba_path(way == "loop"):
            adam_step(param, grad, m, v, top if options[1] else None, np.empty_like(param),
                      np.empty_like(param), step, lr, beta1, beta2, eps, *options)  # fmt: skip
    return arrays


@needs_numba
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the twin's overflows and NaNs
@pytest.mark.parametrize("scalars", SCALARS, ids=[str(s) for s in SCALARS])
@pytest.mark.parametrize("options", OPTIONS, ids=[str(o) for o in OPTIONS])
def test_subnormal_moments_give_the_plain_loops_and_the_twins_numbers(
    options: Any, scalars: Any
) -> None:
    """Three steps over 1,300 elements (two whole blocks and a part, one block of
    subnormal m, one without) from random bits: the new loop (adam_step, numba on), the
    plain float32 loop and the NumPy twin agree on θ, m, v and AMSGrad's maximum."""
    rng = np.random.default_rng(abs(hash((options, scalars))) % 2**32)
    size = 2 * adam32.BLOCK + 276
    state = _state(rng, size)
    grads = [_gradient(rng, size) for _ in range(3)]
    new, plain, twin = (_steps(way, state, grads, scalars, options)
                        for way in ("loop", "plain", "twin"))  # fmt: skip
    for name, a, b, c in zip(("param", "m", "v", "max_v"), new, plain, twin, strict=True):
        assert _same(a, b), (name, "loop against the plain loop")
        assert _same(a, c), (name, "loop against the twin")
    l2 = options[0] != 0 and not options[3]  # g + λθ: no zero gradients then
    if scalars[1] > 0.5 and not l2:  # (β1 = 0.5 takes k·2^-149 to 0 in a few steps)
        subnormal_m = ((new[1].view(np.uint32) & 0x7F800000) == 0) & (new[1] != 0)
        assert subnormal_m.sum() > adam32.BLOCK // 2  # the emulation was exercised


LANE = st.one_of(
    st.sampled_from([int(b) for b in SPECIAL]),
    st.integers(0, 0x7FFFFF).map(lambda k: k | (0x80000000 if k % 3 == 0 else 0)),
    st.integers(0, 2**32 - 1),
)


@needs_numba
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@settings(max_examples=150, deadline=None)
@given(
    lanes=st.lists(
        st.tuples(LANE, LANE, LANE, LANE, LANE, st.booleans()), min_size=1, max_size=40
    ),  # fmt: skip
    options=st.sampled_from(OPTIONS),
    scalars=st.sampled_from(SCALARS),
    step=st.integers(1, 3000),
)
def test_any_bits_give_the_twins_numbers(
    lanes: list[Any], options: Any, scalars: Any, step: int
) -> None:
    """Lanes of arbitrary bits (θ, g, m, v, v̄; g set to ±0 when the flag is on), any
    option and step: the loop and the NumPy twin agree after one step."""
    columns = [np.array(c, dtype=np.uint32).view(np.float32) for c in zip(*lanes, strict=True)]
    param, grad, m, v, top, zero = columns[:5] + [np.array(columns[5], dtype=bool)]
    signs = (grad.view(np.uint32) & np.uint32(0x80000000)).view(np.float32)  # ±0
    grad = np.where(zero, signs, grad)
    v = np.abs(v)
    lr, beta1, beta2, eps = scalars
    results = []
    for numba in (True, False):
        arrays = [a.copy() for a in (param, m, v, top)]
        with numba_path(numba):
            adam_step(arrays[0], grad, arrays[1], arrays[2], arrays[3] if options[1] else None,
                      np.empty_like(param), np.empty_like(param), step, lr, beta1, beta2, eps,
                      *options)  # fmt: skip
        results.append(arrays)
    for a, b in zip(*results, strict=True):
        assert _same(a, b)


def _train_with_dead_units(steps: int) -> Any:
    """A wide-style ReLU regression (20-64-64-1, MSE, Adam) trained eagerly; at step 50
    eight units of the second hidden layer are killed (their biases set to -1000), so the
    rows of the middle weight behind them get ±0 gradients from then on."""
    import chainrule
    from chainrule import nn, optim

    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 1))  # fmt: skip
    opt = optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    x = chainrule.from_numpy(rng.standard_normal((256, 20)).astype(np.float32))
    y = chainrule.from_numpy(rng.standard_normal((256, 1)).astype(np.float32))
    loss_fn = nn.MSELoss()
    for step in range(steps):
        if step == 50:
            bias = model[2].bias.detach().numpy()
            bias[:8] = -1000.0
            model[2].bias.data = chainrule.from_numpy(bias.copy())
        rows = slice(32 * (step % 8), 32 * (step % 8 + 1))
        opt.zero_grad()
        loss_fn(model(x[rows]), y[rows]).backward()
        opt.step()
    return model, opt


@needs_numba
def test_a_trained_model_holds_subnormal_moments_and_updates_as_the_twin() -> None:
    """After 1,000 steps the middle weight's first moments behind the dead units are
    subnormal (they decay by β1 per step, ~750 steps to pass 2^-126); one more Adam step
    on that state gives the same numbers with the loop as with the NumPy twin."""
    model, opt = _train_with_dead_units(1_000)
    weight = model[2].weight
    state = opt.state[weight]
    m = state["exp_avg"].view(np.uint32)
    subnormal = ((m & 0x7F800000) == 0) & ((m & 0x7FFFFF) != 0)
    assert subnormal[:8].all() and not subnormal[8:].any()  # the dead rows, and only they
    for p in model.parameters():
        st_ = opt.state[p]
        base = [p.detach().numpy().copy(), st_["exp_avg"].copy(), st_["exp_avg_sq"].copy()]
        grad = p.grad.detach().numpy().copy()
        results = []
        for numba in (True, False):
            param, m_, v_ = (a.copy() for a in base)
            with numba_path(numba):
                adam_step(param, grad, m_, v_, None, np.empty_like(param), None,
                          int(st_["step"]) + 1, 1e-3, 0.9, 0.999, 1e-8, 0.0, False, False,
                          False)  # fmt: skip
            results.append((param, m_, v_))
        for a, b in zip(*results, strict=True):
            assert a.tobytes() == b.tobytes()
        assert not np.array_equal(results[0][1], base[1])  # the step did something


@needs_numba
def test_a_shared_pass_over_subnormal_moments_gives_the_twins_numbers() -> None:
    """A parameter above kernels.halves.SHARE_MIN, its chunks possibly on two threads, with
    dead rows of subnormal m: the twin's numbers."""
    from chainrule.kernels.halves import SHARE_MIN

    rng = np.random.default_rng(11)
    size = SHARE_MIN + 3 * adam32.BLOCK + 7
    param = (rng.standard_normal(size) * 0.05).astype(np.float32)
    m = (rng.standard_normal(size) * 1e-4).astype(np.float32)
    v = (np.abs(rng.standard_normal(size)) * 1e-7).astype(np.float32)
    grad = (rng.standard_normal(size) * 1e-3).astype(np.float32)
    dead = np.repeat(rng.random(size // 100 + 1) < 0.2, 100)[:size]  # rows of 100
    grad[dead] = 0.0
    m[dead] = (rng.integers(1, 9, dead.sum()).astype(np.uint32)).view(np.float32)
    results = []
    for numba in (True, False):
        arrays = [a.copy() for a in (param, m, v)]
        with numba_path(numba):
            for step in (30, 31):
                adam_step(arrays[0], grad, arrays[1], arrays[2], None, np.empty_like(param),
                          None, step, 1e-3, 0.9, 0.999, 1e-8, 0.0, False, False, False)  # fmt: skip
        results.append(arrays)
    for a, b in zip(*results, strict=True):
        assert a.tobytes() == b.tobytes()
