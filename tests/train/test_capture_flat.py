"""The captured plain-SGD update over one flat array (chainrule.capture.flat): the same
numbers as the eager step, and the per-parameter update whenever a parameter's memory is
not (or no longer) its view of the flat array."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule
from chainrule import nn, optim
from chainrule.kernels import numba_enabled, set_numba_enabled


@pytest.fixture(params=[True, False], ids=["numba", "numpy"])
def path(request: pytest.FixtureRequest) -> Any:
    before = numba_enabled()
    set_numba_enabled(request.param)
    yield request.param
    set_numba_enabled(before)


def _model() -> nn.Sequential:
    chainrule.manual_seed(2)
    return nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 12), nn.Tanh(),
                         nn.Linear(12, 3))  # fmt: skip


def _batches(count: int = 6, rows: int = 16) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(3)
    return [(rng.standard_normal((rows, 6)).astype(np.float32), rng.integers(0, 3, rows))
            for _ in range(count)]  # fmt: skip


def _train(
    batches: list[Any], between: Callable[[int, nn.Module, optim.Optimizer], None] | None = None,
    hold: Callable[[nn.Module], Any] = lambda model: None,
) -> tuple[nn.Module, nn.Module, Any, list[int]]:  # fmt: skip
    """An eager model and a captured twin, the same batches; every loss and, at the end,
    every parameter, gradient and version equal. Returns the flat update's call count per
    step (0: the per-parameter update ran)."""
    eager, captured = _model(), _model()
    eager_opt = optim.SGD(eager.parameters(), lr=0.1)
    captured_opt = optim.SGD(captured.parameters(), lr=0.1)
    held = hold(captured)  # noqa: F841 - kept alive through the recording
    step = chainrule.compile_step(captured, nn.CrossEntropyLoss(), captured_opt)
    calls: list[int] = []
    for number, (xb, yb) in enumerate(batches):
        if between is not None:
            between(number, eager, eager_opt)
            between(number, captured, captured_opt)
        eager_opt.zero_grad()
        loss = nn.CrossEntropyLoss()(eager(chainrule.tensor(xb)), chainrule.tensor(yb))
        loss.backward()
        eager_opt.step()
        counted = _count_flat_calls(step)
        assert step(xb, yb).item() == loss.item()
        calls.append(counted())
    for (name, a), b in zip(eager.named_parameters(), captured.parameters(), strict=True):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy()), name
        assert a.grad is not None and b.grad is not None
        assert np.array_equal(a.grad.detach().numpy(), b.grad.detach().numpy()), name
        assert a._version == b._version, name
    return eager, captured, step, calls


def _count_flat_calls(step: Any) -> Callable[[], int]:
    """Count the flat update's calls from now on, in every program of the step."""
    count = [0]
    for program in step.programs.values():
        namespace = program.write.namespace
        real = namespace.get("sgd_plain")
        if real is None:
            continue
        real = getattr(real, "real", real)

        def counting(*args: Any, real: Any = real) -> Any:
            count[0] += 1
            return real(*args)

        counting.real = real  # type: ignore[attr-defined]
        namespace["sgd_plain"] = counting
    return lambda: count[0]


def test_parameters_move_into_one_flat_array_and_the_update_is_one_call(path: bool) -> None:
    _, captured, step, calls = _train(_batches())
    bases = [p._data.base for p in captured.parameters()]
    assert bases[0] is not None and all(base is bases[0] for base in bases)
    assert calls == [0] + [1] * 5  # recorded eagerly, then the flat update
    assert "sgd_plain(flat0, dflat0, lr, sflat0)" in step.code


def test_a_parameter_held_elsewhere_is_not_moved(path: bool) -> None:
    held: list[np.ndarray] = []

    def hold(model: nn.Module) -> None:  # the parameter's memory, as torch's .numpy() gives
        held.append(model[0].weight.detach().numpy())

    _, captured, _, calls = _train(_batches(), hold=hold)
    assert np.shares_memory(held[0], captured[0].weight._data)  # still the same memory
    assert calls == [0] * 6


def test_new_memory_for_a_parameter_falls_back_to_the_per_parameter_update(path: bool) -> None:
    def replace(number: int, model: nn.Module, _: optim.Optimizer) -> None:
        if number == 3:
            model[2].weight.data = model[2].weight.detach().clone() * 0.5

    _, captured, _, calls = _train(_batches(), between=replace)
    assert calls == [0, 1, 1, 0, 0, 0]
    assert captured[2].weight._data.base is None


