"""optim.Adam/AdamW/SGD on both of chainrule.kernels' paths (numba, NumPy): torch's
trajectories, captured steps bitwise equal to eager ones, switching paths mid-training
through a state_dict round trip changes nothing, and CHAINRULE_NUMBA=0 in a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
import torch

import chainrule
from chainrule import nn, optim
from tests.support.numba_paths import needs_numba, numba_path

TORCH_CASES = [
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True, "maximize": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}),
    ("AdamW", {"lr": 0.05, "maximize": True, "betas": (0.8, 0.99), "eps": 1e-6}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "dampening": 0.3, "maximize": True}),
    ("SGD", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
]


@pytest.mark.parametrize(("name", "kwargs"), TORCH_CASES, ids=[str(c) for c in TORCH_CASES])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_trajectories_match_torch_on_both_paths(
    path: str, name: str, kwargs: dict[str, Any], dtype: Any
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
    chainrule.manual_seed(2)  # the bench's wide shape, smaller: matrices, vectors, one bias
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
    "sgd momentum": lambda m: optim.SGD(m.parameters(), lr=0.01, momentum=0.9),
    "sgd nesterov+decay+maximize": lambda m: optim.SGD(
        m.parameters(), lr=1e-3, momentum=0.8, nesterov=True, weight_decay=0.1, maximize=True
    ),
    "sgd decay": lambda m: optim.SGD(m.parameters(), lr=0.01, weight_decay=0.1),
}
KERNEL_CALL = {"adam": "adam_step(", "sgd": "sgd_step("}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_captured_and_eager_steps_are_bitwise_equal_on_both_paths(path: str, name: str) -> None:
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
    assert KERNEL_CALL[name[:4].strip()] in step.code  # the recorded step wrote it out
    for a, b in zip(eager_model.parameters(), captured_model.parameters(), strict=True):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())
        for key, value in eager_opt.state[a].items():
            assert np.array_equal(value, captured_opt.state[b][key]), key


SWITCHED = {
    "adamw amsgrad": (
        lambda m, lr: optim.AdamW(m.parameters(), lr=lr, amsgrad=True),
        ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"],
    ),
    "sgd nesterov": (
        lambda m, lr: optim.SGD(m.parameters(), lr=lr, momentum=0.9, nesterov=True),
        ["momentum_buffer"],
    ),
}


@needs_numba
@pytest.mark.parametrize("name", list(SWITCHED))
def test_switching_paths_mid_training_through_a_state_dict_changes_nothing(name: str) -> None:
    """8 steps on numba; and 4 on numba, a state_dict loaded into a fresh optimizer, 4 on
    NumPy: bitwise the same parameters and the same torch-layout state."""
    make, keys = SWITCHED[name]
    runs = []
    for switch in (False, True):
        with numba_path(True):
            model = _wide()
            optimizer = make(model, 0.01)
            for number, (xb, yb) in enumerate(_batches(8)):
                if switch and number == 4:
                    saved = optimizer.state_dict()
                    optimizer = make(model, 0.5)  # the saved lr wins
                    optimizer.load_state_dict(saved)
                    chainrule.kernels.set_numba_enabled(False)
                optimizer.zero_grad()
                nn.MSELoss()(model(xb), yb).backward()
                optimizer.step()
            runs.append((model, optimizer.state_dict()))
    (first, first_state), (second, second_state) = runs
    for a, b in zip(first.parameters(), second.parameters(), strict=True):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    assert first_state["param_groups"] == second_state["param_groups"]
    for index, entry in first_state["state"].items():
        assert sorted(entry) == keys
        for key in keys:
            assert np.array_equal(entry[key], second_state["state"][index][key])


def test_chainrule_numba_0_selects_numpy_in_a_fresh_process() -> None:
    script = (
        "import sys, numpy as np, chainrule\n"
        "from chainrule import kernels, optim\n"
        "p = chainrule.tensor(np.ones(3, np.float32), requires_grad=True)\n"
        "o = optim.Adam([p], lr=0.1); p.grad = chainrule.tensor(np.ones(3, np.float32))\n"
        "o.step()\n"
        "print(kernels.numba_enabled(), 'numba' in sys.modules, p.detach().numpy()[0])\n"
    )
    env = {**os.environ, "CHAINRULE_NUMBA": "0"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, check=True, timeout=120).stdout.split()  # fmt: skip
    assert out[:2] == ["False", "False"]  # NumPy's path, and numba never imported
    assert float(out[2]) == pytest.approx(0.9, rel=1e-6)  # 1 - γ·m̂/(√v̂ + ε) at t = 1


def test_the_public_update_functions_call_the_kernels(path: str) -> None:
    """optim.adam.adam_update and optim.sgd.sgd_update (keyword forms, scratch optional)
    give the optimizers' numbers."""
    from chainrule.optim.adam import adam_update
    from chainrule.optim.sgd import sgd_update

    rng = np.random.default_rng(9)
    start, grad = rng.standard_normal((7, 3)), rng.standard_normal((7, 3))
    tensor = chainrule.tensor(start.copy(), requires_grad=True)
    tensor.grad = chainrule.tensor(grad)
    optim.Adam([tensor], lr=0.1, weight_decay=0.2, maximize=True).step()
    param, m, v = start.copy(), np.zeros_like(start), np.zeros_like(start)
    adam_update(param, grad, m, v, None, step=1, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8,
                weight_decay=0.2, amsgrad=False, maximize=True,
                decoupled_weight_decay=False)  # fmt: skip
    assert np.array_equal(param, tensor.detach().numpy())
    # a caller's scratch without a spare: the L2 decay's temporary is made for it
    param, m, v = start.copy(), np.zeros_like(start), np.zeros_like(start)
    adam_update(param, grad, m, v, None, step=1, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8,
                weight_decay=0.2, amsgrad=False, maximize=True, decoupled_weight_decay=False,
                scratch=np.empty_like(start))  # fmt: skip
    assert np.array_equal(param, tensor.detach().numpy())
    tensor = chainrule.tensor(start.copy(), requires_grad=True)
    tensor.grad = chainrule.tensor(grad)
    optim.SGD([tensor], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.2).step()
    param = start.copy()
    buf = sgd_update(param, grad, None, lr=0.1, momentum=0.9, dampening=0.0,
                     weight_decay=0.2, nesterov=True, maximize=False)  # fmt: skip
    assert buf is not None and np.array_equal(param, tensor.detach().numpy())


