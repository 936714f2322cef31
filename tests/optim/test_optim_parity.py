"""Every chainrule optimizer against torch.optim 2.13, in float64: the parameters after each
of several steps (1e-6), the state and param_groups under torch's keys, a torch-made
state_dict loading into chainrule and continuing the same trajectory, group edits, the
implementation switches (foreach/fused accepted, capturable/differentiable refused), and
L-BFGS with a closure through real autograd, with and without the strong-Wolfe search."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import chainrule
from chainrule import optim

SHAPES = [(3, 4), (4,), (2, 3, 5)]  # a matrix, a vector, a batch of matrices (Adafactor)
_RNG = np.random.default_rng(7)
START = [_RNG.standard_normal(s) for s in SHAPES]
CURVATURE = [_RNG.uniform(0.5, 3.0, s) for s in SHAPES]
CENTER = [_RNG.standard_normal(s) for s in SHAPES]


def gradient(x: np.ndarray, i: int, t: int) -> np.ndarray:
    """∇ of ½·a·(x - c)² plus a wobble whose sign changes (Rprop's sign logic is exercised);
    some exact zeros too (the wobble vanishes where the quadratic does)."""
    wobble = 0.5 * np.sin(1.3 * t + np.arange(x.size).reshape(x.shape) + i)
    g = CURVATURE[i] * (x - CENTER[i]) + wobble
    if t % 4 == 3:
        g.reshape(-1)[::5] = 0.0
    return g


def pair() -> tuple[list[chainrule.Tensor], list[torch.Tensor]]:
    ours = [chainrule.tensor(a.copy(), requires_grad=True) for a in START]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in START]
    return ours, theirs


def feed(ours: list[Any], theirs: list[Any], t: int) -> None:
    for i, (p, tp) in enumerate(zip(ours, theirs, strict=True)):
        g = gradient(p.detach().numpy(), i, t)
        p.grad = chainrule.tensor(g)
        tp.grad = torch.tensor(g)


def same(ours: list[Any], theirs: list[Any], tol: float = 1e-6) -> None:
    for p, tp in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=tol, atol=tol)


CASES: list[tuple[str, dict[str, Any]]] = [
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-4}),
    ("Adadelta", {"weight_decay": 0.1, "maximize": True}),
    ("Adadelta", {"foreach": True}),
    ("Adamax", {"lr": 0.05}),
    ("Adamax", {"lr": 0.05, "betas": (0.8, 0.9), "eps": 1e-4}),
    ("Adamax", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    ("ASGD", {"lr": 0.05}),
    ("ASGD", {"lr": 0.05, "t0": 5, "lambd": 0.01, "alpha": 0.5}),
    ("ASGD", {"lr": 0.05, "t0": 3, "weight_decay": 0.1, "maximize": True}),
    ("NAdam", {"lr": 0.05}),
    ("NAdam", {"lr": 0.05, "momentum_decay": 0.05, "betas": (0.8, 0.99)}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("NAdam", {"lr": 0.05, "maximize": True, "foreach": False}),
    ("RAdam", {"lr": 0.05}),  # ρ_t > 5 from step 6 on: both branches within 20 steps
    ("RAdam", {"lr": 0.05, "betas": (0.9, 0.9)}),  # ρ_∞ = 19
    ("RAdam", {"lr": 0.05, "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.05, "maximize": True}),
    ("Rprop", {}),
    ("Rprop", {"lr": 0.1, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.2)}),
    ("Rprop", {"lr": 0.05, "maximize": True}),
    ("Adafactor", {}),
    ("Adafactor", {"lr": 0.05, "beta2_decay": -0.5, "eps": (1e-20, 1e-2), "d": 2.0}),
    ("Adafactor", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    # options of the older optimizers not covered by tests/test_optim.py
    ("SGD", {"lr": 0.1, "momentum": 0.9, "foreach": True}),
    ("SGD", {"lr": 0.1, "fused": True}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "maximize": True, "fused": True}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.05, "amsgrad": True, "maximize": True, "foreach": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True, "maximize": True}),
    ("Adagrad", {"lr": 0.1, "foreach": True, "maximize": True}),
]
IDS = [n + "(" + ",".join(f"{k}={v}" for k, v in kw.items()) + ")" for n, kw in CASES]
NAMES = sorted({n for n, _ in CASES})


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_trajectory_matches_torch(name: str, kwargs: dict[str, Any]) -> None:
    ours, theirs = pair()
    arrays = [p.detach().numpy() for p in ours]
    optimizer = getattr(optim, name)(ours, **kwargs)
    torch_optimizer = getattr(torch.optim, name)(theirs, **kwargs)
    for t in range(20):
        feed(ours, theirs, t)
        optimizer.step()
        torch_optimizer.step()
        same(ours, theirs)
    # updated in place: a module holding the arrays sees the new values
    assert all(p.detach().numpy() is a for p, a in zip(ours, arrays, strict=True))


def _plain(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    return value


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_state_dict_has_torchs_layout(name: str, kwargs: dict[str, Any]) -> None:
    ours, theirs = pair()
    optimizer = getattr(optim, name)(ours, **kwargs)
    torch_optimizer = getattr(torch.optim, name)(theirs, **kwargs)
    for t in range(4):
        feed(ours, theirs, t)
        optimizer.step()
        torch_optimizer.step()
    mine, reference = optimizer.state_dict(), torch_optimizer.state_dict()
    assert mine["param_groups"] == [
        {k: _plain(v) for k, v in g.items()} for g in reference["param_groups"]
    ]
    assert set(mine["state"]) == set(reference["state"])
    for index, entry in reference["state"].items():
        assert set(mine["state"][index]) == set(entry)
        for key, value in entry.items():
            np.testing.assert_allclose(mine["state"][index][key], _plain(value), rtol=1e-9)


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_a_torch_state_dict_loads_and_continues(name: str, kwargs: dict[str, Any]) -> None:
    """torch trains 6 steps; chainrule takes over from torch's state_dict (its tensors and
    0-d step counts) on copies of torch's parameters; both go on and stay together."""
    ours, theirs = pair()
    torch_optimizer = getattr(torch.optim, name)(theirs, **kwargs)
    for t in range(6):
        for i, tp in enumerate(theirs):
            tp.grad = torch.tensor(gradient(tp.detach().numpy(), i, t))
        torch_optimizer.step()
    for p, tp in zip(ours, theirs, strict=True):
        p.detach().numpy()[...] = tp.detach().numpy()
    optimizer = getattr(optim, name)(ours, lr=123.0)  # the saved groups win
    optimizer.load_state_dict(torch_optimizer.state_dict())
    assert optimizer.param_groups[0]["lr"] == torch_optimizer.param_groups[0]["lr"]
    for t in range(6, 16):
        feed(ours, theirs, t)
        optimizer.step()
        torch_optimizer.step()
        same(ours, theirs)


