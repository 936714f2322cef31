"""Optimizers against PyTorch: same start, same gradients, same parameters after every step."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule
from chainrule import optim

OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]


# ---------------------------------------------------------------- a fixed problem, by hand


def initial_arrays(dtype: Any = np.float64) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal(4).astype(dtype)]


_RNG = np.random.default_rng(1)
CURVATURES = [_RNG.uniform(0.5, 3.0, (3, 4)), _RNG.uniform(0.5, 3.0, 4)]
CENTERS = [_RNG.standard_normal((3, 4)), _RNG.standard_normal(4)]


def quadratic_grad(x: np.ndarray, i: int, t: int) -> np.ndarray:
    """Gradient at step t of 0.5·a·(x - c)² plus a wobble that makes its sign change."""
    wobble = 0.5 * np.sin(1.3 * t + np.arange(x.size).reshape(x.shape) + i)
    return (CURVATURES[i] * (x - CENTERS[i]) + wobble).astype(x.dtype)


def set_grads(params: list[chainrule.Tensor], torch_params: list[torch.Tensor], t: int) -> None:
    """The same gradients (from chainrule's current parameters) for both frameworks."""
    for i, (p, tp) in enumerate(zip(params, torch_params, strict=True)):
        g = quadratic_grad(p.detach().numpy(), i, t)
        p.grad = chainrule.tensor(g)
        tp.grad = torch.tensor(g)


def make_pair(dtype: Any = np.float64) -> tuple[list[chainrule.Tensor], list[torch.Tensor]]:
    arrays = initial_arrays(dtype)
    params = [chainrule.tensor(a.copy(), requires_grad=True) for a in arrays]
    torch_params = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    return params, torch_params


def assert_same(params: list[chainrule.Tensor], torch_params: list[torch.Tensor]) -> None:
    for p, tp in zip(params, torch_params, strict=True):
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), atol=1e-6, rtol=1e-6)


def check_against_torch(name: str, kwargs: dict[str, Any], steps: int = 20) -> None:
    params, torch_params = make_pair()
    arrays = [p.detach().numpy() for p in params]
    optimizer = getattr(optim, name)(params, **kwargs)
    torch_optimizer = getattr(torch.optim, name)(torch_params, **kwargs)
    for t in range(steps):
        set_grads(params, torch_params, t)
        optimizer.step()
        torch_optimizer.step()
        assert_same(params, torch_params)
    # the update happened in place: modules holding the arrays see the new values
    assert all(p.detach().numpy() is a for p, a in zip(params, arrays, strict=True))
    assert all(p.detach().numpy().dtype == np.float64 for p in params)


# ---------------------------------------------------------------- parity with torch.optim

CASES: list[tuple[str, dict[str, Any]]] = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.5}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.1, "maximize": True}),
    (
        "SGD",
        {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.05, "maximize": True},
    ),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6}),
    ("Adam", {"lr": 0.05, "maximize": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.05}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}),
    ("AdamW", {"lr": 0.05, "maximize": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True}),
    ("RMSprop", {"lr": 0.01, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-6}),
    ("RMSprop", {"lr": 0.01, "maximize": True}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.05, "eps": 1e-6}),
    ("Adagrad", {"lr": 0.1, "maximize": True}),
]


def _case_id(case: tuple[str, dict[str, Any]]) -> str:
    name, kwargs = case
    return name + "(" + ",".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=[_case_id(c) for c in CASES])
def test_matches_torch(name: str, kwargs: dict[str, Any]) -> None:
    check_against_torch(name, kwargs)


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=[_case_id(c) for c in CASES])
def test_state_matches_torch(name: str, kwargs: dict[str, Any]) -> None:
    """Same state names and values as PyTorch, so checkpoints read the same way."""
    params, torch_params = make_pair()
    optimizer = getattr(optim, name)(params, **kwargs)
    torch_optimizer = getattr(torch.optim, name)(torch_params, **kwargs)
    for t in range(3):
        set_grads(params, torch_params, t)
        optimizer.step()
        torch_optimizer.step()
    state = optimizer.state_dict()["state"]
    torch_state = torch_optimizer.state_dict()["state"]
    assert set(state) == {k for k, v in torch_state.items() if v}
    for index, entry in state.items():
        assert set(entry) == set(torch_state[index])
        for key, value in entry.items():
            np.testing.assert_allclose(value, np.asarray(torch_state[index][key]), rtol=1e-9)
    group = optimizer.state_dict()["param_groups"][0]
    torch_group = torch_optimizer.state_dict()["param_groups"][0]
    assert set(group) <= set(torch_group)
    assert all(group[k] == torch_group[k] for k in group)


