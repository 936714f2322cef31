"""14 · One network, five tasks: only the output activation and the loss change.

The same body (2 inputs -> 32 tanh units -> K outputs) solves

| task                    | target      | output activation     | loss          |
|-------------------------|-------------|-----------------------|---------------|
| regression              | y ∈ ℝ       | identity              | MSE           |
| multi-output regression | y ∈ ℝᴷ      | identity              | MSE           |
| binary classification   | y ∈ {0, 1}  | sigmoid               | BCE           |
| multi-label             | y ∈ {0, 1}ᴷ | element-wise sigmoid  | BCE           |
| multi-class             | y ∈ {0..K-1}| softmax               | cross-entropy |

For multi-class, `F.cross_entropy` takes the logits and applies (log-)softmax itself, stably;
the prediction is the argmax of the logits. (For the sigmoid heads,
`F.binary_cross_entropy_with_logits` fuses sigmoid + BCE the same way; we keep them apart
here to match the table.)

Run: python examples/14_five_heads.py [--out runs/examples]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import chainrule
from chainrule import nn, optim
from chainrule.nn import functional as F

Tensor = chainrule.Tensor


def network(outputs: int) -> nn.Sequential:
    chainrule.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, outputs))


def train(
    model: nn.Module,
    X: Tensor,
    head: Callable[[Tensor], Tensor],
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    target: Tensor,
) -> Tensor:
    """forward -> output activation -> loss -> backward -> Adam step; returns the outputs."""
    optimizer = optim.Adam(model.parameters(), lr=0.02)
    for _ in range(400):
        optimizer.zero_grad()
        loss_fn(head(model(X)), target).backward()
        optimizer.step()
    with chainrule.no_grad():
        return head(model(X))


def r2(target: np.ndarray, prediction: np.ndarray) -> float:
    return float(1 - ((target - prediction) ** 2).sum() / ((target - target.mean(0)) ** 2).sum())


def main(out_dir: str | Path = "runs/examples") -> dict[str, Any]:
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (400, 2)).astype(np.float32)
    x1, x2 = x[:, 0], x[:, 1]
    X = chainrule.tensor(x)
    identity = lambda z: z  # noqa: E731 - the identity head, named for the table
    sigmoid = lambda z: z.sigmoid()  # noqa: E731

    y_reg = (np.sin(2 * x1) + 0.5 * x2)[:, None]
    y_multi = np.column_stack([np.sin(2 * x1), np.cos(x2)])
    y_binary = (x1**2 + x2**2 < 1.5).astype(np.float32)[:, None]
    y_labels = np.column_stack([x1 > 0, x2 > 0, x1 * x2 > 0]).astype(np.float32)
    y_class = (x1 > 0).astype(np.int64) * 2 + (x2 > 0)  # the quadrant, 0..3

    def as_tensor(a: np.ndarray) -> Tensor:
        return chainrule.tensor(a.astype(np.float32))

    out = train(network(1), X, identity, F.mse_loss, as_tensor(y_reg))
    results = {"regression_r2": r2(y_reg, out.numpy())}
    out = train(network(2), X, identity, F.mse_loss, as_tensor(y_multi))
    results["multi_output_r2"] = r2(y_multi, out.numpy())
    out = train(network(1), X, sigmoid, F.binary_cross_entropy, as_tensor(y_binary))
    results["binary_accuracy"] = float(np.mean((out.numpy() > 0.5) == y_binary))
    out = train(network(3), X, sigmoid, F.binary_cross_entropy, as_tensor(y_labels))
    results["multi_label_accuracy"] = float(np.mean((out.numpy() > 0.5) == y_labels))
    out = train(network(4), X, identity, F.cross_entropy, chainrule.tensor(y_class))
    results["multi_class_accuracy"] = float(np.mean(out.argmax(dim=1).numpy() == y_class))

    rows = [
        ("regression", "identity", "MSE", "R²", results["regression_r2"]),
        ("multi-output regression", "identity", "MSE", "R²", results["multi_output_r2"]),
        ("binary", "sigmoid", "BCE", "accuracy", results["binary_accuracy"]),
        ("multi-label (3 labels)", "sigmoid", "BCE", "accuracy", results["multi_label_accuracy"]),
        (
            "multi-class (4 classes)",
            "softmax",
            "cross-entropy",
            "accuracy",
            results["multi_class_accuracy"],
        ),
    ]
    print(f"{'task':25} {'output':10} {'loss':14} result on the training data")
    for task, activation, loss, metric, value in rows:
        print(f"{task:25} {activation:10} {loss:14} {metric} {value:.3f}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/examples", help="output folder (unused)")
    main(parser.parse_args().out)
