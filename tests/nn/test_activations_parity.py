"""The activations beyond the classic set against PyTorch 2.13: modules and functional forms,
forward values and gradients (input and parameters) in float64 and float32, finite-difference
gradcheck, reprs, state_dict keys, the in-place F.*_ forms, and the random ones (RReLU in
training, gumbel_softmax) by their statistics."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F
from tests.support.modules import assert_close, check_function, check_module, rand

# (module name, module kwargs, functional name, functional kwargs); Softmax2d and PReLU have
# no functional twin of the same form (None)
ACTIVATIONS: list[tuple[str, dict[str, Any], str | None, dict[str, Any]]] = [
    ("ReLU6", {}, "relu6", {}),
    ("SELU", {}, "selu", {}),
    ("CELU", {}, "celu", {}),
    ("CELU", {"alpha": 0.5}, "celu", {"alpha": 0.5}),
    ("CELU", {"alpha": 2.0}, "celu", {"alpha": 2.0}),
    ("Mish", {}, "mish", {}),
    ("Hardsigmoid", {}, "hardsigmoid", {}),
    ("Hardswish", {}, "hardswish", {}),
    ("LogSigmoid", {}, "logsigmoid", {}),
    ("Softsign", {}, "softsign", {}),
    ("Tanhshrink", {}, "tanhshrink", {}),
    ("Softmin", {"dim": 1}, "softmin", {"dim": 1}),
    ("Softmin", {"dim": -1}, "softmin", {"dim": -1}),
    ("Softmax2d", {}, None, {}),
    ("GLU", {"dim": 1}, "glu", {"dim": 1}),
    ("GLU", {"dim": 0}, "glu", {"dim": 0}),
    ("Threshold", {"threshold": 0.1, "value": 20.0}, "threshold",
     {"threshold": 0.1, "value": 20.0}),
    ("Threshold", {"threshold": -1.0, "value": -3.0}, "threshold",
     {"threshold": -1.0, "value": -3.0}),
    ("Hardshrink", {}, "hardshrink", {}),
    ("Hardshrink", {"lambd": 1.5}, "hardshrink", {"lambd": 1.5}),
    ("Softshrink", {}, "softshrink", {}),
    ("Softshrink", {"lambd": 1.5}, "softshrink", {"lambd": 1.5}),
    ("PReLU", {}, None, {}),
    ("PReLU", {"num_parameters": 4, "init": 0.1}, None, {}),
    ("RReLU", {}, "rrelu", {}),  # evaluation: the mean slope
    ("RReLU", {"lower": 0.2, "upper": 0.6}, "rrelu", {"lower": 0.2, "upper": 0.6}),
]  # fmt: skip
IDS = [f"{m}-{kw}" for m, kw, _, _ in ACTIVATIONS]
FUNCTIONAL = [case for case in ACTIVATIONS if case[2] is not None]
FUNCTIONAL_IDS = [f"{fn}-{kw}" for _, _, fn, kw in FUNCTIONAL]
X = rand(2, 4, 5, seed=1) * 4  # both sides of every kink; dim 1 (4) and 0 (2) are even


def _pair(name: str, kwargs: dict[str, Any]) -> tuple[nn.Module, torch.nn.Module]:
    return getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)


@pytest.mark.parametrize(("module", "kwargs", "_fn", "_fkw"), ACTIVATIONS, ids=IDS)
def test_module_float64(module: str, kwargs: dict, _fn: str, _fkw: dict) -> None:
    ours, theirs = _pair(module, kwargs)
    check_module(ours, theirs, X, train=module != "RReLU")


@pytest.mark.parametrize(("module", "kwargs", "_fn", "_fkw"), ACTIVATIONS, ids=IDS)
def test_module_float32_values_and_gradients(module: str, kwargs: dict, _fn: str, _fkw: dict):
    ours, theirs = _pair(module, kwargs)
    ours.eval(), theirs.eval()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x32 = X.astype(np.float32)
    cr_x, torch_x = cr.tensor(x32, requires_grad=True), torch.tensor(x32, requires_grad=True)
    cr_out, torch_out = ours(cr_x), theirs(torch_x)
    assert cr_out.dtype == np.float32
    tol = {"atol": 1e-5, "rtol": 1e-5}
    assert_close(cr_out, torch_out, "forward", **tol)
    projection = rand(*torch_out.shape, seed=3).astype(np.float32)
    (cr_out * cr.tensor(projection)).sum().backward()
    (torch_out * torch.tensor(projection)).sum().backward()
    assert cr_x.grad is not None and cr_x.grad.dtype == np.float32
    assert_close(cr_x.grad, torch_x.grad, "input gradient", **tol)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        assert p.grad is not None and p.grad.dtype == np.float32, name
        assert_close(p.grad, q.grad, f"{name}.grad", **tol)


@pytest.mark.parametrize(("module", "kwargs", "_fn", "_fkw"), ACTIVATIONS, ids=IDS)
def test_repr_and_state_dict_layout(module: str, kwargs: dict, _fn: str, _fkw: dict) -> None:
    ours, theirs = _pair(module, kwargs)
    assert repr(ours) == repr(theirs)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()
    }
    # a torch checkpoint loads strictly, and the values arrive
    state = {k: v.numpy() + 0.5 for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), state[key])


@pytest.mark.parametrize(("_m", "_mkw", "fn", "kwargs"), FUNCTIONAL, ids=FUNCTIONAL_IDS)
def test_functional_float64(_m: str, _mkw: dict, fn: str, kwargs: dict) -> None:
    check_function(
        lambda x: getattr(F, fn)(x, **kwargs),
        lambda x: getattr(torch.nn.functional, fn)(x, **kwargs),
        X,
    )


@pytest.mark.parametrize(("_m", "_mkw", "fn", "kwargs"), FUNCTIONAL, ids=FUNCTIONAL_IDS)
def test_functional_gradcheck(_m: str, _mkw: dict, fn: str, kwargs: dict) -> None:
    x = cr.tensor(rand(4, 4, seed=7) * 3, requires_grad=True)
    assert cr.gradcheck(lambda t: getattr(F, fn)(t, **kwargs), [x])


@pytest.mark.parametrize(
    ("weight_shape", "x_shape"),
    [((1,), (5,)), ((1,), (3, 4, 2)), ((4,), (3, 4)), ((4,), (2, 4, 3))],
)
def test_prelu_functional_weight_gradient(weight_shape: tuple, x_shape: tuple) -> None:
    x, w = rand(*x_shape, seed=2), rand(*weight_shape, seed=3, low=0.05, high=0.5)
    cr_x, cr_w = cr.tensor(x, requires_grad=True), cr.tensor(w, requires_grad=True)
    t_x, t_w = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    cr_out, t_out = F.prelu(cr_x, cr_w), torch.nn.functional.prelu(t_x, t_w)
    assert_close(cr_out, t_out, "forward")
    cr_out.sum().backward()
    t_out.sum().backward()
    assert_close(cr_x.grad, t_x.grad, "input gradient")
    assert_close(cr_w.grad, t_w.grad, "weight gradient")
    assert cr.gradcheck(F.prelu, [cr.tensor(x, requires_grad=True), cr_w.detach().requires_grad_()])


def test_prelu_rejects_a_weight_that_fits_no_channel() -> None:
    with pytest.raises(ValueError, match="1 or 4 elements"):
        F.prelu(cr.randn(2, 4), cr.ones(3))


@pytest.mark.parametrize(
    ("fn", "args"),
    [
        ("relu_", ()), ("elu_", (0.5,)), ("leaky_relu_", (0.2,)), ("hardtanh_", (-0.5, 0.5)),
        ("selu_", ()), ("celu_", (1.5,)), ("threshold_", (0.1, -2.0)), ("rrelu_", ()),
    ],
)  # fmt: skip
def test_in_place_functional_forms_write_into_the_input(fn: str, args: tuple) -> None:
    base = rand(3, 4, seed=5)
    ours = cr.tensor(base, requires_grad=True)
    theirs = torch.tensor(base, requires_grad=True)
    cr_mid, t_mid = ours * 1.0, theirs * 1.0  # non-leaves, as torch requires
    cr_out = getattr(F, fn)(cr_mid, *args)
    t_out = getattr(torch.nn.functional, fn)(t_mid, *args)
    assert cr_out is cr_mid
    assert_close(cr_mid, t_mid, "values written in place")
    cr_out.sum().backward()
    t_out.sum().backward()
    assert_close(ours.grad, theirs.grad, "gradient through the in-place op")


def test_in_place_on_a_leaf_that_requires_grad_is_torchs_error() -> None:
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        F.relu_(cr.randn(3, requires_grad=True))


def test_rrelu_training_draws_slopes_in_range_and_backward_uses_them() -> None:
    cr.manual_seed(0)
    x = cr.tensor(-np.ones(20_000), requires_grad=True)
    out = F.rrelu(x, 0.1, 0.3, training=True)
    slopes = -out.detach().numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3
    assert abs(slopes.mean() - 0.2) < 0.003 and abs(slopes.std() - 0.2 / np.sqrt(12)) < 0.003
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), slopes)
    positive = F.rrelu(cr.tensor(rand(50, low=0.1)), training=True)
    np.testing.assert_array_equal(positive.numpy(), rand(50, low=0.1))
    layer = nn.RReLU()
    assert layer(cr.tensor(-np.ones(100))).numpy().std() > 0  # a module trains by default
    np.testing.assert_allclose(layer.eval()(cr.tensor([-1.0])).numpy(), [-(1 / 8 + 1 / 3) / 2])


@pytest.mark.parametrize("hard", [False, True])
def test_gumbel_softmax_samples_the_softmax_distribution(hard: bool) -> None:
    cr.manual_seed(1)
    probabilities = np.array([0.1, 0.2, 0.7])
    logits = cr.tensor(np.log(np.tile(probabilities, (20_000, 1))), requires_grad=True)
    sample = F.gumbel_softmax(logits, tau=0.5, hard=hard)
    values = sample.detach().numpy()
    np.testing.assert_allclose(values.sum(1), 1.0, rtol=1e-12)
    if hard:
        assert set(np.unique(values)) == {0.0, 1.0}
    picked = np.bincount(values.argmax(1), minlength=3) / len(values)
    np.testing.assert_allclose(picked, probabilities, atol=0.015)
    (sample * cr.tensor(rand(*values.shape, seed=4))).sum().backward()
    assert logits.grad is not None and np.abs(logits.grad.numpy()).sum() > 0


def test_softshrink_and_softmax2d_errors() -> None:
    with pytest.raises(ValueError, match="lambda must be >= 0"):
        nn.Softshrink(-1.0)
    with pytest.raises(ValueError, match="3-D or 4-D"):
        nn.Softmax2d()(cr.randn(2, 3))
    with pytest.raises(ValueError, match="even size"):
        F.glu(cr.randn(2, 3))
