"""The optimizer's update written into a captured program (chainrule.capture.update): the
same numbers as optimizer.step(), bitwise, and step() no longer called."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule
from chainrule import nn, optim


def _model() -> nn.Sequential:
    chainrule.manual_seed(5)  # 40x128 = 5120 weights: over SCRATCH_MIN, the rest under it
    return nn.Sequential(nn.Linear(40, 128), nn.Tanh(), nn.Linear(128, 24), nn.ReLU(),
                         nn.Linear(24, 5))  # fmt: skip


def _batches(count: int = 7) -> list[Any]:
    rng = np.random.default_rng(6)
    return [(chainrule.tensor(rng.standard_normal((16, 40)).astype(np.float32)),
             chainrule.tensor(rng.integers(0, 5, 16)))
            for _ in range(count)]  # fmt: skip


def _two_groups(kind: Any, first: dict[str, Any], second: dict[str, Any]) -> Any:
    def make(model: nn.Module) -> optim.Optimizer:
        return kind([{"params": model[0].parameters(), **first},
                     {"params": [*model[2].parameters(), *model[4].parameters()], **second}],
                    lr=0.05)  # fmt: skip

    return make


OPTIMIZERS = {
    "sgd": lambda m: optim.SGD(m.parameters(), lr=0.1),
    "momentum": lambda m: optim.SGD(m.parameters(), lr=0.1, momentum=0.9),
    "nesterov+decay": lambda m: optim.SGD(
        m.parameters(), lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.01
    ),
    "dampening+maximize": lambda m: optim.SGD(
        m.parameters(), lr=0.01, momentum=0.5, dampening=0.3, maximize=True
    ),
    "sgd plain and momentum groups": _two_groups(optim.SGD, {}, {"momentum": 0.9}),
    "adam": lambda m: optim.Adam(m.parameters(), lr=0.01),
    "adam decay+amsgrad": lambda m: optim.Adam(
        m.parameters(), lr=0.01, weight_decay=0.1, amsgrad=True
    ),
    "adam maximize": lambda m: optim.Adam(m.parameters(), lr=1e-3, maximize=True),
    "adamw": lambda m: optim.AdamW(m.parameters(), lr=0.01, weight_decay=0.05),
    "adam groups": _two_groups(
        optim.Adam, {"betas": (0.8, 0.99)}, {"weight_decay": 0.2, "eps": 1e-6}
    ),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_the_written_out_update_is_bitwise_optimizer_step(name: str) -> None:
    make_optimizer = OPTIMIZERS[name]
    eager_model, captured_model = _model(), _model()
    eager_opt, captured_opt = make_optimizer(eager_model), make_optimizer(captured_model)
    loss_fn = nn.CrossEntropyLoss()
    step = chainrule.compile_step(captured_model, loss_fn, captured_opt)
    calls = []
    original = captured_opt.step
    captured_opt.step = lambda *a: calls.append(1) or original(*a)  # type: ignore[method-assign]
    for xb, yb in _batches():
        eager_opt.zero_grad()
        eager_loss = loss_fn(eager_model(xb), yb)
        eager_loss.backward()
        eager_opt.step()
        assert step(xb, yb).item() == eager_loss.item()
    for a, b in zip(eager_model.parameters(), captured_model.parameters(), strict=True):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())
        assert a._version == b._version  # each update an in-place change, as step()'s
    for a, b in zip(eager_model.parameters(), captured_model.parameters(), strict=True):
        for key, value in eager_opt.state[a].items():
            assert np.array_equal(value, captured_opt.state[b][key]), key
    assert calls == [1]  # the recorded step only: later ones ran the written-out update
    assert f"if update:  # {type(captured_opt).__name__}.step, written out" in step.code


def test_a_change_of_form_falls_back_to_step_and_a_scheduler_is_followed() -> None:
    def between(number: int, *optimizers: optim.Optimizer) -> None:
        for optimizer in optimizers:
            optimizer.param_groups[0]["lr"] = 0.01 / (1 + number)  # values: written out
            optimizer.param_groups[0]["amsgrad"] = number >= 4  # form: step() again

    eager_model, captured_model = _model(), _model()
    eager_opt = optim.Adam(eager_model.parameters(), lr=0.01)
    captured_opt = optim.Adam(captured_model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    step = chainrule.compile_step(captured_model, loss_fn, captured_opt)
    for number, (xb, yb) in enumerate(_batches(8)):
        between(number, eager_opt, captured_opt)
        eager_opt.zero_grad()
        eager_loss = loss_fn(eager_model(xb), yb)
        eager_loss.backward()
        eager_opt.step()
        assert step(xb, yb).item() == eager_loss.item()
    for a, b in zip(eager_model.parameters(), captured_model.parameters(), strict=True):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())


def test_a_loaded_optimizer_state_is_read_by_the_program() -> None:
    model = _model()
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    step = chainrule.compile_step(model, nn.CrossEntropyLoss(), optimizer)
    batches = _batches(4)
    for xb, yb in batches[:2]:
        step(xb, yb)
    saved = optimizer.state_dict()
    twin = _model()
    twin.load_state_dict(model.state_dict())
    twin_opt = optim.SGD(twin.parameters(), lr=0.1, momentum=0.9)
    twin_opt.load_state_dict(saved)
    for xb, yb in batches[2:]:
        twin_opt.zero_grad()
        nn.CrossEntropyLoss()(twin(xb), yb).backward()
        twin_opt.step()
        step(xb, yb)
    for a, b in zip(twin.parameters(), model.parameters(), strict=True):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())


@pytest.mark.parametrize("name", ["adam", "adamw", "adam decay+amsgrad"])
def test_a_shared_update_is_bitwise_a_serial_optimizer_step(name: str) -> None:
    """A weight of 160k values: past kernels.halves.SHARE_MIN, so the captured step's
    Adam update of it may be shared with the helper thread, while the eager twin runs on
    one update thread: the same numbers."""
    from chainrule.kernels import halves

    def model() -> nn.Sequential:
        chainrule.manual_seed(8)
        return nn.Sequential(nn.Linear(40, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU(),
                             nn.Linear(400, 5))  # fmt: skip

    assert halves.SHARE_MIN <= 400 * 400
    eager_model, captured_model = model(), model()
    eager_opt, captured_opt = OPTIMIZERS[name](eager_model), OPTIMIZERS[name](captured_model)
    loss_fn = nn.CrossEntropyLoss()
    step = chainrule.compile_step(captured_model, loss_fn, captured_opt)
    before = halves.update_threads()
    try:
        for xb, yb in _batches(5):
            halves.set_update_threads(1)
            eager_opt.zero_grad()
            eager_loss = loss_fn(eager_model(xb), yb)
            eager_loss.backward()
            eager_opt.step()
            halves.set_update_threads(2)
            assert step(xb, yb).item() == eager_loss.item()
    finally:
        halves.set_update_threads(before)
    for a, b in zip(eager_model.parameters(), captured_model.parameters(), strict=True):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())
