"""01 · The perceptron learns AND and OR but not XOR; one hidden layer learns XOR.

Rosenblatt's perceptron y = [w·x + b > 0] draws one straight line through the plane. AND and
OR are linearly separable, so the perceptron rule converges; XOR is not (no line puts (0, 1)
and (1, 0) on one side and (0, 0), (1, 1) on the other), so it never converges and at best
gets 3 of the 4 points right. A network with one hidden layer (two lines, combined) can.

Run: python examples/01_perceptron.py [--out runs/examples]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import chainrule
from chainrule import nn, optim
from chainrule.classic import Perceptron
from chainrule.nn import functional as F

INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
TRUTH_TABLES = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "XOR": [0, 1, 1, 0]}


def train_mlp(X: np.ndarray, y: np.ndarray, hidden: int = 4, steps: int = 500) -> nn.Module:
    """x -> tanh(x W₁ + b₁) -> one logit; sigmoid + BCE (fused into one stable loss)."""
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 1))
    optimizer = optim.Adam(model.parameters(), lr=0.05)
    inputs, targets = chainrule.tensor(X), chainrule.tensor(y, dtype=chainrule.float32)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(inputs).squeeze(1), targets)
        loss.backward()
        optimizer.step()
    return model


def mlp_predict(model: nn.Module, X: np.ndarray) -> np.ndarray:
    with chainrule.no_grad():
        return (model(chainrule.tensor(X)).squeeze(1).numpy() > 0).astype(np.int64)


def plot(perceptrons: dict[str, Perceptron], mlp: nn.Module, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.linspace(-0.5, 1.5, 200, dtype=np.float32)
    gx, gy = np.meshgrid(grid, grid)
    points = np.column_stack([gx.ravel(), gy.ravel()])
    panels = [(f"perceptron: {name}", p.predict, name) for name, p in perceptrons.items()]
    panels.append(("one hidden layer: XOR", lambda X: mlp_predict(mlp, X), "XOR"))
    figure, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.2))
    for axis, (title, predict, table) in zip(axes, panels, strict=True):
        axis.contourf(
            gx, gy, predict(points).reshape(gx.shape), levels=1, cmap="coolwarm", alpha=0.35
        )
        axis.scatter(
            INPUTS[:, 0],
            INPUTS[:, 1],
            c=TRUTH_TABLES[table],
            cmap="coolwarm",
            s=120,
            edgecolors="k",
        )
        axis.set_title(title, fontsize=10)
        axis.set_xticks([0, 1])
        axis.set_yticks([0, 1])
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(out_dir: str | Path = "runs/examples") -> dict[str, Any]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    perceptrons = {}
    for name, table in TRUTH_TABLES.items():
        y = np.array(table)
        model = Perceptron(lr=1.0, max_epochs=100, seed=0).fit(INPUTS, y)
        perceptrons[name] = model
        accuracy = model.score(INPUTS, y)
        results[f"{name.lower()}_converged"] = model.converged_
        results[f"{name.lower()}_accuracy"] = accuracy
        print(
            f"perceptron on {name}: converged={model.converged_} after {model.n_epochs_} "
            f"epochs, w={model.coef_}, b={model.intercept_:+.1f}, accuracy {accuracy:.2f}"
        )

    y_xor = np.array(TRUTH_TABLES["XOR"])
    mlp = train_mlp(INPUTS, y_xor)
    results["xor_mlp_accuracy"] = float(np.mean(mlp_predict(mlp, INPUTS) == y_xor))
    print(f"MLP 2-4-1 (tanh) on XOR: accuracy {results['xor_mlp_accuracy']:.2f}")

    results["plot"] = out / "01_perceptron.png"
    plot(perceptrons, mlp, results["plot"])
    print(f"plot: {results['plot']}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/examples", help="folder for the plot")
    main(parser.parse_args().out)
