"""Every torch.optim.lr_scheduler class against torch 2.13: the same learning rates (and
cycled momenta), compared exactly (==), epoch after epoch, for two parameter groups with
different base rates; state_dict() with torch's keys; a torch-made scheduler state loading
into chainrule and continuing; composites (ChainedScheduler, SequentialLR) of them."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule
from chainrule import optim
from chainrule.optim import lr_scheduler

LRS = (0.1, 0.03)


def optimizers(kind: str = "SGD") -> tuple[Any, Any]:
    """The same two-group optimizer in both frameworks (SGD with momentum, or Adam)."""
    made = []
    for lib, tensor in ((optim, chainrule.tensor), (torch.optim, torch.tensor)):
        groups = [{"params": [tensor(np.zeros(2), requires_grad=True)], "lr": lr} for lr in LRS]
        extra = {"momentum": 0.9} if kind == "SGD" else {}
        made.append(getattr(lib, kind)(groups, **extra))
    return made[0], made[1]


def rates(optimizer: Any) -> list[Any]:
    """lr, and the momentum or β1 a cyclic scheduler moves, of each group."""
    out = []
    for group in optimizer.param_groups:
        out.append(group["lr"])
        out.append(group.get("momentum", group.get("betas", (None,))[0]))
    return out


Factory = Callable[[Any, Any], Any]
L = lr_scheduler
SCHEDULERS: list[tuple[str, Factory, int]] = [
    ("LambdaLR", lambda m, o: m.LambdaLR(o, lambda e: 0.9**e + 0.1 * (e % 3)), 30),
    ("MultiplicativeLR", lambda m, o: m.MultiplicativeLR(o, lambda e: 0.95), 30),
    (
        "MultiplicativeLR-list",
        lambda m, o: m.MultiplicativeLR(o, [lambda e: 0.9, lambda e: 1.0 + 0.01 * e]),
        30,
    ),
    ("StepLR", lambda m, o: m.StepLR(o, step_size=4, gamma=0.5), 30),
    ("MultiStepLR", lambda m, o: m.MultiStepLR(o, milestones=[3, 7, 7, 20], gamma=0.3), 30),
    ("ConstantLR", lambda m, o: m.ConstantLR(o), 12),
    ("ConstantLR-factor", lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=3), 12),
    ("LinearLR", lambda m, o: m.LinearLR(o), 12),
    ("LinearLR-down", lambda m, o: m.LinearLR(o, 1.0, 0.1, total_iters=7), 12),
    ("ExponentialLR", lambda m, o: m.ExponentialLR(o, gamma=0.87), 30),
    ("PolynomialLR", lambda m, o: m.PolynomialLR(o), 10),
    ("PolynomialLR-power", lambda m, o: m.PolynomialLR(o, total_iters=8, power=2.5), 12),
    ("CosineAnnealingLR", lambda m, o: m.CosineAnnealingLR(o, T_max=10), 45),
    ("CosineAnnealingLR-eta_min", lambda m, o: m.CosineAnnealingLR(o, T_max=7, eta_min=0.01), 45),
    ("WarmRestarts", lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5), 40),
    (
        "WarmRestarts-mult",
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001),
        40,
    ),
    ("CyclicLR", lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=4), 40),
    (
        "CyclicLR-triangular2",
        lambda m, o: m.CyclicLR(o, [0.01, 0.001], [0.1, 0.05], 3, 5, mode="triangular2"),
        40,
    ),
    (
        "CyclicLR-exp_range",
        lambda m, o: m.CyclicLR(o, 0.01, 0.1, 4, mode="exp_range", gamma=0.97),
        40,
    ),
    (
        "CyclicLR-scale_fn",
        lambda m, o: m.CyclicLR(
            o,
            0.01,
            0.1,
            3,
            scale_fn=lambda x: 1 / (1 + x),
            scale_mode="iterations",
            cycle_momentum=False,
        ),
        40,
    ),  # fmt: skip
    ("OneCycleLR", lambda m, o: m.OneCycleLR(o, max_lr=0.5, total_steps=30), 30),
    (
        "OneCycleLR-linear-3phase",
        lambda m, o: m.OneCycleLR(
            o,
            max_lr=[0.5, 0.2],
            epochs=4,
            steps_per_epoch=6,
            pct_start=0.25,
            anneal_strategy="linear",
            three_phase=True,
            div_factor=10.0,
        ),
        24,
    ),  # fmt: skip
    (
        "OneCycleLR-no-momentum",
        lambda m, o: m.OneCycleLR(o, max_lr=0.3, total_steps=20, cycle_momentum=False),
        20,
    ),
    (
        "ChainedScheduler",
        lambda m, o: m.ChainedScheduler(
            [m.ConstantLR(o, factor=0.5, total_iters=3), m.ExponentialLR(o, gamma=0.9)]
        ),
        20,
    ),
    (
        "ChainedScheduler-cosine",
        lambda m, o: m.ChainedScheduler(
            [m.LinearLR(o, 0.2, total_iters=4), m.CosineAnnealingLR(o, T_max=9)], optimizer=o
        ),
        30,
    ),
    (
        "SequentialLR",
        lambda m, o: m.SequentialLR(
            o, [m.LinearLR(o, 0.1, total_iters=5), m.CosineAnnealingLR(o, T_max=15)], [5]
        ),
        30,
    ),
    (
        "SequentialLR-three",
        lambda m, o: m.SequentialLR(
            o,
            [m.ConstantLR(o, 0.3, 2), m.ExponentialLR(o, 0.8), m.StepLR(o, 3, 0.5)],
            milestones=[4, 9],
        ),
        25,
    ),
]
IDS = [name for name, _, _ in SCHEDULERS]


def _with_adam(name: str) -> bool:
    return name.startswith(("CyclicLR", "OneCycleLR")) and "scale_fn" not in name


@pytest.mark.parametrize(("name", "factory", "epochs"), SCHEDULERS, ids=IDS)
def test_rates_equal_torchs_exactly(name: str, factory: Factory, epochs: int) -> None:
    for kind in ("SGD", "Adam") if _with_adam(name) else ("SGD",):
        ours, theirs = optimizers(kind)
        scheduler, reference = (
            factory(lr_scheduler, ours),
            factory(torch.optim.lr_scheduler, theirs),
        )
        assert rates(ours) == rates(theirs)
        assert scheduler.get_last_lr() == reference.get_last_lr()
        for _ in range(epochs):
            ours.step()
            theirs.step()
            scheduler.step()
            reference.step()
            assert rates(ours) == rates(theirs), (kind, scheduler.last_epoch)
            assert scheduler.get_last_lr() == reference.get_last_lr()


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@pytest.mark.parametrize(("name", "factory", "epochs"), SCHEDULERS, ids=IDS)
def test_state_dict_has_torchs_keys_and_values(name: str, factory: Factory, epochs: int) -> None:
    ours, theirs = optimizers()
    scheduler, reference = factory(lr_scheduler, ours), factory(torch.optim.lr_scheduler, theirs)
    for _ in range(epochs // 2):
        scheduler.step()
        reference.step()
    mine, torchs = scheduler.state_dict(), reference.state_dict()
    assert set(mine) == set(torchs)
    for key in ("last_epoch", "base_lrs", "_last_lr", "_step_count", "_milestones"):
        if key in torchs:
            assert mine[key] == torchs[key]
    for mine_member, torch_member in zip(
        mine.get("_schedulers", []), torchs.get("_schedulers", []), strict=True
    ):
        assert set(mine_member) == set(torch_member)


@pytest.mark.parametrize(("name", "factory", "epochs"), SCHEDULERS, ids=IDS)
def test_a_torch_state_dict_loads_and_continues(name: str, factory: Factory, epochs: int) -> None:
    """torch runs half the schedule; chainrule's scheduler loads torch's state_dict (and its
    optimizer torch's param_groups) and both go on with the same rates."""
    ours, theirs = optimizers()
    reference = factory(torch.optim.lr_scheduler, theirs)
    for _ in range(epochs // 2):
        theirs.step()
        reference.step()
    scheduler = factory(lr_scheduler, ours)
    torch_groups = theirs.state_dict()["param_groups"]
    for group, saved in zip(ours.param_groups, torch_groups, strict=True):
        group.update({k: v for k, v in saved.items() if k != "params"})
    scheduler.load_state_dict(_plain(reference.state_dict()))
    assert scheduler.get_last_lr() == reference.get_last_lr()
    for _ in range(epochs - epochs // 2):
        scheduler.step()
        reference.step()
        assert rates(ours) == rates(theirs)


CLOSED_FORM = [
    ("StepLR", lambda m, o: m.StepLR(o, 3, 0.5)),
    ("MultiStepLR", lambda m, o: m.MultiStepLR(o, [2, 5, 5], 0.3)),
    ("ConstantLR", lambda m, o: m.ConstantLR(o, 0.4, 4)),
    ("LinearLR", lambda m, o: m.LinearLR(o, 0.2, 0.9, 6)),
    ("ExponentialLR", lambda m, o: m.ExponentialLR(o, 0.9)),
    ("PolynomialLR", lambda m, o: m.PolynomialLR(o, 6, 2.0)),
    ("CosineAnnealingLR", lambda m, o: m.CosineAnnealingLR(o, 8, 0.01)),
    ("WarmRestarts", lambda m, o: m.CosineAnnealingWarmRestarts(o, 3, 2)),
]


@pytest.mark.parametrize("factory", [f for _, f in CLOSED_FORM], ids=[n for n, _ in CLOSED_FORM])
def test_step_with_an_epoch_uses_the_closed_form_as_torch(factory: Factory) -> None:
    ours, theirs = optimizers()
    scheduler, reference = factory(lr_scheduler, ours), factory(torch.optim.lr_scheduler, theirs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in [3, 1, 7, 7.5, 12, 0, 20]:
            is_restarts = isinstance(scheduler, lr_scheduler.CosineAnnealingWarmRestarts)
            if not is_restarts and isinstance(epoch, float):
                continue
            scheduler.step(epoch)
            reference.step(epoch)
            assert rates(ours) == rates(theirs), epoch


def test_composites_check_their_members_as_torch() -> None:
    ours, theirs = optimizers()
    other, other_torch = optimizers()
    for lib, o, p in ((lr_scheduler, ours, other), (torch.optim.lr_scheduler, theirs, other_torch)):
        with pytest.raises(ValueError, match="at least one scheduler"):
            lib.SequentialLR(o, [], [])
        with pytest.raises(ValueError, match="number of milestone points"):
            lib.SequentialLR(o, [lib.StepLR(o, 2)], [3])
        with pytest.raises(ValueError, match="ReduceLROnPlateau"):
            lib.ChainedScheduler([lib.ReduceLROnPlateau(o)])
        with pytest.raises(ValueError, match="same optimizer"):
            lib.ChainedScheduler([lib.StepLR(o, 2), lib.StepLR(p, 2)])


ARGUMENT_ERRORS = [
    lambda m, o: m.ConstantLR(o, factor=1.5),
    lambda m, o: m.LinearLR(o, start_factor=0),
    lambda m, o: m.LinearLR(o, end_factor=2),
    lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=0),
    lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0),
    lambda m, o: m.CyclicLR(o, 0.1, 1.0, mode="sawtooth"),
    lambda m, o: m.OneCycleLR(o, max_lr=0.1),
    lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1),
    lambda m, o: m.OneCycleLR(o, max_lr=[0.1, 0.2, 0.3], total_steps=10),
    lambda m, o: m.MultiplicativeLR(o, [lambda e: 1.0]),
]


@pytest.mark.parametrize("factory", ARGUMENT_ERRORS)
def test_bad_arguments_give_torchs_message(factory: Factory) -> None:
    ours, theirs = optimizers()
    with pytest.raises(ValueError) as mine:
        factory(lr_scheduler, ours)
    with pytest.raises(ValueError) as reference:
        factory(torch.optim.lr_scheduler, theirs)
    assert str(mine.value) == str(reference.value)


def test_one_cycle_refuses_stepping_past_the_end_as_torch() -> None:
    ours, theirs = optimizers()
    for lib, o in ((lr_scheduler, ours), (torch.optim.lr_scheduler, theirs)):
        scheduler = lib.OneCycleLR(o, max_lr=0.1, total_steps=3)
        for _ in range(3):
            scheduler.step()
        with pytest.raises(ValueError, match="Tried to step 4 times"):
            scheduler.step()


def test_cycle_momentum_needs_a_momentum() -> None:
    param = chainrule.tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        lr_scheduler.CyclicLR(optim.Rprop([param]), 0.01, 0.1)


def test_missing_names_point_to_the_coverage_page() -> None:
    with pytest.raises(AttributeError, match="docs/pytorch-coverage.md"):
        lr_scheduler.NoSuchScheduler  # noqa: B018


PLATEAU = [
    {},
    {"mode": "max", "factor": 0.5, "patience": 1, "threshold_mode": "abs", "threshold": 0.01},
    {"patience": 0, "cooldown": 2, "min_lr": [0.02, 0.001], "eps": 1e-3},
]


@pytest.mark.parametrize("kwargs", PLATEAU, ids=[str(k) for k in PLATEAU])
def test_reduce_lr_on_plateau_equals_torchs(kwargs: dict[str, Any]) -> None:
    ours, theirs = optimizers()
    scheduler = lr_scheduler.ReduceLROnPlateau(ours, **kwargs)
    reference = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, **kwargs)
    metrics = [1.0, 0.9, 0.95, 0.95, 0.91, 0.92, 0.93, 0.5, 0.6, 0.7, 0.7, 0.7, 0.2] * 2
    for metric in metrics:
        scheduler.step(metric)
        reference.step(metric)
        assert rates(ours) == rates(theirs)
        assert scheduler.get_last_lr() == reference.get_last_lr()
    assert set(scheduler.state_dict()) == set(reference.state_dict())
