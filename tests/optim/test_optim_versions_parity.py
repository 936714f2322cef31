"""Optimizer steps change parameters in place, so they bump `_version` as torch 2.13's do:
a graph that saved a parameter before `step()` raises torch's error on backward."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import chainrule as cr

CASES = [
    ("SGD", {}),
    ("SGD", {"momentum": 0.9, "weight_decay": 0.1}),
    ("Adam", {}),
    ("AdamW", {}),
    ("RMSprop", {}),
    ("Adagrad", {}),
]


def _version_after_step(lib: Any, name: str, options: dict[str, Any]) -> tuple[int, int]:
    p = lib.nn.Parameter(lib.ones(3))
    optimizer = getattr(lib.optim, name)([p], lr=0.1, **options)
    (p**2).sum().backward()
    before = p._version
    optimizer.step()
    return before, p._version


@pytest.mark.parametrize(("name", "options"), CASES, ids=[f"{n}{o}" for n, o in CASES])
def test_a_step_bumps_the_version_as_torch(name: str, options: dict[str, Any]) -> None:
    assert _version_after_step(cr, name, options) == _version_after_step(torch, name, options)


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_backward_through_a_parameter_saved_before_the_step_raises(name: str) -> None:
    for lib in (torch, cr):
        x = lib.ones(3, requires_grad=True)
        w = lib.nn.Parameter(lib.ones(3))
        optimizer = getattr(lib.optim, name)([w], lr=0.1)
        y = (x * w).sum()  # mul saves w for x's gradient
        y.backward(retain_graph=True)
        optimizer.step()
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.backward()


def test_lbfgs_steps_bump_the_version() -> None:
    p = cr.nn.Parameter(cr.ones(3))
    optimizer = cr.optim.LBFGS([p], lr=0.1)

    def closure() -> Any:
        optimizer.zero_grad()
        loss = (p**2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    assert p._version > 0


def test_data_updates_do_not_bump_and_no_grad_updates_do() -> None:
    for lib in (torch, cr):
        p = lib.ones(3, requires_grad=True)
        p.data.add_(1)
        p.data += 1
        assert p._version == 0
        with lib.no_grad():
            p.add_(1)
            p -= 1
        assert p._version == 2
