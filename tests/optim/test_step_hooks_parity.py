"""Optimizer step hooks (per optimizer and global) against torch 2.13: order, arguments,
replacement of the step's arguments, the error for a bad result, removal."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr


def _hooks_of(lib: Any) -> Any:
    return importlib.import_module(lib.__name__ + ".optim.optimizer")


def _model(lib: Any) -> Any:
    m = lib.nn.Linear(2, 1).double()
    with lib.no_grad():
        m.weight.copy_(lib.tensor(np.array([[0.5, -1.5]])))
        m.bias.fill_(0.25)
    return m


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_hooks_run_in_torchs_order_with_torchs_arguments(name: str) -> None:
    def body(lib: Any) -> list[Any]:
        m = _model(lib)
        opt = getattr(lib.optim, name)(m.parameters(), lr=0.1)
        seen: list[Any] = []
        own_pre = opt.register_step_pre_hook(
            lambda o, args, kwargs: seen.append(("pre", o is opt, len(args), args[0] is opt))
        )
        opt.register_step_post_hook(lambda o, args, kwargs: seen.append(("post", dict(kwargs))))
        globals_ = _hooks_of(lib)
        first = globals_.register_optimizer_step_pre_hook(lambda *a: seen.append("global pre"))
        last = globals_.register_optimizer_step_post_hook(lambda *a: seen.append("global post"))
        try:
            m(lib.ones(3, 2, dtype=lib.float64)).sum().backward()
            opt.step()
        finally:
            first.remove()
            last.remove()
        own_pre.remove()
        opt.step()
        return [*seen, m.weight.detach().numpy().copy()]

    ours, theirs = body(cr), body(torch)
    assert ours[:-1] == theirs[:-1]
    np.testing.assert_allclose(ours[-1], theirs[-1], rtol=1e-12)  # two steps were taken


def test_a_pre_hook_replaces_the_steps_arguments() -> None:
    def body(lib: Any) -> list[Any]:
        m = _model(lib)
        opt = lib.optim.SGD(m.parameters(), lr=0.1)
        x = lib.ones(3, 2, dtype=lib.float64)

        def closure() -> Any:
            opt.zero_grad()
            loss = m(x).sum()
            loss.backward()
            return loss

        opt.register_step_pre_hook(lambda o, args, kwargs: (args, {"closure": closure}))
        loss = opt.step()  # no closure given: the hook supplies it
        return [float(loss), *m.weight.detach().numpy().ravel()]

    np.testing.assert_allclose(body(cr), body(torch), rtol=1e-12)


def test_a_pre_hook_returning_something_else_is_refused_as_torch() -> None:
    for lib in (cr, torch):
        m = _model(lib)
        opt = lib.optim.SGD(m.parameters(), lr=0.1)
        opt.register_step_pre_hook(lambda o, args, kwargs: 5)
        with pytest.raises(RuntimeError, match=r"must return None or a tuple of \(new_args"):
            opt.step()


def test_a_subclass_calling_super_step_runs_the_hooks_once() -> None:
    class Logged(cr.optim.SGD):
        def step(self, closure: Any = None) -> Any:
            return super().step(closure)

    m = _model(cr)
    opt = Logged(m.parameters(), lr=0.1)
    calls: list[str] = []
    opt.register_step_pre_hook(lambda *a: calls.append("pre"))
    opt.register_step_post_hook(lambda *a: calls.append("post"))
    m(cr.ones(3, 2, dtype=cr.float64)).sum().backward()
    opt.step()
    assert calls == ["pre", "post"]
