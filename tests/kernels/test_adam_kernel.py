"""Adam's kernel (chainrule.kernels.adam): the compiled loop and the NumPy twin give bitwise
the same numbers for every option, in float32 and float64; arrays
the loop cannot take go to NumPy in place; the twin allocates nothing."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from chainrule.kernels.adam import adam_numpy, adam_step
from tests.support.numba_paths import needs_numba, numba_path

# (weight_decay, amsgrad, maximize, decoupled): every combination
OPTIONS = list(itertools.product((0.0, 0.1), (False, True), (False, True), (False, True)))


def _trajectory(dtype: Any, options: tuple[Any, ...], shape: tuple[int, ...], steps: int = 7):
    rng = np.random.default_rng(1)
    param = rng.standard_normal(shape).astype(dtype)
    moments = [np.zeros_like(param) for _ in range(3)]
    scratch, spare = np.empty_like(param), np.empty_like(param)
    for step in range(1, steps + 1):
        grad = rng.standard_normal(shape).astype(dtype)
        grad.reshape(-1)[:: 3 + step] = 0.0  # exact zeros: v stays small, m changes sign
        if step == 4:
            grad *= 1e3  # AMSGrad's maximum is then kept for the later steps
        adam_step(param, grad, *moments, scratch, spare, step, 0.02, 0.9, 0.99, 1e-6, *options)
    return [param, *moments]


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", OPTIONS, ids=[str(o) for o in OPTIONS])
def test_the_compiled_loop_is_bitwise_the_numpy_twin(dtype: Any, options: Any) -> None:
    fused = _trajectory(dtype, options, (37, 11))  # odd sizes: the vector loop's tail
    with numba_path(False):
        plain = _trajectory(dtype, options, (37, 11))
    for a, b in zip(fused, plain, strict=True):
        assert a.dtype == dtype
        assert np.array_equal(a, b)


def _one_step(param: np.ndarray) -> list[np.ndarray]:
    m, v = np.zeros_like(param), np.zeros_like(param)
    grad = np.linspace(-2, 3, param.size).reshape(param.shape).astype(param.dtype)
    adam_step(param, grad, m, v, None, np.empty_like(param), None, 1, 0.1, 0.9, 0.999,
              1e-8, 0.0, False, False, False)  # fmt: skip
    return [param, m, v]


@needs_numba
def test_arrays_the_loop_cannot_take_go_to_numpy_in_place() -> None:
    """A transposed (Fortran-order) parameter takes the NumPy path, in place, with the
    numbers the loop gives its C-order copy; float16 stays float16, updated in place."""
    rng = np.random.default_rng(3)
    start = np.asfortranarray(rng.standard_normal((6, 5)).astype(np.float32))
    fortran = start.copy(order="F")
    for a, b in zip(_one_step(fortran), _one_step(np.ascontiguousarray(start)), strict=True):
        assert np.array_equal(a, b)
    assert fortran.flags.f_contiguous and not np.array_equal(fortran, start)
    half = rng.standard_normal((6, 5)).astype(np.float16)
    updated = _one_step(half.copy())[0]
    assert updated.dtype == np.float16
    sign = np.sign(np.linspace(-2, 3, 30)).reshape(6, 5)  # the step is γ·sign(g) at t = 1
    np.testing.assert_allclose(updated, half - 0.1 * sign, atol=2e-3)


def test_the_numpy_twin_allocates_nothing_it_writes_into_the_scratch() -> None:
    """Every temporary goes into scratch/spare: the outputs are the arrays passed in."""
    param = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    state = [np.zeros_like(param) for _ in range(3)]
    scratch, spare = np.full_like(param, np.nan), np.full_like(param, np.nan)
    ids = [id(a) for a in (param, *state)]
    adam_numpy(param, np.ones_like(param), *state, scratch, spare, 1, 0.1, 0.9, 0.999, 1e-8,
               0.1, True, True, False)  # fmt: skip
    assert [id(a) for a in (param, *state)] == ids
    assert not np.isnan(scratch).any() and not np.isnan(spare).any()  # both were used


def test_a_float32_quotient_is_the_float64_product_by_the_inverse_rounded() -> None:
    """The compiled float32 loop computes √v̄ / √(1 - β2^t) as float32(float64(√v̄) · r),
    r = 1/√(1 - β2^t) in float64 (the module's note proves it is the float32 quotient):
    checked here on a million quotients over the whole normal range, for the divisors Adam
    makes (β2 of 0.9 to 0.99999, steps 1 to 10^5) and random ones in (0, 1]."""
    rng = np.random.default_rng(7)
    bits = rng.integers(0x00800000, 0x75000000, 1_000_000, dtype=np.uint32)  # normal, < 2^107
    values = bits.view(np.float32)
    steps = np.unique(np.geomspace(1, 100_000, 60).astype(np.int64))
    divisors = [np.float32(np.sqrt(1 - beta2**t)) for beta2 in (0.9, 0.99, 0.999, 0.99999)
                for t in steps]  # fmt: skip
    divisors += list(rng.uniform(1e-6, 1.0, 40).astype(np.float32)) + [np.float32(1.0)]
    for divisor in divisors:
        chunk = values[rng.integers(0, values.size, 25_000)]
        product = (chunk.astype(np.float64) * (1.0 / float(divisor))).astype(np.float32)
        assert np.array_equal(chunk / divisor, product), divisor


@needs_numba
def test_kept_scalars_follow_every_option_and_the_sign_of_zero() -> None:
    """adam_step keeps the loop's scalars of its last call: calls that alternate between
    option sets (step, lr, betas, ε, λ, dtype, switches), including lr 0.0 against -0.0
    on parameters holding ±0, each give the NumPy twin's numbers."""
    rng = np.random.default_rng(5)
    calls = [  # (dtype, step, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled)
        (np.float32, 3, 0.01, 0.9, 0.999, 1e-8, 0.0, False, False, False),
        (np.float32, 3, 0.02, 0.9, 0.999, 1e-8, 0.0, False, False, False),
        (np.float32, 4, 0.01, 0.9, 0.999, 1e-8, 0.0, False, False, False),
        (np.float32, 3, 0.01, 0.8, 0.99, 1e-6, 0.1, True, True, False),
        (np.float32, 3, 0.01, 0.8, 0.99, 1e-6, 0.1, True, True, True),
        (np.float64, 3, 0.01, 0.9, 0.999, 1e-8, 0.0, False, False, False),
        (np.float32, 1, 0.0, 0.0, 0.5, 0.0, 0.0, False, False, False),
        (np.float32, 1, -0.0, 0.0, 0.5, 0.0, 0.0, False, False, False),
        (np.float32, 1, 0.0, -0.0, 0.5, 0.0, 0.0, False, False, False),
    ]
    for _ in range(2):
        for dtype, *options in calls:
            param = rng.standard_normal(40).astype(dtype)
            param[:8] = [0.0, -0.0] * 4
            grad = rng.standard_normal(40).astype(dtype)
            grad[:4] = [0.0, -0.0, 0.0, -0.0]
            state = [np.abs(rng.standard_normal(40)).astype(dtype) * s for s in (0.1, 0.01, 0.02)]
            state[0][:4] = [0.0, -0.0, -0.0, 0.0]
            fused = [a.copy() for a in (param, *state)]
            plain = [a.copy() for a in (param, *state)]
            step, lr, b1, b2, eps, wd, amsgrad, maximize, decoupled = options
            for arrays, numba in ((fused, True), (plain, False)):
                with numba_path(numba):
                    adam_step(arrays[0], grad, arrays[1], arrays[2], arrays[3],
                              np.empty_like(param), np.empty_like(param), step, lr, b1, b2,
                              eps, wd, amsgrad, maximize, decoupled)  # fmt: skip
            for a, b in zip(fused, plain, strict=True):
                assert a.tobytes() == b.tobytes(), (dtype, options)


@needs_numba
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_no_scratch_when_numba_is_on_and_a_parameter_needs_numpy(weight_decay: float) -> None:
    """optim.Adam passes no scratch when numba is on; a parameter the loop cannot take (a
    strided p.data) then gets new temporaries from adam_step: the NumPy path's numbers,
    bitwise, as with numba off (which uses the optimizer's kept scratch)."""
    import chainrule
    from chainrule import optim

    def run(compiled: bool) -> list[np.ndarray]:
        rng = np.random.default_rng(4)
        base = rng.standard_normal((5, 8)).astype(np.float32)
        params = [chainrule.tensor(base.copy(), requires_grad=True),
                  chainrule.tensor(base[:, 0].copy(), requires_grad=True)]  # fmt: skip
        params[0].data = chainrule.from_numpy(np.asfortranarray(base))  # strided in C terms
        with numba_path(compiled):
            opt = optim.Adam(params, lr=0.05, weight_decay=weight_decay)
            for t in range(5):
                for i, p in enumerate(params):
                    g = np.cos(t + i + np.arange(p.numel(), dtype=np.float32))
                    p.grad = chainrule.tensor(g.reshape(p.shape))
                opt.step()
        return [p.detach().numpy().copy() for p in params]

    for a, b in zip(run(True), run(False), strict=True):
        assert np.array_equal(a, b)
