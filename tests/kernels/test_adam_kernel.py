"""Adam's kernel (chainrule.kernels.adam): the compiled loop and the NumPy twin give bitwise
the same numbers for every option, in float32 and float64; optim.Adam/AdamW follow torch's
trajectories on both paths; a captured step equals the eager one on both; switching paths
mid-training changes nothing; CHAINRULE_NUMBA=0 selects the NumPy path in a real process."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch

import chainrule
from chainrule import kernels, nn, optim
from chainrule.kernels.adam import adam_numpy, adam_step

needs_numba = pytest.mark.skipif(
    not kernels.numba_enabled(), reason="numba (the fast extra) is not installed"
)
PATHS = [pytest.param(True, id="numba", marks=needs_numba), pytest.param(False, id="numpy")]


@pytest.fixture
def path(request: pytest.FixtureRequest) -> Iterator[bool]:
    """Run the test with the compiled kernels on (numba) or off (NumPy), then restore."""
    before = kernels.numba_enabled()
    kernels.set_numba_enabled(request.param)
    yield request.param
    kernels.set_numba_enabled(before)


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
    before = kernels.numba_enabled()
    try:
        fused = _trajectory(dtype, options, (37, 11))  # odd sizes: the vector loop's tail
        kernels.set_numba_enabled(False)
        plain = _trajectory(dtype, options, (37, 11))
    finally:
        kernels.set_numba_enabled(before)
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


TORCH_CASES = [
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True, "maximize": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}),
    ("AdamW", {"lr": 0.05, "maximize": True, "betas": (0.8, 0.99), "eps": 1e-6}),
]


@pytest.mark.parametrize("path", PATHS, indirect=True)
@pytest.mark.parametrize(("name", "kwargs"), TORCH_CASES, ids=[str(c) for c in TORCH_CASES])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_trajectories_match_torch_on_both_paths(
    path: bool, name: str, kwargs: dict[str, Any], dtype: Any
) -> None:
    rng = np.random.default_rng(7)
    start = [rng.standard_normal(s).astype(dtype) for s in [(3, 4), (5,), (2, 3, 5)]]
    ours = [chainrule.tensor(a.copy(), requires_grad=True) for a in start]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in start]
    optimizer = getattr(optim, name)(ours, **kwargs)
    torch_optimizer = getattr(torch.optim, name)(theirs, **kwargs)
    tol = 1e-6 if dtype == np.float64 else 1e-4  # float32: torch rounds lerp/addcdiv its way
    for t in range(20):
        for i, (p, tp) in enumerate(zip(ours, theirs, strict=True)):
            g = np.sin(1.3 * t + np.arange(p.numel()).reshape(p.shape) + i).astype(dtype)
            g += p.detach().numpy()  # ∇ of ½θ² plus a wobble whose sign changes
            p.grad, tp.grad = chainrule.tensor(g), torch.tensor(g)
        optimizer.step()
        torch_optimizer.step()
        for p, tp in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=tol, atol=tol)


def _wide() -> nn.Sequential:
    chainrule.manual_seed(2)  # the bench's wide shape, smaller: a matrix, vectors, one bias
    return nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                         nn.Linear(64, 1))  # fmt: skip


def _batches(count: int) -> list[Any]:
    rng = np.random.default_rng(4)
    return [(chainrule.tensor(rng.standard_normal((16, 20)).astype(np.float32)),
             chainrule.tensor(rng.standard_normal((16, 1)).astype(np.float32)))
            for _ in range(count)]  # fmt: skip


OPTIMIZERS = {
    "adam": lambda m: optim.Adam(m.parameters(), lr=0.01),
    "adam l2+amsgrad+maximize": lambda m: optim.Adam(
        m.parameters(), lr=1e-3, weight_decay=0.1, amsgrad=True, maximize=True
    ),
    "adamw amsgrad": lambda m: optim.AdamW(m.parameters(), lr=0.01, amsgrad=True),
}


@pytest.mark.parametrize("path", PATHS, indirect=True)
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_captured_and_eager_steps_are_bitwise_equal_on_both_paths(path: bool, name: str) -> None:
    eager_model, captured_model = _wide(), _wide()
    eager_opt = OPTIMIZERS[name](eager_model)
    captured_opt = OPTIMIZERS[name](captured_model)
    loss_fn = nn.MSELoss()
    step = chainrule.compile_step(captured_model, loss_fn, captured_opt)
    for xb, yb in _batches(6):
        eager_opt.zero_grad()
        loss = loss_fn(eager_model(xb), yb)
        loss.backward()
        eager_opt.step()
        assert step(xb, yb).item() == loss.item()
    assert "adam_step(" in step.code  # the recorded step wrote the update out
    for a, b in zip(eager_model.parameters(), captured_model.parameters(), strict=True):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())
        for key, value in eager_opt.state[a].items():
            assert np.array_equal(value, captured_opt.state[b][key]), key


@needs_numba
def test_switching_paths_mid_training_and_a_state_dict_round_trip_change_nothing() -> None:
    """Train 8 steps on numba; and 4 on numba, save, load into a fresh optimizer, 4 on
    NumPy: bitwise the same parameters and torch-layout state."""
    runs = []
    for switch in (False, True):
        kernels.set_numba_enabled(True)
        model = _wide()
        optimizer = optim.AdamW(model.parameters(), lr=0.01, amsgrad=True)
        for number, (xb, yb) in enumerate(_batches(8)):
            if switch and number == 4:
                saved = optimizer.state_dict()
                optimizer = optim.AdamW(model.parameters(), lr=0.5)
                optimizer.load_state_dict(saved)
                kernels.set_numba_enabled(False)
            optimizer.zero_grad()
            nn.MSELoss()(model(xb), yb).backward()
            optimizer.step()
        runs.append((model, optimizer.state_dict()))
    kernels.set_numba_enabled(True)
    (first, first_state), (second, second_state) = runs
    for a, b in zip(first.parameters(), second.parameters(), strict=True):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    assert first_state["param_groups"] == second_state["param_groups"]
    for index, entry in first_state["state"].items():
        assert sorted(entry) == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]
        assert entry["step"] == second_state["state"][index]["step"] == 8
        for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
            assert np.array_equal(entry[key], second_state["state"][index][key])


def test_chainrule_numba_0_selects_numpy_in_a_fresh_process() -> None:
    script = (
        "import numpy as np, chainrule\n"
        "from chainrule import kernels, optim\n"
        "p = chainrule.tensor(np.ones(3, np.float32), requires_grad=True)\n"
        "o = optim.Adam([p], lr=0.1); p.grad = chainrule.tensor(np.ones(3, np.float32))\n"
        "o.step(); import sys\n"
        "print(kernels.numba_enabled(), 'numba' in sys.modules, p.detach().numpy()[0])\n"
    )
    env = {**os.environ, "CHAINRULE_NUMBA": "0"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, check=True, timeout=120).stdout.split()  # fmt: skip
    assert out[:2] == ["False", "False"]  # NumPy's path, and numba never imported
    assert float(out[2]) == pytest.approx(0.9, rel=1e-6)  # 1 - γ·m̂/(√v̂ + ε) at t = 1