def test_param_groups_with_their_own_hyperparameters_match_torch() -> None:
    params, torch_params = make_pair()

    def groups(ps: list[Any]) -> list[dict[str, Any]]:
        return [{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.01, "momentum": 0.5}]

    optimizer = optim.SGD(groups(params), lr=0.1, momentum=0.9)
    torch_optimizer = torch.optim.SGD(groups(torch_params), lr=0.1, momentum=0.9)
    assert optimizer.param_groups[1]["lr"] == 0.01
    assert optimizer.param_groups[1]["dampening"] == 0  # the default fills the gap
    for t in range(20):
        set_grads(params, torch_params, t)
        optimizer.step()
        torch_optimizer.step()
    assert_same(params, torch_params)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_add_param_group_with_its_own_lr_matches_torch(name: str) -> None:
    params, torch_params = make_pair()
    optimizer = getattr(optim, name)([params[0]], lr=0.1)
    torch_optimizer = getattr(torch.optim, name)([torch_params[0]], lr=0.1)
    for t in range(5):
        set_grads(params[:1], torch_params[:1], t)
        optimizer.step()
        torch_optimizer.step()
    optimizer.add_param_group({"params": params[1], "lr": 0.02})
    torch_optimizer.add_param_group({"params": torch_params[1], "lr": 0.02})
    assert [g["lr"] for g in optimizer.param_groups] == [0.1, 0.02]
    assert optimizer.param_groups[1]["params"] == [params[1]]
    for t in range(5, 15):
        set_grads(params, torch_params, t)
        optimizer.step()
        torch_optimizer.step()
    assert_same(params, torch_params)


# ---------------------------------------------------------------- argument checks

