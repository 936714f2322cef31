"""SGD's steps are torch.optim.SGD's bit for bit, for every option and both dtypes, with
numba on and off: each "+ α·x" of the rule is one fused multiply-add in both (torch's
``add(..., alpha=)`` on a CPU; chainrule.kernels.fma)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import chainrule
from chainrule import optim
from chainrule.kernels.axpy import AXPY_MIN
from tests.support.numba_paths import numba_path

torch = pytest.importorskip("torch")


def _option_sets() -> list[dict[str, object]]:
    sets = []
    for momentum, dampening, nesterov, decay, maximize in itertools.product(
        (0.0, 0.9), (0.0, 0.1), (False, True), (0.0, 0.01), (False, True)
    ):
        if nesterov and (momentum == 0 or dampening != 0):
            continue  # torch refuses it too
        if momentum == 0 and dampening != 0:
            continue  # dampening without momentum does nothing
        sets.append({"momentum": momentum, "dampening": dampening, "nesterov": nesterov,
                     "weight_decay": decay, "maximize": maximize})  # fmt: skip
    return sets


# past AXPY_MIN (the BLAS path of plain SGD), a vector body and tails, a single value
SHAPES = [(300, (AXPY_MIN // 300) + 1), (37, 5), (19,), (1,)]


@pytest.mark.parametrize("options", _option_sets(), ids=lambda o: ",".join(
    f"{k}={v}" for k, v in o.items() if v))  # fmt: skip
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("numba", [True, False], ids=["numba", "numpy"])
def test_sgd_steps_are_torchs_bitwise(options, dtype, numba) -> None:
    rng = np.random.default_rng(7)
    start = [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]
    mine = [chainrule.tensor(a.copy(), requires_grad=True) for a in start]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in start]
    with numba_path(numba):
        opt = optim.SGD(mine, lr=0.1, **options)
        torch_opt = torch.optim.SGD(theirs, lr=0.1, **options)
        for _ in range(4):
            grads = [(rng.standard_normal(a.shape) * 10 ** rng.uniform(-2, 2)).astype(dtype)
                     for a in start]  # fmt: skip
            for p, q, g in zip(mine, theirs, grads, strict=True):
                p.grad = chainrule.tensor(g.copy())
                q.grad = torch.tensor(g.copy())
            opt.step()
            torch_opt.step()
    for p, q in zip(mine, theirs, strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


@pytest.mark.parametrize("foreach", [False, True])
def test_plain_sgd_is_torchs_with_foreach_either_way(foreach) -> None:
    """torch's two CPU paths (a loop of add_, or _foreach_add_) round alike."""
    rng = np.random.default_rng(8)
    start = rng.standard_normal((64, 33)).astype(np.float32)
    mine = chainrule.tensor(start.copy(), requires_grad=True)
    theirs = torch.tensor(start.copy(), requires_grad=True)
    opt = optim.SGD([mine], lr=1 / 3)
    torch_opt = torch.optim.SGD([theirs], lr=1 / 3, foreach=foreach)
    for _ in range(3):
        g = rng.standard_normal(start.shape).astype(np.float32)
        mine.grad, theirs.grad = chainrule.tensor(g.copy()), torch.tensor(g.copy())
        opt.step()
        torch_opt.step()
    np.testing.assert_array_equal(mine.detach().numpy(), theirs.detach().numpy())


@pytest.mark.parametrize("dampening", [0.0, 1.0])
@pytest.mark.parametrize("numba", [True, False], ids=["numba", "numpy"])
def test_a_zero_factor_still_multiplies(dampening, numba) -> None:
    """lr = 0 (a warm-up's first step) and dampening = 1 make an "+ 0·x": torch's fma
    gives NaN for an infinite or NaN gradient and +0 for θ = -0 with a negative gradient,
    where OpenBLAS's axpy returns early for alpha = 0 (chainrule.kernels.axpy refuses it)."""
    size = AXPY_MIN + 3  # the BLAS path of plain SGD, were it taken
    start = np.ones(size, np.float32)
    start[2] = -0.0
    grad = np.ones(size, np.float32)
    grad[:3] = (np.inf, np.nan, -3.0)
    mine = chainrule.tensor(start.copy(), requires_grad=True)
    theirs = torch.tensor(start.copy(), requires_grad=True)
    options = {"lr": 0.0} if dampening == 0 else {"lr": 0.1, "momentum": 0.9, "dampening": 1.0}
    with numba_path(numba):
        opt = optim.SGD([mine], **options)
        torch_opt = torch.optim.SGD([theirs], **options)
        for _ in range(2):
            mine.grad, theirs.grad = chainrule.tensor(grad.copy()), torch.tensor(grad.copy())
            opt.step()
            torch_opt.step()
    got, want = mine.detach().numpy(), theirs.detach().numpy()
    assert np.isnan(want[0]) and np.isnan(want[1])  # what torch gives, so the test can fail
    np.testing.assert_array_equal(got.view(np.int32), want.view(np.int32))
