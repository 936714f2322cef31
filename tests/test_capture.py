"""The captured training step gives exactly the eager step's results."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule
import chainrule.nn.functional as F
from chainrule import nn, optim


def _model(activation: type[nn.Module]) -> nn.Sequential:
    chainrule.manual_seed(0)
    return nn.Sequential(
        nn.Linear(3, 16), activation(), nn.Sequential(nn.Linear(16, 16), activation()),
        nn.Linear(16, 4),
    )  # fmt: skip


def _batches(classification: bool) -> list[tuple[chainrule.Tensor, chainrule.Tensor]]:
    rng = np.random.default_rng(1)
    X = rng.standard_normal((100, 3)).astype(np.float32)
    y = rng.integers(0, 4, 100) if classification else rng.standard_normal((100, 4))
    y = y.astype(np.int64 if classification else np.float32)
    return [(chainrule.tensor(X[i : i + 32]), chainrule.tensor(y[i : i + 32]))
            for i in range(0, 100, 32)]  # fmt: skip  # the last batch is smaller: re-recorded


@pytest.mark.parametrize(
    ("activation", "loss_fn", "classification", "optimizer"),
    [
        (nn.ReLU, nn.CrossEntropyLoss(), True, "sgd"),
        (nn.Tanh, nn.CrossEntropyLoss(label_smoothing=0.1), True, "adam"),
        (nn.GELU, nn.MSELoss(), False, "sgd"),
        (nn.LeakyReLU, nn.CrossEntropyLoss(reduction="sum"), True, "momentum"),
    ],
)
def test_captured_step_equals_eager_step(
    activation: type[nn.Module], loss_fn: nn.Module, classification: bool, optimizer: str
) -> None:
    def make_optimizer(model: nn.Module) -> optim.Optimizer:
        if optimizer == "adam":
            return optim.Adam(model.parameters(), lr=0.01)
        return optim.SGD(
            model.parameters(), lr=0.05, momentum=0.9 if optimizer == "momentum" else 0
        )

    eager_model, captured_model = _model(activation), _model(activation)
    eager_opt, captured_opt = make_optimizer(eager_model), make_optimizer(captured_model)
    step = chainrule.compile_step(captured_model, loss_fn, captured_opt)
    for _ in range(3):
        for xb, yb in _batches(classification):
            eager_opt.zero_grad()
            eager_loss = loss_fn(eager_model(xb), yb)
            eager_loss.backward()
            eager_opt.step()
            assert step(xb, yb).item() == eager_loss.item()
    for a, b in zip(eager_model.parameters(), captured_model.parameters(), strict=True):
        assert np.array_equal(a.data, b.data)
    assert len(step.tapes) == 2  # batches of 32 and of 4


@pytest.mark.parametrize("layer", [nn.Dropout(0.5), nn.BatchNorm1d(8)])
def test_layers_that_change_each_step_are_refused(layer: nn.Module) -> None:
    model = nn.Sequential(nn.Linear(2, 8), layer, nn.Linear(8, 2))
    with pytest.raises(ValueError, match="cannot be replayed"):
        chainrule.compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()))


def test_captured_step_trains() -> None:
    model = _model(nn.ReLU)
    step = chainrule.compile_step(model, F.cross_entropy, optim.Adam(model.parameters(), 0.01))
    first = last = None
    for _ in range(30):
        for xb, yb in _batches(True):
            last = step(xb, yb).item()
            first = last if first is None else first
    assert last is not None and first is not None and last < first
