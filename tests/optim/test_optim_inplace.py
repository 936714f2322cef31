"""The optimizers' in-place updates (temporaries in a kept scratch buffer) give bitwise the
numbers of the same formulas written as plain NumPy expressions, which allocate."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule
from chainrule import optim
from tests.support.exact_fma import exact_fma


def reference_adam(p, g, m, v, vmax, t, lr, b1, b2, eps, wd, amsgrad, decoupled):
    """Adam as expressions (what adam_update computed before it wrote into scratch)."""
    if wd:
        if decoupled:
            p *= 1 - lr * wd
        else:
            g = g + wd * p
    m *= b1
    m += (1 - b1) * g
    v *= b2
    v += (1 - b2) * np.square(g)
    second = v
    if amsgrad:
        np.maximum(vmax, v, out=vmax)
        second = vmax
    denom = np.sqrt(second)
    denom /= math.sqrt(1 - b2**t)
    denom += eps
    p -= (np.divide(m, denom) * (lr / (1 - b1**t))).astype(p.dtype)


def params_of(shapes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


# the largest parameter first and last: the shared scratch is grown, or viewed smaller
@pytest.mark.parametrize("shapes", [[(64, 32), (32,), (3, 4)], [(3,), (5, 7), (128, 64)]])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"weight_decay": 0.1},
        {"weight_decay": 0.1, "decoupled_weight_decay": True},
        {"amsgrad": True},
    ],
)
def test_adam_in_place_matches_the_expressions_bitwise(shapes, dtype, options) -> None:
    start = params_of(shapes, dtype)
    tensors = [chainrule.tensor(a.copy(), requires_grad=True) for a in start]
    opt = optim.Adam(tensors, lr=0.01, **options)
    ref = [a.copy() for a in start]
    moments = [[np.zeros_like(a), np.zeros_like(a), np.zeros_like(a)] for a in start]
    rng = np.random.default_rng(1)
    for t in range(1, 6):
        grads = [rng.standard_normal(a.shape).astype(dtype) for a in start]
        for tensor, g in zip(tensors, grads, strict=True):
            tensor.grad = chainrule.tensor(g.copy())
        opt.step()
        for p, g, (m, v, vmax) in zip(ref, grads, moments, strict=True):
            reference_adam(p, g, m, v, vmax, t, 0.01, 0.9, 0.999, 1e-8,
                           options.get("weight_decay", 0.0), options.get("amsgrad", False),
                           options.get("decoupled_weight_decay", False))  # fmt: skip
    for tensor, p in zip(tensors, ref, strict=True):
        np.testing.assert_array_equal(tensor.detach().numpy(), p)


SGD_OPTIONS = [
    {},  # plain: 80x64 weights (past SCRATCH_MIN) take the scratch buffer, the bias does not
    {"momentum": 0.9},
    {"momentum": 0.9, "dampening": 0.1},
    {"momentum": 0.9, "nesterov": True},
    {"weight_decay": 0.01},
]


@pytest.mark.parametrize("options", SGD_OPTIONS)
def test_sgd_in_place_matches_the_expressions_bitwise(options) -> None:
    start = params_of([(80, 64), (30,)], np.float32)
    tensors = [chainrule.tensor(a.copy(), requires_grad=True) for a in start]
    opt = optim.SGD(tensors, lr=0.05, **options)
    ref = [a.copy() for a in start]
    buffers: list[np.ndarray | None] = [None, None]
    mu, tau = options.get("momentum", 0.0), options.get("dampening", 0.0)
    rng = np.random.default_rng(2)
    for _ in range(4):
        grads = [rng.standard_normal(a.shape).astype(np.float32) for a in start]
        for tensor, g in zip(tensors, grads, strict=True):
            tensor.grad = chainrule.tensor(g.copy())
        opt.step()
        for i, (p, g) in enumerate(zip(ref, grads, strict=True)):
            # each "+ α·x" rounded once, as torch.optim.SGD's add(..., alpha=α)
            if "weight_decay" in options:
                g = exact_fma(p, options["weight_decay"], g)
            if mu:
                buf = buffers[i]
                if buf is None:
                    buf = buffers[i] = g.copy()
                else:
                    buf *= mu
                    buf[...] = exact_fma(g, 1 - tau, buf) if tau else buf + g
                g = exact_fma(buf, mu, g) if options.get("nesterov") else buf
            p[...] = exact_fma(g, -np.float32(0.05), p)
    for tensor, p in zip(tensors, ref, strict=True):
        np.testing.assert_array_equal(tensor.detach().numpy(), p)


def test_scratch_is_not_state() -> None:
    """The scratch buffer is no part of state_dict and survives a load_state_dict."""
    weight = chainrule.tensor(np.ones((8, 8), np.float32), requires_grad=True)
    opt = optim.Adam([weight], lr=0.1)
    weight.grad = chainrule.tensor(np.full((8, 8), 0.5, np.float32))
    opt.step()
    saved = opt.state_dict()
    assert set(saved["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    opt.load_state_dict(saved)
    opt.step()
    assert np.isfinite(weight.detach().numpy()).all()
