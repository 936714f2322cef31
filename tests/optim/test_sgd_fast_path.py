"""Plain SGD's short loop (SGD.step) against the base class's checked step
(Optimizer.step, one `_update_param` per parameter): the same parameters bit for bit and
the same version counts, on both kernel paths, whatever changes between steps (a gradient
of None, of another dtype, strided, a replaced p.data, lr as a NumPy float, groups added)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule
from chainrule import optim
from tests.support.numba_paths import numba_path

Change = Callable[[list[chainrule.Tensor], optim.SGD, int], None]


def _no_change(params: list[chainrule.Tensor], opt: optim.SGD, step: int) -> None:
    pass


def _drop_a_gradient(params: list[chainrule.Tensor], opt: optim.SGD, step: int) -> None:
    params[step % len(params)].grad = None  # that parameter is skipped this step


def _float64_gradient(params: list[chainrule.Tensor], opt: optim.SGD, step: int) -> None:
    p = params[1]
    assert p.grad is not None
    p.grad = chainrule.tensor(p.grad.detach().numpy().astype(np.float64))  # cast to p's


def _strided_gradient(params: list[chainrule.Tensor], opt: optim.SGD, step: int) -> None:
    p = params[0]
    assert p.grad is not None
    g = p.grad.detach().numpy()
    p.grad = chainrule.from_numpy(np.asfortranarray(g) if step % 2 else np.tile(g, 2)[:, ::2])


def _replaced_data(params: list[chainrule.Tensor], opt: optim.SGD, step: int) -> None:
    if step == 3:  # a strided array: the loop does not take it, the NumPy path writes it
        p = params[0]
        base = np.zeros((p.shape[0], 2 * p.shape[1]), p.detach().numpy().dtype)
        base[:, ::2] = p.detach().numpy()
        p.data = chainrule.from_numpy(base[:, ::2])
    if step == 5:  # a new contiguous array
        params[2].data = chainrule.from_numpy(params[2].detach().numpy() * 2)


def _numpy_lr(params: list[chainrule.Tensor], opt: optim.SGD, step: int) -> None:
    opt.param_groups[0]["lr"] = np.float32(0.1) if step % 2 else 0.3 / (1 + step)


def _wrong_shape(params: list[chainrule.Tensor], opt: optim.SGD, step: int) -> None:
    if step == 4:
        params[2].grad = chainrule.zeros(3, 3)


CHANGES = [
    _no_change, _drop_a_gradient, _float64_gradient, _strided_gradient, _replaced_data,
    _numpy_lr, _wrong_shape,
]  # fmt: skip


def _run(step: Callable[[optim.SGD], Any], change: Change, dtype: Any) -> list[Any]:
    """Six steps of two groups (the second added later) under `change`; the
    parameters, their versions and any error after each step."""
    rng = np.random.default_rng(0)
    shapes = [(4, 3), (3,), (2, 4), (2,)]
    params = [chainrule.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
              for s in shapes]  # fmt: skip
    opt = optim.SGD(params[:2], lr=0.1)
    seen: list[Any] = []
    for t in range(7):
        if t == 2:
            opt.add_param_group({"params": params[2:], "lr": 0.05})
        for i, p in enumerate(params):
            g = np.sin(t + i + np.arange(p.numel(), dtype=np.float64)).reshape(p.shape)
            p.grad = chainrule.tensor(g.astype(dtype))
        change(params, opt, t)
        try:
            step(opt)
            seen.append(None)
        except RuntimeError as error:
            seen.append(str(error))
        seen += [(p.detach().numpy().copy(), p._version) for p in params]
    return seen


@pytest.mark.parametrize("change", CHANGES, ids=[c.__name__ for c in CHANGES])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("compiled", [True, False], ids=["numba", "numpy"])
def test_short_loop_is_the_checked_step(change: Change, dtype: Any, compiled: bool) -> None:
    with numba_path(compiled):
        fast = _run(lambda opt: opt.step(), change, dtype)
        checked = _run(lambda opt: optim.Optimizer.step(opt), change, dtype)
    assert len(fast) == len(checked)
    for a, b in zip(fast, checked, strict=True):
        if isinstance(a, tuple):
            assert a[0].dtype == b[0].dtype and np.array_equal(a[0], b[0])
            assert a[1] == b[1]  # the same version count
        else:
            assert a == b
    if change is _wrong_shape:
        assert any(isinstance(x, str) and "does not match" in x for x in fast)


@pytest.mark.parametrize("compiled", [True, False], ids=["numba", "numpy"])
def test_short_loop_matches_torch(compiled: bool) -> None:
    rng = np.random.default_rng(1)
    start = [rng.standard_normal(s).astype(np.float32) for s in [(5, 3), (5,), (2, 5)]]
    ours = [chainrule.tensor(a.copy(), requires_grad=True) for a in start]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in start]
    opt, torch_opt = optim.SGD(ours, lr=0.2), torch.optim.SGD(theirs, lr=0.2)
    with numba_path(compiled):
        for t in range(10):
            for i, (p, q) in enumerate(zip(ours, theirs, strict=True)):
                g = np.cos(t * 0.7 + i + np.arange(p.numel())).reshape(p.shape)
                p.grad = chainrule.tensor(g.astype(np.float32))
                q.grad = torch.tensor(g.astype(np.float32))
            opt.step()
            torch_opt.step()
    for p, q in zip(ours, theirs, strict=True):
        # torch adds -γ·g with a fused multiply-add: the same to float32 rounding
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-6, atol=1e-7)
        assert p._version == q._version
