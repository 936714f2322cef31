"""compile_step never skips a hook: with one registered the step runs eagerly (hooks called
at every step, the numbers bitwise the eager loop's), and once it is removed the program is
replayed again; optimizer step hooks run around the program's gradients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule
from chainrule import autograd, nn, optim
from chainrule.optim.optimizer import register_optimizer_step_pre_hook


def _model() -> nn.Sequential:
    chainrule.manual_seed(5)
    return nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 3))


def _batches(count: int = 8) -> list[tuple[chainrule.Tensor, chainrule.Tensor]]:
    rng = np.random.default_rng(6)
    return [(chainrule.tensor(rng.standard_normal((16, 3)).astype(np.float32)),
             chainrule.tensor(rng.integers(0, 3, 16)))
            for _ in range(count)]  # fmt: skip


Register = Callable[[nn.Module, optim.Optimizer, list[Any]], Any]

HOOKS: dict[str, Register] = {
    "forward": lambda m, o, seen: m[0].register_forward_hook(lambda *a: seen.append(1)),
    "forward pre": lambda m, o, seen: m[2].register_forward_pre_hook(lambda *a: seen.append(1)),
    "full backward": lambda m, o, seen: m[2].register_full_backward_hook(lambda *a: seen.append(1)),
    "backward pre": lambda m, o, seen: m[0].register_full_backward_pre_hook(
        lambda *a: seen.append(1)
    ),
    "tensor": lambda m, o, seen: m[2].weight.register_hook(lambda g: seen.append(1)),
    "post accumulate": lambda m, o, seen: m[0].bias.register_post_accumulate_grad_hook(
        lambda p: seen.append(1)
    ),
    "post backward": lambda m, o, seen: autograd.register_post_backward_hook(
        lambda leaves: seen.extend(1 for leaf in leaves if leaf is m[0].weight)
    ),
    "step pre": lambda m, o, seen: o.register_step_pre_hook(lambda *a: seen.append(1)),
    "step post": lambda m, o, seen: o.register_step_post_hook(lambda *a: seen.append(1)),
    "global step pre": lambda m, o, seen: register_optimizer_step_pre_hook(
        lambda opt, args, kwargs: seen.extend([1] if opt is o else [])
    ),
}


@pytest.mark.parametrize("kind", sorted(HOOKS))
def test_a_hook_runs_at_every_compiled_step_with_the_eager_numbers(kind: str) -> None:
    eager_model, captured_model = _model(), _model()
    eager_opt = optim.SGD(eager_model.parameters(), lr=0.1, momentum=0.9)
    captured_opt = optim.SGD(captured_model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    step = chainrule.compile_step(captured_model, loss_fn, captured_opt)
    seen: list[Any] = []
    handle = None
    for number, (xb, yb) in enumerate(_batches()):
        if number == 2:  # after a program was made and replayed
            handle = HOOKS[kind](captured_model, captured_opt, seen)
        if number == 5:
            assert handle is not None
            handle.remove()
        eager_opt.zero_grad()
        eager_loss = loss_fn(eager_model(xb), yb)
        eager_loss.backward()
        eager_opt.step()
        assert step(xb, yb).item() == eager_loss.item()
    assert len(seen) == 3  # steps 2, 3 and 4, none after the removal
    for a, b in zip(eager_model.parameters(), captured_model.parameters(), strict=True):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    assert len(step.programs) == 1


def test_a_hook_present_at_the_first_step_is_not_recorded_into_a_program() -> None:
    model = _model()
    step = chainrule.compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()))
    handle = model[0].register_forward_hook(lambda mod, args, out: out * 2)
    for xb, yb in _batches(3):
        step(xb, yb)
    assert not step.programs  # a program made now would have the hook's op written in
    handle.remove()
    for xb, yb in _batches(3):
        step(xb, yb)
    assert len(step.programs) == 1


def test_a_step_pre_hook_sees_the_programs_gradients() -> None:
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = chainrule.compile_step(model, nn.CrossEntropyLoss(), opt)
    batches = _batches(4)
    step(*batches[0])
    step(*batches[1])  # the program
    norms: list[float] = []
    opt.register_step_pre_hook(
        lambda o, args, kwargs: norms.append(float(np.abs(model[0].weight.grad.numpy()).sum()))
    )
    step(*batches[2])
    step(*batches[3])
    assert len(norms) == 2 and all(n > 0 for n in norms)