@pytest.mark.parametrize("name", NAMES)
def test_editing_param_groups_between_steps_matches_torch(name: str) -> None:
    ours, theirs = pair()
    optimizer = getattr(optim, name)([{"params": ours[:2]}, {"params": ours[2:]}], lr=0.05)
    torch_optimizer = getattr(torch.optim, name)(
        [{"params": theirs[:2]}, {"params": theirs[2:]}], lr=0.05
    )
    for t in range(12):
        if t == 5:  # a hand-written schedule: halve one group's rate, turn on maximize
            for opt in (optimizer, torch_optimizer):
                opt.param_groups[1]["lr"] = 0.025
                opt.param_groups[0]["maximize"] = True
        feed(ours, theirs, t)
        optimizer.step()
        torch_optimizer.step()
        same(ours, theirs)


@pytest.mark.parametrize("set_to_none", [True, False])
@pytest.mark.parametrize("name", NAMES)
def test_zero_grad_matches_torch(name: str, set_to_none: bool) -> None:
    ours, theirs = pair()
    optimizer = getattr(optim, name)(ours)
    torch_optimizer = getattr(torch.optim, name)(theirs)
    feed(ours, theirs, 0)
    optimizer.zero_grad(set_to_none=set_to_none)
    torch_optimizer.zero_grad(set_to_none=set_to_none)
    for p, tp in zip(ours, theirs, strict=True):
        if tp.grad is None:
            assert p.grad is None
        else:
            np.testing.assert_array_equal(p.grad.detach().numpy(), tp.grad.numpy())


SWITCHES = [
    ("Adam", {"capturable": True}),
    ("NAdam", {"capturable": True}),
    ("RMSprop", {"capturable": True}),
    ("Rprop", {"capturable": True}),
]


@pytest.mark.parametrize(("name", "kwargs"), SWITCHES, ids=[n for n, _ in SWITCHES])
def test_capturable_is_refused_as_torch_refuses_it_on_a_cpu(
    name: str, kwargs: dict[str, Any]
) -> None:
    ours, theirs = pair()
    with pytest.raises(RuntimeError, match="capturable=True"):
        getattr(optim, name)(ours, **kwargs)
    torch_optimizer = getattr(torch.optim, name)(theirs, **kwargs)
    for i, tp in enumerate(theirs):
        tp.grad = torch.tensor(gradient(tp.detach().numpy(), i, 0))
    with pytest.raises(AssertionError, match="supported devices"):
        torch_optimizer.step()


@pytest.mark.parametrize("name", ["SGD", "Adam", "Adadelta", "RAdam"])
def test_differentiable_is_refused(name: str) -> None:
    with pytest.raises(RuntimeError, match="differentiable=True"):
        getattr(optim, name)(pair()[0], differentiable=True)


def test_fused_and_foreach_together_is_torchs_error() -> None:
    with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together."):
        optim.Adam(pair()[0], fused=True, foreach=True)
    with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together."):
        torch.optim.Adam(pair()[1], fused=True, foreach=True)


