"""LayerNorm, RMSNorm and GroupNorm (modules and F.layer_norm / rms_norm / group_norm)
against PyTorch 2.13: values, input and parameter gradients in float64 and float32,
gradcheck, reprs, state_dict layout and loading a torch checkpoint."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F
from chainrule.nn.config import model_from_config, model_to_config
from tests.support.modules import assert_close, check_module, rand

# (module, args, kwargs, input shape)
CASES: list[tuple[str, tuple, dict[str, Any], tuple[int, ...]]] = [
    ("LayerNorm", (5,), {}, (4, 5)),
    ("LayerNorm", (5,), {}, (2, 3, 5)),
    ("LayerNorm", ((3, 5),), {"eps": 1e-3}, (2, 3, 5)),
    ("LayerNorm", (5,), {"bias": False}, (4, 5)),
    ("LayerNorm", (5,), {"elementwise_affine": False}, (4, 5)),
    ("RMSNorm", (5,), {}, (4, 5)),
    ("RMSNorm", ((3, 5),), {"eps": 1e-4}, (2, 3, 5)),
    ("RMSNorm", (5,), {"elementwise_affine": False}, (2, 3, 5)),
    ("GroupNorm", (2, 4), {}, (3, 4)),
    ("GroupNorm", (2, 4), {}, (3, 4, 5)),
    ("GroupNorm", (4, 4), {"eps": 1e-3}, (2, 4, 3, 2)),
    ("GroupNorm", (1, 4), {"affine": False}, (3, 4, 5)),
    ("GroupNorm", (2, 4), {"bias": False}, (3, 4, 5)),
]
IDS = [f"{m}{a}{kw}-{shape}" for m, a, kw, shape in CASES]


def _pair(name: str, args: tuple, kwargs: dict) -> tuple[nn.Module, torch.nn.Module]:
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    with torch.no_grad():  # parameters away from the trivial 1 and 0
        for i, p in enumerate(theirs.parameters()):
            p.copy_(torch.tensor(rand(*p.shape, seed=20 + i, low=0.5, high=1.5)))
    return getattr(nn, name)(*args, **kwargs), theirs


@pytest.mark.parametrize(("name", "args", "kwargs", "shape"), CASES, ids=IDS)
def test_float64_values_and_gradients(name: str, args: tuple, kwargs: dict, shape: tuple):
    ours, theirs = _pair(name, args, kwargs)
    check_module(ours, theirs, rand(*shape, seed=3) * 2 + 1)


@pytest.mark.parametrize(("name", "args", "kwargs", "shape"), CASES, ids=IDS)
def test_float32_and_torch_checkpoint(name: str, args: tuple, kwargs: dict, shape: tuple):
    ours, theirs = _pair(name, args, kwargs)
    assert repr(ours) == repr(theirs)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
    ]
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = (rand(*shape, seed=4) * 3).astype(np.float32)
    cr_x, t_x = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cr_out, t_out = ours(cr_x), theirs(t_x)
    assert cr_out.dtype == np.float32
    tol = {"atol": 1e-5, "rtol": 1e-4}
    assert_close(cr_out, t_out, "forward", **tol)
    projection = rand(*shape, seed=5).astype(np.float32)
    (cr_out * cr.tensor(projection)).sum().backward()
    (t_out * torch.tensor(projection)).sum().backward()
    assert_close(cr_x.grad, t_x.grad, "input gradient", **tol)
    for (key, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        assert p.grad.dtype == np.float32
        assert_close(p.grad, q.grad, f"{key}.grad", **tol)


def test_functional_forms_and_gradcheck() -> None:
    x = rand(3, 4, 6, seed=1)
    w, b = rand(6, seed=2, low=0.5), rand(6, seed=3)
    wc, bc = rand(4, seed=4, low=0.5), rand(4, seed=5)
    cases = [
        (lambda t, w_, b_: F.layer_norm(t, (6,), w_, b_),
         lambda t, w_, b_: torch.nn.functional.layer_norm(t, (6,), w_, b_), w, b),
        (lambda t, w_, b_: F.rms_norm(t, [6], w_) + 0 * b_.sum(),
         lambda t, w_, b_: torch.nn.functional.rms_norm(t, [6], w_) + 0 * b_.sum(), w, b),
        (lambda t, w_, b_: F.group_norm(t, 2, w_, b_),
         lambda t, w_, b_: torch.nn.functional.group_norm(t, 2, w_, b_), wc, bc),
    ]  # fmt: skip
    for ours, theirs, weight, bias in cases:
        cr_args = [cr.tensor(a, requires_grad=True) for a in (x, weight, bias)]
        t_args = [torch.tensor(a, requires_grad=True) for a in (x, weight, bias)]
        a, b_ = ours(*cr_args), theirs(*t_args)
        assert_close(a, b_, "forward")
        (a * a).sum().backward()
        (b_ * b_).sum().backward()
        for c, t in zip(cr_args, t_args, strict=True):
            assert_close(c.grad, t.grad, "gradient")
        fresh = [cr.tensor(a, requires_grad=True) for a in (x, weight, bias)]
        assert cr.gradcheck(ours, fresh)


def test_rms_norm_default_eps_is_the_dtypes_epsilon() -> None:
    x = np.array([[1e-5, -2e-5, 3e-5]], dtype=np.float32)
    assert_close(
        F.rms_norm(cr.tensor(x), (3,)), torch.nn.functional.rms_norm(torch.tensor(x), (3,)), "tiny"
    )


def test_config_round_trip_and_its_one_dim_limit() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.RMSNorm(4), nn.GroupNorm(2, 4))
    rebuilt = model_from_config(model_to_config(model))
    assert repr(rebuilt) == repr(model)
    with pytest.raises(ValueError, match="over the last dim only"):
        model_to_config(nn.Sequential(nn.LayerNorm((2, 3))))


def test_errors() -> None:
    with pytest.raises(ValueError, match="last dims of the input"):
        nn.LayerNorm(4)(cr.randn(3, 5))
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match="divisible by num_groups"):
        F.group_norm(cr.randn(2, 4), 3)