Factory = Callable[[Any, list[Any]], Any]
INVALID: list[tuple[Factory, str]] = [
    (lambda o, p: o.SGD(p, lr=-1), "Invalid learning rate: -1"),
    (lambda o, p: o.SGD(p, lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda o, p: o.SGD(p, lr=0.1, weight_decay=-1e-3), "Invalid weight_decay value: -0.001"),
    (
        lambda o, p: o.SGD(p, lr=0.1, nesterov=True),
        "Nesterov momentum requires a momentum and zero dampening",
    ),
    (
        lambda o, p: o.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
        "Nesterov momentum requires a momentum and zero dampening",
    ),
    (lambda o, p: o.Adam(p, lr=-0.5), "Invalid learning rate: -0.5"),
    (lambda o, p: o.Adam(p, eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (lambda o, p: o.Adam(p, betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (lambda o, p: o.Adam(p, betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (lambda o, p: o.Adam(p, weight_decay=-1.0), "Invalid weight_decay value: -1.0"),
    (lambda o, p: o.AdamW(p, lr=-1), "Invalid learning rate: -1"),
    (lambda o, p: o.AdamW(p, betas=(-0.1, 0.9)), "Invalid beta parameter at index 0: -0.1"),
    (lambda o, p: o.RMSprop(p, alpha=-0.1), "Invalid alpha value: -0.1"),
    (lambda o, p: o.RMSprop(p, momentum=-1), "Invalid momentum value: -1"),
    (lambda o, p: o.RMSprop(p, eps=-1.0), "Invalid epsilon value: -1.0"),
    (lambda o, p: o.Adagrad(p, lr_decay=-1), "Invalid lr_decay value: -1"),
    (
        lambda o, p: o.Adagrad(p, initial_accumulator_value=-1),
        "Invalid initial_accumulator_value value: -1",
    ),
    (lambda o, p: o.Adagrad(p, weight_decay=-2), "Invalid weight_decay value: -2"),
]


@pytest.mark.parametrize(("factory", "message"), INVALID, ids=[m for _, m in INVALID])
def test_invalid_arguments_raise_pytorchs_message(factory: Factory, message: str) -> None:
    params, torch_params = make_pair()
    with pytest.raises(ValueError, match=re.escape(message)) as ours:
        factory(optim, params)
    with pytest.raises(ValueError) as theirs:
        factory(torch.optim, torch_params)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_empty_parameter_list(name: str) -> None:
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        getattr(optim, name)([])
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        getattr(optim, name)(iter([]))


def test_params_must_be_an_iterable_of_tensors() -> None:
    p = chainrule.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors"):
        optim.SGD([p, np.zeros(2)], lr=0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {p}}], lr=0.1)


def test_non_leaf_tensors_cannot_be_optimized() -> None:
    x = chainrule.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([x * 2], lr=0.1)


def test_a_parameter_in_two_groups_is_an_error() -> None:
    a = chainrule.tensor([1.0], requires_grad=True)
    b = chainrule.tensor([2.0], requires_grad=True)
    message = "some parameters appear in more than one parameter group"
    with pytest.raises(ValueError, match=message):
        optim.SGD([{"params": [a, b]}, {"params": [b]}], lr=0.1)
    optimizer = optim.SGD([a], lr=0.1)
    with pytest.raises(ValueError, match=message):
        optimizer.add_param_group({"params": [a]})
    assert len(optimizer.param_groups) == 1


def test_generator_of_parameters_is_accepted() -> None:
    params = [chainrule.tensor([1.0, 2.0], requires_grad=True) for _ in range(3)]
    optimizer = optim.SGD((p for p in params), lr=0.1)
    assert optimizer.param_groups[0]["params"] == params


def test_the_callers_group_dict_is_not_modified() -> None:
    group = {"params": [chainrule.tensor([1.0], requires_grad=True)], "lr": 0.5}
    optim.Adam([group])
    assert set(group) == {"params", "lr"}


# ---------------------------------------------------------------- zero_grad, step, closure


def test_zero_grad_sets_to_none_by_default() -> None:
    params, _ = make_pair()
    for p in params:
        p.grad = chainrule.tensor(np.ones_like(p.detach().numpy()))
    optimizer = optim.SGD(params, lr=0.1)
    optimizer.zero_grad()
    assert all(p.grad is None for p in params)


def test_zero_grad_without_set_to_none_zeroes_in_place() -> None:
    params, _ = make_pair()
    for p in params:
        p.grad = chainrule.tensor(np.ones_like(p.detach().numpy()))
    grads = [p.grad for p in params]
    arrays = [g.detach().numpy() for g in grads if g is not None]
    optimizer = optim.SGD(params, lr=0.1)
    optimizer.zero_grad(set_to_none=False)
    for p, g, a in zip(params, grads, arrays, strict=True):
        assert p.grad is g and g is not None and g.detach().numpy() is a
        assert not a.any()


def test_zero_grad_leaves_missing_grads_alone() -> None:
    params, _ = make_pair()
    optimizer = optim.SGD(params, lr=0.1)
    optimizer.zero_grad(set_to_none=False)
    assert all(p.grad is None for p in params)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_step_skips_parameters_without_grad(name: str) -> None:
    params, _ = make_pair()
    before = params[1].detach().numpy().copy()
    optimizer = getattr(optim, name)(params, lr=0.1)
    params[0].grad = chainrule.tensor(np.ones_like(params[0].detach().numpy()))
    optimizer.step()
    np.testing.assert_array_equal(params[1].detach().numpy(), before)
    assert not np.array_equal(params[0].detach().numpy(), initial_arrays()[0])
    assert optimizer.state_dict()["state"].get(1, {}).get("step", 0) == 0


def test_step_with_closure_returns_its_loss_with_grad_enabled() -> None:
    p = chainrule.tensor([3.0, -2.0], dtype=np.float64, requires_grad=True)
    optimizer = optim.SGD([p], lr=0.25)
    calls = []

    def closure() -> float:
        calls.append(chainrule.is_grad_enabled())
        p.grad = chainrule.tensor(2 * p.detach().numpy())
        return float((p.detach().numpy() ** 2).sum())

    with chainrule.no_grad():
        loss = optimizer.step(closure)
    assert loss == 13.0
    assert calls == [True]
    np.testing.assert_allclose(p.detach().numpy(), [1.5, -1.0])
    assert optimizer.step() is None


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_minimizes_a_loss_through_backward(name: str) -> None:
    """End to end with the engine: gradients from backward(), updates by the optimizer."""
    target = chainrule.tensor([1.0, -2.0, 0.5])
    w = chainrule.tensor([0.0, 0.0, 0.0], requires_grad=True)
    optimizer = getattr(optim, name)([w], lr=0.1)

    def closure() -> chainrule.Tensor:
        optimizer.zero_grad()
        loss = ((w - target) * (w - target)).sum()
        loss.backward()
        return loss

    first = float(optimizer.step(closure))
    for _ in range(300):
        last = float(optimizer.step(closure))
    assert last < 0.05 * first
    assert w.detach().numpy().dtype == np.float32


def test_works_with_nn_parameter() -> None:
    parameter_cls = getattr(chainrule.nn, "Parameter", None)
    if parameter_cls is None:
        pytest.skip("chainrule.nn.Parameter does not exist yet")
    p = parameter_cls(chainrule.tensor(np.array([1.0, 2.0])))
    array = p.detach().numpy()
    optimizer = optim.SGD([p], lr=0.5)
    p.grad = chainrule.tensor(np.array([1.0, 1.0]))
    optimizer.step()
    assert p.detach().numpy() is array
    np.testing.assert_allclose(p.detach().numpy(), [0.5, 1.5])


# ---------------------------------------------------------------- float32 stays float32

FLOAT32_CASES = [
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.01}),
    ("AdamW", {"lr": 0.05, "amsgrad": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.01}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.01}),
]


@pytest.mark.parametrize(("name", "kwargs"), FLOAT32_CASES, ids=[n for n, _ in FLOAT32_CASES])
@pytest.mark.parametrize("grad_dtype", [np.float32, np.float64])
def test_float32_parameters_stay_float32(
    name: str, kwargs: dict[str, Any], grad_dtype: Any
) -> None:
    params, torch_params = make_pair(np.float32)
    optimizer = getattr(optim, name)(params, **kwargs)
    torch_optimizer = getattr(torch.optim, name)(torch_params, **kwargs)
    for t in range(10):
        for i, (p, tp) in enumerate(zip(params, torch_params, strict=True)):
            g = quadratic_grad(p.detach().numpy(), i, t)
            p.grad = chainrule.tensor(g.astype(grad_dtype))
            tp.grad = torch.tensor(g)
        optimizer.step()
        torch_optimizer.step()
    for p, tp in zip(params, torch_params, strict=True):
        assert p.detach().numpy().dtype == np.float32
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-4, atol=1e-5)
    for state in optimizer.state.values():
        for value in state.values():
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32


# ---------------------------------------------------------------- checkpoints

ROUND_TRIP_CASES = [
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01}),
]