INVALID = [
    ("Adadelta", {"rho": 1.5}),
    ("Adadelta", {"eps": -1}),
    ("Adamax", {"betas": (0.9, 1.0)}),
    ("NAdam", {"momentum_decay": -1}),
    ("RAdam", {"betas": (1.0, 0.9)}),
    ("Rprop", {"etas": (1.2, 0.5)}),
    ("ASGD", {"weight_decay": -1}),
    ("Adafactor", {"beta2_decay": 0.5}),
    ("Adafactor", {"d": 0.5}),
    ("LBFGS", {"lr": -1}),
]


@pytest.mark.parametrize(("name", "kwargs"), INVALID, ids=[f"{n}{k}" for n, k in INVALID])
def test_invalid_arguments_give_torchs_message(name: str, kwargs: dict[str, Any]) -> None:
    ours, theirs = pair()
    with pytest.raises(ValueError) as mine:
        getattr(optim, name)(ours, **kwargs)
    with pytest.raises(ValueError) as reference:
        getattr(torch.optim, name)(theirs, **kwargs)
    assert str(mine.value) == str(reference.value)


# ---------------------------------------------------------------- L-BFGS, through autograd


def rosenbrock_like(lib: Any, params: list[Any]) -> Any:
    """A curved valley plus a quartic bowl: Σ (1 - x)² + 10·(y - x²)² + 0.1·Σ z⁴ + z·w."""
    a, b, c = params
    x, y = a[:, :2], a[:, 2:]
    valley = ((1 - x) ** 2).sum() + 10 * ((y - x**2) ** 2).sum()
    return valley + 0.1 * (b**4).sum() + (c.sum(dim=0) * b[:1]).sum() * 0.01 + (c**2).sum()


LBFGS_CASES = [
    {},
    {"line_search_fn": "strong_wolfe"},
    {"lr": 0.5, "max_iter": 5, "history_size": 3},
    {"line_search_fn": "strong_wolfe", "max_iter": 7, "history_size": 2},
    {"line_search_fn": "strong_wolfe", "max_eval": 9, "tolerance_change": 1e-5},
    {"tolerance_grad": 1e-2, "max_iter": 50},
]


@pytest.mark.parametrize("kwargs", LBFGS_CASES, ids=[str(k) for k in LBFGS_CASES])
def test_lbfgs_matches_torch(kwargs: dict[str, Any]) -> None:
    ours, theirs = pair()
    optimizer = optim.LBFGS(ours, **kwargs)
    torch_optimizer = torch.optim.LBFGS(theirs, **kwargs)

    def closure_for(lib: Any, opt: Any, params: list[Any]) -> Any:
        def closure() -> Any:
            opt.zero_grad()
            loss = rosenbrock_like(lib, params)
            loss.backward()
            return loss

        return closure

    for _ in range(4):
        loss = optimizer.step(closure_for(chainrule, optimizer, ours))
        torch_loss = torch_optimizer.step(closure_for(torch, torch_optimizer, theirs))
        assert float(loss) == pytest.approx(float(torch_loss), rel=1e-6, abs=1e-9)
        same(ours, theirs)
    state = optimizer.state_dict()["state"][0]
    torch_state = torch_optimizer.state_dict()["state"][0]
    assert set(state) == set(torch_state)
    assert state["func_evals"] == torch_state["func_evals"]
    assert state["n_iter"] == torch_state["n_iter"]
    assert len(state["old_dirs"]) == len(torch_state["old_dirs"])


def test_lbfgs_state_from_torch_continues() -> None:
    ours, theirs = pair()
    torch_optimizer = torch.optim.LBFGS(theirs, max_iter=3, line_search_fn="strong_wolfe")

    def torch_closure() -> Any:
        torch_optimizer.zero_grad()
        loss = rosenbrock_like(torch, theirs)
        loss.backward()
        return loss

    torch_optimizer.step(torch_closure)
    for p, tp in zip(ours, theirs, strict=True):
        p.detach().numpy()[...] = tp.detach().numpy()
    optimizer = optim.LBFGS(ours, max_iter=3, line_search_fn="strong_wolfe")
    optimizer.load_state_dict(torch_optimizer.state_dict())

    def closure() -> Any:
        optimizer.zero_grad()
        loss = rosenbrock_like(chainrule, ours)
        loss.backward()
        return loss

    for _ in range(3):
        optimizer.step(closure)
        torch_optimizer.step(torch_closure)
        same(ours, theirs)


def test_lbfgs_refuses_groups_and_a_missing_closure() -> None:
    ours, _ = pair()
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        optim.LBFGS([{"params": ours[:1]}, {"params": ours[1:]}])
    with pytest.raises(RuntimeError, match="closure"):
        optim.LBFGS(ours).step(None)  # type: ignore[arg-type]
