"""Learning-rate schedulers against PyTorch's: the same rates, step after step."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule
from chainrule import optim
from chainrule.optim import lr_scheduler

LRS = (0.1, 0.03)  # two parameter groups, with different base rates


def make_optimizers() -> tuple[optim.SGD, torch.optim.SGD]:
    params = [chainrule.tensor(np.zeros(2), requires_grad=True) for _ in LRS]
    torch_params = [torch.zeros(2, requires_grad=True) for _ in LRS]
    optimizer = optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, LRS, strict=True)])
    torch_optimizer = torch.optim.SGD(
        [{"params": [p], "lr": lr} for p, lr in zip(torch_params, LRS, strict=True)]
    )
    return optimizer, torch_optimizer


def lrs(optimizer: Any) -> list[float]:
    return [group["lr"] for group in optimizer.param_groups]


def assert_close(ours: list[float], theirs: list[float]) -> None:
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-15)


# a scheduler factory takes the module holding the classes (ours or torch's) and an optimizer
Factory = Callable[[Any, Any], Any]
SCHEDULERS: list[tuple[str, Factory]] = [
    ("StepLR", lambda m, o: m.StepLR(o, step_size=7)),
    ("StepLR-gamma", lambda m, o: m.StepLR(o, step_size=3, gamma=0.5)),
    ("MultiStepLR", lambda m, o: m.MultiStepLR(o, milestones=[5, 12, 20])),
    ("MultiStepLR-repeated", lambda m, o: m.MultiStepLR(o, milestones=[4, 9, 9, 25], gamma=0.3)),
    ("ExponentialLR", lambda m, o: m.ExponentialLR(o, gamma=0.9)),
    ("CosineAnnealingLR", lambda m, o: m.CosineAnnealingLR(o, T_max=30)),
    # past T_max the rate climbs back up: 30 steps cover more than a whole period
    ("CosineAnnealingLR-eta_min", lambda m, o: m.CosineAnnealingLR(o, T_max=12, eta_min=0.01)),
    ("CosineAnnealingLR-short", lambda m, o: m.CosineAnnealingLR(o, T_max=5, eta_min=0.001)),
    ("LambdaLR", lambda m, o: m.LambdaLR(o, lr_lambda=lambda epoch: 1 / (1 + epoch))),
    (
        "LambdaLR-list",
        lambda m, o: m.LambdaLR(o, lr_lambda=[lambda e: 0.95**e, lambda e: (e + 1) % 4]),
    ),
]


@pytest.mark.parametrize("factory", [f for _, f in SCHEDULERS], ids=[n for n, _ in SCHEDULERS])
def test_lr_sequence_matches_torch(factory: Factory) -> None:
    optimizer, torch_optimizer = make_optimizers()
    scheduler = factory(lr_scheduler, optimizer)
    torch_scheduler = factory(torch.optim.lr_scheduler, torch_optimizer)
    # construction took the first step: the rates are the base rates, epoch 0
    assert scheduler.last_epoch == torch_scheduler.last_epoch == 0
    assert_close(lrs(optimizer), lrs(torch_optimizer))
    assert_close(scheduler.get_last_lr(), torch_scheduler.get_last_lr())
    assert scheduler.base_lrs == list(LRS)
    assert [g["initial_lr"] for g in optimizer.param_groups] == list(LRS)
    for _ in range(30):
        optimizer.step()
        torch_optimizer.step()
        scheduler.step()
        torch_scheduler.step()
        assert scheduler.last_epoch == torch_scheduler.last_epoch
        assert_close(lrs(optimizer), lrs(torch_optimizer))
        assert_close(scheduler.get_last_lr(), torch_scheduler.get_last_lr())
        assert scheduler.get_last_lr() == lrs(optimizer)


def test_cosine_closed_form_values() -> None:
    optimizer, _ = make_optimizers()
    scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=10, eta_min=0.001)
    for t in range(1, 25):
        scheduler.step()
        expected = [0.001 + (lr - 0.001) * (1 + math.cos(math.pi * t / 10)) / 2 for lr in LRS]
        assert_close(scheduler.get_last_lr(), expected)
    assert scheduler.get_last_lr() != list(LRS)


def test_step_lr_values() -> None:
    optimizer, _ = make_optimizers()
    scheduler = lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    seen = [scheduler.get_last_lr()[0]]
    for _ in range(5):
        optimizer.step()
        scheduler.step()
        seen.append(scheduler.get_last_lr()[0])
    assert_close(seen, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025])


def test_get_last_lr_is_a_copy() -> None:
    optimizer, _ = make_optimizers()
    scheduler = lr_scheduler.ExponentialLR(optimizer, gamma=0.5)
    scheduler.get_last_lr().append(1.0)
    assert scheduler.get_last_lr() == list(LRS)


@pytest.mark.parametrize("factory", [f for _, f in SCHEDULERS], ids=[n for n, _ in SCHEDULERS])
def test_state_dict_round_trip(factory: Factory) -> None:
    optimizer, _ = make_optimizers()
    scheduler = factory(lr_scheduler, optimizer)
    for _ in range(10):
        optimizer.step()
        scheduler.step()
    saved_scheduler = scheduler.state_dict()
    saved_optimizer = optimizer.state_dict()
    assert "optimizer" not in saved_scheduler

    # restore PyTorch's way: build the scheduler, then load the optimizer, then the scheduler
    restored_optimizer, _ = make_optimizers()
    restored = factory(lr_scheduler, restored_optimizer)
    restored_optimizer.load_state_dict(saved_optimizer)
    restored.load_state_dict(saved_scheduler)
    assert restored.last_epoch == 10
    assert restored.get_last_lr() == scheduler.get_last_lr()
    for _ in range(20):
        optimizer.step()
        scheduler.step()
        restored_optimizer.step()
        restored.step()
        assert restored.get_last_lr() == scheduler.get_last_lr()
        assert lrs(restored_optimizer) == lrs(optimizer)


def test_lambda_lr_state_dict_leaves_out_plain_functions() -> None:
    class Warmup:
        def __init__(self, steps: int) -> None:
            self.steps = steps

        def __call__(self, epoch: int) -> float:
            return min(1.0, (epoch + 1) / self.steps)

    optimizer, _ = make_optimizers()
    scheduler = lr_scheduler.LambdaLR(optimizer, [Warmup(5), lambda e: 1.0])
    saved = scheduler.state_dict()
    assert saved["lr_lambdas"] == [{"steps": 5}, None]
    other, _ = make_optimizers()
    restored = lr_scheduler.LambdaLR(other, [Warmup(2), lambda e: 1.0])
    restored.load_state_dict(saved)
    assert restored.lr_lambdas[0].steps == 5  # type: ignore[attr-defined]
    assert saved["lr_lambdas"] == [{"steps": 5}, None]  # loading did not consume the dict


def test_resuming_with_last_epoch() -> None:
    optimizer, _ = make_optimizers()
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(optimizer, step_size=3, last_epoch=4)
    lr_scheduler.StepLR(optimizer, step_size=3)  # sets 'initial_lr'
    resumed = lr_scheduler.CosineAnnealingLR(optimizer, T_max=10, last_epoch=4)
    assert resumed.last_epoch == 5
    assert resumed.base_lrs == list(LRS)


def test_scheduler_argument_checks() -> None:
    optimizer, torch_optimizer = make_optimizers()
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.StepLR(torch_optimizer, step_size=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        lr_scheduler.LambdaLR(optimizer, [lambda e: 1.0])
    with pytest.raises(ValueError, match=r"Factor should be < 1\.0\."):
        lr_scheduler.ReduceLROnPlateau(optimizer, factor=1.0)
    with pytest.raises(ValueError, match="mode maximum is unknown!"):
        lr_scheduler.ReduceLROnPlateau(optimizer, mode="maximum")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="expected 2 min_lrs, got 3"):
        lr_scheduler.ReduceLROnPlateau(optimizer, min_lr=[0, 0, 0])


def test_reachable_from_the_package() -> None:
    assert optim.lr_scheduler.StepLR is lr_scheduler.StepLR
    assert issubclass(optim.lr_scheduler.ReduceLROnPlateau, optim.lr_scheduler.LRScheduler)


# ---------------------------------------------------------------- ReduceLROnPlateau

METRICS = [
    1.0, 0.9, 0.91, 0.92, 0.93, 0.89, 0.9, 0.9, 0.9, 0.9,
    0.5, 0.5, 0.49999, 0.6, 0.7, 0.45, 0.45, 0.45, 0.45, 0.45,
    0.45, 0.45, 0.3, 0.31, 0.32, 0.33, 0.34, 0.35, 0.36, 0.37,
    0.38, 0.35, 0.36, 0.36, 0.36, 0.2, 0.2, 0.2, 0.2, 0.2,
]  # fmt: skip

PLATEAU_CASES: list[tuple[str, dict[str, Any], list[float]]] = [
    ("default", {}, METRICS),
    ("patience-2", {"patience": 2}, METRICS),
    ("cooldown", {"patience": 1, "cooldown": 2, "factor": 0.5}, METRICS),
    ("min_lr", {"patience": 0, "factor": 0.5, "min_lr": 0.01}, METRICS),
    ("min_lr-list", {"patience": 0, "factor": 0.3, "min_lr": [0.02, 0.001]}, METRICS),
    ("abs", {"patience": 1, "threshold": 0.05, "threshold_mode": "abs"}, METRICS),
    ("max", {"mode": "max", "patience": 2}, [-m for m in METRICS]),
    ("max-abs", {"mode": "max", "patience": 1, "threshold_mode": "abs"}, [-m for m in METRICS]),
    ("eps", {"patience": 0, "factor": 0.5, "eps": 0.02}, METRICS),
]


@pytest.mark.parametrize(
    ("kwargs", "metrics"),
    [(k, m) for _, k, m in PLATEAU_CASES],
    ids=[n for n, _, _ in PLATEAU_CASES],
)
def test_reduce_lr_on_plateau_matches_torch(kwargs: dict[str, Any], metrics: list[float]) -> None:
    optimizer, torch_optimizer = make_optimizers()
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, **kwargs)
    torch_scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(torch_optimizer, **kwargs)
    assert scheduler.get_last_lr() == list(LRS)
    reductions = 0
    for metric in metrics:
        before = lrs(optimizer)
        scheduler.step(metric)
        torch_scheduler.step(metric)
        reductions += lrs(optimizer) != before
        assert_close(lrs(optimizer), lrs(torch_optimizer))
        assert scheduler.get_last_lr() == lrs(optimizer)
        assert scheduler.num_bad_epochs == torch_scheduler.num_bad_epochs
        assert scheduler.last_epoch == torch_scheduler.last_epoch
    assert reductions > 0


def test_reduce_lr_on_plateau_accepts_array_metrics() -> None:
    optimizer, _ = make_optimizers()
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, patience=0)
    scheduler.step(np.array(1.0))
    scheduler.step(chainrule.tensor(2.0))
    assert scheduler.get_last_lr() == [lr * 0.1 for lr in LRS]


def test_reduce_lr_on_plateau_state_dict_round_trip() -> None:
    optimizer, _ = make_optimizers()
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, patience=1, cooldown=1, factor=0.5)
    for metric in METRICS[:12]:
        scheduler.step(metric)
    saved = scheduler.state_dict()
    assert "optimizer" not in saved

    restored_optimizer, _ = make_optimizers()
    restored = lr_scheduler.ReduceLROnPlateau(restored_optimizer)
    restored_optimizer.load_state_dict(optimizer.state_dict())
    restored.load_state_dict(saved)
    assert restored.patience == 1 and restored.best == scheduler.best
    for metric in METRICS[12:]:
        scheduler.step(metric)
        restored.step(metric)
        assert lrs(restored_optimizer) == lrs(optimizer)