def test_a_numba_that_does_not_load_warns_once_and_numpy_runs() -> None:
    """An installed but broken numba (here: its import raises, as an llvmlite mismatch
    does) gives one RuntimeWarning saying what to do, and the NumPy kernels' numbers."""
    script = (
        "import sys, warnings, importlib.abc, numpy as np, chainrule\n"
        "class Broken(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'numba':\n"
        "            raise ImportError('llvmlite 0.1 is not the version numba needs')\n"
        "sys.meta_path.insert(0, Broken())\n"
        "from chainrule import kernels, optim\n"
        "kernels.importlib.util.find_spec = lambda name: object()  # 'installed'\n"
        "p = chainrule.tensor(np.ones(3, np.float32), requires_grad=True)\n"
        "o = optim.Adam([p], lr=0.1)\n"
        "with warnings.catch_warnings(record=True) as seen:\n"
        "    warnings.simplefilter('always')\n"
        "    for _ in range(2):\n"
        "        p.grad = chainrule.tensor(np.ones(3, np.float32)); o.step()\n"
        "print(kernels.numba_enabled(), len(seen), p.detach().numpy()[0])\n"
        "print(seen[0].message)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "CHAINRULE_NUMBA"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, check=True, timeout=120).stdout.splitlines()  # fmt: skip
    enabled, count, value = out[0].split()
    assert (enabled, count) == ("False", "1")
    assert float(value) == pytest.approx(0.8, rel=1e-5)  # two Adam steps of γ = 0.1
    assert "numba is installed but does not load (ImportError: llvmlite 0.1" in out[1]
    assert "CHAINRULE_NUMBA=0" in out[1]
