"""Whole training runs: a seeded MLP learns XOR and a two-arm spiral, and a PyTorch-style
training script gives the same losses as PyTorch step by step (swap torch for chainrule)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import torch

import chainrule as cr
from chainrule import nn, optim
from tests.support.modules import torch_state_as_numpy


def accuracy(logits: cr.Tensor, labels: np.ndarray) -> float:
    return float((logits.detach().numpy().argmax(1) == labels).mean())


def train_classifier(
    model: nn.Module, x: np.ndarray, labels: np.ndarray, steps: int, lr: float
) -> float:
    """Full-batch Adam on cross-entropy; returns the final training accuracy."""
    inputs, targets = cr.tensor(x, dtype=cr.float32), cr.tensor(labels)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
    model.eval()
    with cr.no_grad():
        return accuracy(model(inputs), labels)


def two_arm_spiral(points_per_arm: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals of two turns each: r = t, angle = t (+ π for the second arm),
    t in [0.5, 4π], scaled to about [-1, 1], with a little noise. Labels 0 and 1."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.5, 4 * np.pi, points_per_arm)
    arms = []
    for arm in range(2):
        angle = t + arm * np.pi
        xy = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1) / (4 * np.pi)
        arms.append(xy + rng.normal(0, 0.01, xy.shape))
    return np.concatenate(arms), np.repeat([0, 1], points_per_arm)


def test_xor_reaches_full_accuracy() -> None:
    cr.manual_seed(0)
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    labels = np.array([0, 1, 1, 0])
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    assert train_classifier(model, x, labels, steps=300, lr=0.05) == 1.0


def test_two_arm_spiral_reaches_97_percent() -> None:
    cr.manual_seed(0)
    x, labels = two_arm_spiral()
    # width 32: wider layers cross OpenBLAS's threading threshold, which is slow on small CPUs
    model = nn.Sequential(
        nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2)
    )
    assert train_classifier(model, x, labels, steps=500, lr=0.02) >= 0.97


def test_seeded_training_is_reproducible() -> None:
    results = []
    for _ in range(2):
        cr.manual_seed(3)
        model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Dropout(0.2), nn.Linear(4, 2))
        x, labels = two_arm_spiral(20)
        train_classifier(model, x, labels, steps=5, lr=0.01)
        results.append([p.detach().numpy().copy() for p in model.parameters()])
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- swap torch for chainrule


def build_model(framework: ModuleType) -> Any:
    """The same architecture in either framework (`framework` is `torch` or `chainrule`)."""
    n = framework.nn
    return n.Sequential(
        n.Linear(3, 16),
        n.BatchNorm1d(16),
        n.Tanh(),
        n.Linear(16, 16),
        n.LeakyReLU(0.1),
        n.Linear(16, 4),
    )


def training_script(
    framework: ModuleType, model: Any, batches: list[tuple[Any, Any]]
) -> list[float]:
    """A PyTorch-style loop, written once and run with `framework` = torch or chainrule."""
    optimizer = framework.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = framework.nn.CrossEntropyLoss()
    model.train()
    losses = []
    for x, y in batches:
        optimizer.zero_grad()
        loss = loss_fn(model(framework.tensor(x)), framework.tensor(y))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_training_script_matches_torch_step_by_step() -> None:
    rng = np.random.default_rng(0)
    batches = [(rng.standard_normal((16, 3)), rng.integers(0, 4, 16)) for _ in range(20)]
    torch.manual_seed(0)
    torch_model = build_model(torch).double()
    model = build_model(cr).double()
    model.load_state_dict(torch_state_as_numpy(torch_model))

    torch_losses = training_script(torch, torch_model, batches)
    losses = training_script(cr, model, batches)

    np.testing.assert_allclose(losses, torch_losses, rtol=1e-6, atol=1e-6)
    assert losses[-1] < losses[0]
    # the weights and BatchNorm's running statistics followed the same path
    ours = model.state_dict()
    for key, value in torch_model.state_dict().items():
        np.testing.assert_allclose(ours[key].numpy(), value.numpy(), rtol=1e-6, atol=1e-6)