def test_load_state_dict_and_copy_reach_the_flat_arrays(path: bool) -> None:
    rng = np.random.default_rng(9)
    state = {k: chainrule.tensor(rng.standard_normal(v.shape).astype(np.float32))
             for k, v in _model().state_dict().items()}  # fmt: skip

    def load(number: int, model: nn.Module, _: optim.Optimizer) -> None:
        if number == 2:
            model.load_state_dict(state)
        if number == 4:
            model[4].bias.detach().copy_(chainrule.tensor([0.5, -0.5, 0.25]))

    _, _, _, calls = _train(_batches(), between=load)
    assert calls == [0] + [1] * 5


def test_a_second_input_shape_uses_the_same_flat_array(path: bool) -> None:
    batches = _batches(3) + _batches(3, rows=5) + _batches(2)
    _, captured, step, calls = _train(batches)
    assert len(step.programs) == 2
    assert calls == [0, 1, 1, 0, 1, 1, 1, 1]  # each shape's first step is recorded
    flats = [program.write.namespace["flat0"] for program in step.programs.values()]
    assert flats[0] is flats[1] is captured[0].weight._data.base


def test_a_learning_rate_that_is_not_a_float_takes_the_per_parameter_update(path: bool) -> None:
    def schedule(number: int, _: nn.Module, optimizer: optim.Optimizer) -> None:
        optimizer.param_groups[0]["lr"] = np.float32(0.05) if number >= 3 else 0.1

    _, _, _, calls = _train(_batches(), between=schedule)
    assert calls == [0, 1, 1, 0, 0, 0]


def test_each_parameter_keeps_one_grad_tensor(path: bool) -> None:
    model = _model()
    step = chainrule.compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()))
    seen = []
    for xb, yb in _batches(4):
        step(xb, yb)
        seen.append(model[0].weight.grad)
    assert seen[1] is seen[2] is seen[3] and seen[0] is not seen[1]  # [0]: the eager step's
    assert seen[3] is not None
    model[0].weight.grad.data = chainrule.zeros(12, 6)  # a user replacing its memory
    step(*_batches(1)[0])
    assert model[0].weight.grad._data is step.programs[(16, 6), np.dtype(np.float32)] \
        .write.namespace["dw0"]  # fmt: skip


def _run_pair(make: Callable[[], nn.Module], make_optimizer: Any, dtype: Any = np.float32) -> Any:
    """An eager model and a captured twin from `make`, six steps; all equal at the end."""
    eager, captured = make(), make()
    eager_opt, captured_opt = make_optimizer(eager), make_optimizer(captured)
    step = chainrule.compile_step(captured, nn.CrossEntropyLoss(), captured_opt)
    for xb, yb in _batches():
        xb = xb.astype(dtype)
        eager_opt.zero_grad()
        loss = nn.CrossEntropyLoss()(eager(chainrule.tensor(xb)), chainrule.tensor(yb))
        loss.backward()
        eager_opt.step()
        assert step(xb, yb).item() == loss.item()
    for a, b in zip(eager.parameters(), captured.parameters(), strict=True):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    return captured, step


def test_two_groups_get_a_flat_array_each(path: bool) -> None:
    def two_groups(model: nn.Module) -> optim.Optimizer:
        return optim.SGD([{"params": model[0].parameters(), "lr": 0.3},
                          {"params": [*model[2].parameters(), *model[4].parameters()]}],
                         lr=0.05)  # fmt: skip

    captured, step = _run_pair(_model, two_groups)
    assert "sgd_plain(flat0," in step.code and "sgd_plain(flat1," in step.code
    assert captured[0].weight._data.base is not captured[2].weight._data.base


def test_a_layer_used_twice_keeps_the_per_parameter_update(path: bool) -> None:
    def shared() -> nn.Sequential:
        chainrule.manual_seed(4)
        middle = nn.Linear(12, 12)
        return nn.Sequential(nn.Linear(6, 12), nn.Tanh(), middle, nn.Tanh(), middle, nn.Tanh(),
                             nn.Linear(12, 3))  # fmt: skip

    _, step = _run_pair(shared, lambda m: optim.SGD(m.parameters(), lr=0.1))
    assert "sgd_plain" not in step.code  # the shared layer's gradient is a sum, not a buffer


def test_float64_parameters(path: bool) -> None:
    def sgd(model: nn.Module) -> optim.Optimizer:
        return optim.SGD(model.parameters(), lr=0.1)

    captured, step = _run_pair(lambda: _model().double(), sgd, np.float64)
    assert "sgd_plain(flat0," in step.code
    assert captured[0].weight._data.base.dtype == np.float64
