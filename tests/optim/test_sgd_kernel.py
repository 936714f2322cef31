"""Plain SGD's step takes the compiled update (chainrule.kernels.sgd) when numba is on and
NumPy's θ -= γ·g otherwise: the same parameters, bit for bit, either way."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import chainrule
from chainrule import kernels, nn, optim
from chainrule.nn import functional as F


def _train(numba_on: bool, dtype: str) -> list[np.ndarray]:
    before = kernels.numba_enabled()
    kernels.set_numba_enabled(numba_on)
    try:
        chainrule.manual_seed(0)
        model = nn.Sequential(nn.Linear(5, 70), nn.Tanh(), nn.Linear(70, 3))  # 350 and 4900
        if dtype == "float64":
            model = model.double()
        opt = optim.SGD(model.parameters(), lr=0.05)
        rng = np.random.default_rng(0)
        for step in range(20):
            x = chainrule.tensor(rng.standard_normal((16, 5)).astype(dtype))
            y = chainrule.tensor(rng.integers(0, 3, 16))
            opt.param_groups[0]["lr"] = 0.05 / (1 + step)  # a schedule: new floats
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        return [p.detach().numpy().copy() for p in model.parameters()]
    finally:
        kernels.set_numba_enabled(before)


@pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="numba not installed")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_and_numpy_sgd_agree_bitwise(dtype):
    compiled, plain = _train(True, dtype), _train(False, dtype)
    for a, b in zip(compiled, plain, strict=True):
        assert a.dtype == np.dtype(dtype)
        assert np.array_equal(a, b)
    assert not np.array_equal(compiled[0], _train(False, dtype)[0] * 0)  # they trained
