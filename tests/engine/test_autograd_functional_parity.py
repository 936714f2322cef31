"""chainrule.autograd.functional against torch.autograd.functional (torch 2.13), float64:
vjp, jvp, jacobian, hessian, hvp, vhp on functions of one and of two inputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal(4)
V3, V4 = RNG.standard_normal(3), RNG.standard_normal(4)


def f_vec(lib: Any) -> Any:
    return lambda x: (lib.tensor(A) @ x).tanh() * x[:3]


def f_scalar(lib: Any) -> Any:
    return lambda x: ((lib.tensor(A) @ x).exp().sum() + (x**3).sum()).log()


def f_two(lib: Any) -> Any:
    return lambda x, y: ((x * y).sigmoid() * x).sum() + (y**2).sum()


def _np(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_np(v) for v in value]
    return value.detach().numpy()


def _compare(ours: Any, theirs: Any) -> None:
    if isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            _compare(a, b)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


CALLS = [
    ("vjp", lambda lib, F: F.vjp(f_vec(lib), lib.tensor(B), lib.tensor(V3))),
    ("jvp", lambda lib, F: F.jvp(f_vec(lib), lib.tensor(B), lib.tensor(V4))),
    ("jacobian", lambda lib, F: F.jacobian(f_vec(lib), lib.tensor(B))),
    ("jacobian-two", lambda lib, F: F.jacobian(f_two(lib), (lib.tensor(B), lib.tensor(V4)))),
    ("hessian", lambda lib, F: F.hessian(f_scalar(lib), lib.tensor(B))),
    ("hessian-two", lambda lib, F: F.hessian(f_two(lib), (lib.tensor(B), lib.tensor(V4)))),
    ("hvp", lambda lib, F: F.hvp(f_scalar(lib), lib.tensor(B), lib.tensor(V4))),
    ("vhp", lambda lib, F: F.vhp(f_scalar(lib), lib.tensor(B), lib.tensor(V4))),
    (
        "vjp-two",
        lambda lib, F: F.vjp(f_two(lib), (lib.tensor(B), lib.tensor(V4)), lib.tensor(1.0)),
    ),
]


@pytest.mark.parametrize(("name", "call"), CALLS, ids=[n for n, _ in CALLS])
def test_matches_torch(name: str, call: Any) -> None:
    _compare(_np(call(cr, cr.autograd.functional)), _np(call(torch, torch.autograd.functional)))


def test_hessian_agrees_with_finite_differences_of_the_gradient() -> None:
    x = B.copy()

    def smooth(t: cr.Tensor) -> cr.Tensor:
        return (cr.tensor(A) @ t).tanh().sum() + (t * t * t.sigmoid()).sum()

    analytic = cr.autograd.functional.hessian(smooth, cr.tensor(x)).numpy()
    eps = 1e-6
    numeric = np.zeros((4, 4))
    for j in range(4):
        up, down = x.copy(), x.copy()
        up[j] += eps
        down[j] -= eps
        g_up = cr.autograd.functional.vjp(smooth, cr.tensor(up))[1].numpy()
        g_down = cr.autograd.functional.vjp(smooth, cr.tensor(down))[1].numpy()
        numeric[:, j] = (g_up - g_down) / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)