@pytest.mark.parametrize(
    ("name", "kwargs"), ROUND_TRIP_CASES, ids=[_case_id(c) for c in ROUND_TRIP_CASES]
)
def test_state_dict_round_trip_continues_identically(name: str, kwargs: dict[str, Any]) -> None:
    params, torch_params = make_pair()
    optimizer = getattr(optim, name)(params, **kwargs)
    for t in range(10):
        set_grads(params, torch_params, t)
        optimizer.step()
    saved = optimizer.state_dict()
    assert saved["param_groups"][0]["params"] == [0, 1]

    # a fresh optimizer (other hyperparameters: the saved ones must win) over copies
    copies = [chainrule.tensor(p.detach().numpy().copy(), requires_grad=True) for p in params]
    restored = getattr(optim, name)(copies, lr=123.0)
    restored.load_state_dict(saved)
    assert restored.param_groups[0]["lr"] == kwargs["lr"]
    assert restored.param_groups[0]["params"] == copies

    snapshot = {i: {k: np.copy(v) for k, v in s.items()} for i, s in saved["state"].items()}
    for t in range(10, 20):
        set_grads(params, torch_params, t)
        for p, c in zip(params, copies, strict=True):
            c.grad = chainrule.tensor(p.grad.detach().numpy().copy())  # type: ignore[union-attr]
        optimizer.step()
        restored.step()
        for p, c in zip(params, copies, strict=True):
            np.testing.assert_array_equal(p.detach().numpy(), c.detach().numpy())
    # the saved dict is a snapshot: later steps (of either optimizer) did not change it
    for i, s in saved["state"].items():
        for k, v in s.items():
            np.testing.assert_array_equal(v, snapshot[i][k])


def test_load_state_dict_copies_arrays() -> None:
    params, torch_params = make_pair()
    optimizer = optim.Adam(params, lr=0.1)
    set_grads(params, torch_params, 0)
    optimizer.step()
    saved = optimizer.state_dict()
    optimizer.load_state_dict(saved)
    assert optimizer.state[params[0]]["exp_avg"] is not saved["state"][0]["exp_avg"]


def test_load_state_dict_checks_groups() -> None:
    a = chainrule.tensor([1.0], requires_grad=True)
    b = chainrule.tensor([2.0], requires_grad=True)
    one_group = optim.SGD([a, b], lr=0.1).state_dict()
    two_groups = optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        two_groups.load_state_dict(one_group)
    smaller = optim.SGD([a], lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        smaller.load_state_dict(one_group)


def test_load_state_dict_casts_to_the_parameter_dtype() -> None:
    p64 = chainrule.tensor(np.ones(3), requires_grad=True)
    optimizer = optim.SGD([p64], lr=0.1, momentum=0.9)
    p64.grad = chainrule.tensor(np.ones(3))
    optimizer.step()
    p32 = chainrule.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    restored = optim.SGD([p32], lr=0.1, momentum=0.9)
    restored.load_state_dict(optimizer.state_dict())
    assert restored.state[p32]["momentum_buffer"].dtype == np.float32


def test_repr_lists_the_groups() -> None:
    text = repr(optim.SGD([chainrule.tensor([1.0], requires_grad=True)], lr=0.1))
    assert text.startswith("SGD (")
    assert "Parameter Group 0" in text
    assert "    lr: 0.1" in text
