"""04 · Logistic regression is one neuron; softmax regression handles several classes.

Binary: z = x·w + b (the logit), p = σ(z), loss = BCE = -mean(y log p + (1-y) log(1-p)), the
negative log-likelihood of Bernoulli labels. The prediction is [p > 0.5] = [z > 0]. The
gradient comes out beautifully simple: ∂L/∂w = Xᵀ(p - y)/N, which we check against autograd.

Several classes: K neurons give K logits, softmax turns them into probabilities and the
loss is cross-entropy, -(1/N) Σ log p[i, yᵢ]; the prediction is the argmax of the logits.

Run: python examples/04_logistic_regression.py [--out runs/examples]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import chainrule
from chainrule import nn, optim
from chainrule.data import gauss
from chainrule.nn import functional as F


def blobs(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian clouds, one per class; X float32 (n, 2), y int64 (n,)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 2.5], [-2.5, -1.5], [2.5, -1.5]])
    y = rng.integers(0, 3, n)
    return (centres[y] + rng.normal(0, 1.0, (n, 2))).astype(np.float32), y


def train(model: nn.Module, loss_of: Any, steps: int, lr: float) -> list[float]:
    """Plain gradient descent: forward -> loss -> backward -> w ← w - lr·∂L/∂w."""
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_of(model)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def plot(panels: list[tuple[str, Any, np.ndarray, np.ndarray]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.2))
    for axis, (title, predict, X, y) in zip(axes, panels, strict=True):
        low, high = X.min(axis=0) - 1, X.max(axis=0) + 1
        gx, gy = np.meshgrid(np.linspace(low[0], high[0], 200), np.linspace(low[1], high[1], 200))
        grid = np.column_stack([gx.ravel(), gy.ravel()]).astype(np.float32)
        classes = predict(grid).reshape(gx.shape)
        axis.contourf(
            gx, gy, classes, levels=np.arange(-0.5, y.max() + 1), cmap="viridis", alpha=0.3
        )
        axis.scatter(X[:, 0], X[:, 1], c=y, cmap="viridis", s=10, edgecolors="k", linewidths=0.3)
        axis.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(out_dir: str | Path = "runs/examples") -> dict[str, Any]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    chainrule.manual_seed(0)
    results: dict[str, Any] = {}

    # --- binary: one neuron, sigmoid, BCE
    X_np, y_np = gauss(400, noise=0.2, seed=0)
    X, y = chainrule.tensor(X_np), chainrule.tensor(y_np.astype(np.float32))
    neuron = nn.Linear(2, 1)

    def bce(model: nn.Module) -> chainrule.Tensor:
        p = model(X).squeeze(1).sigmoid()
        return F.binary_cross_entropy(p, y)

    losses = train(neuron, bce, steps=300, lr=0.5)
    with chainrule.no_grad():
        z = neuron(X).squeeze(1)
    p = z.sigmoid().numpy()
    p64 = 1 / (1 + np.exp(-z.numpy().astype(np.float64)))  # float64: no log(0) at p ≈ 1
    # y log p + (1 - y) log(1 - p) keeps one term per row, as y is 0 or 1
    by_hand = float(-np.mean(np.where(y_np == 1, np.log(p64), np.log(1 - p64))))
    results["bce_formula_gap"] = abs(by_hand - F.binary_cross_entropy(z.sigmoid(), y).item())
    results["bce_logits_gap"] = abs(by_hand - F.binary_cross_entropy_with_logits(z, y).item())
    results["binary_accuracy"] = float(np.mean((z.numpy() > 0) == y_np))
    print(
        f"one neuron (sigmoid + BCE) on two Gaussian blobs: loss {losses[0]:.3f} -> "
        f"{losses[-1]:.3f}, accuracy {results['binary_accuracy']:.3f}"
    )
    print(
        f"BCE by hand {by_hand:.6f} = F.binary_cross_entropy (gap "
        f"{results['bce_formula_gap']:.1e}) = F.binary_cross_entropy_with_logits (gap "
        f"{results['bce_logits_gap']:.1e})"
    )

    neuron.zero_grad()
    bce(neuron).backward()
    assert neuron.weight.grad is not None
    formula = X_np.T @ (p - y_np) / len(y_np)  # ∂L/∂w = Xᵀ(p - y)/N
    results["grad_formula_gap"] = float(np.abs(neuron.weight.grad.numpy()[0] - formula).max())
    print(
        f"∂L/∂w: autograd {neuron.weight.grad.numpy()[0]}, Xᵀ(p - y)/N {formula} "
        f"(gap {results['grad_formula_gap']:.1e})"
    )

    # --- several classes: K neurons, softmax, cross-entropy
    Xm_np, ym_np = blobs()
    Xm, ym = chainrule.tensor(Xm_np), chainrule.tensor(ym_np)
    layer = nn.Linear(2, 3)
    losses = train(layer, lambda model: F.cross_entropy(model(Xm), ym), steps=300, lr=0.5)
    with chainrule.no_grad():
        logits = layer(Xm)
    probabilities = logits.softmax(dim=1).numpy()
    by_hand = float(-np.mean(np.log(probabilities[np.arange(len(ym_np)), ym_np])))
    results["ce_formula_gap"] = abs(by_hand - F.cross_entropy(logits, ym).item())
    results["softmax_accuracy"] = float(np.mean(logits.argmax(dim=1).numpy() == ym_np))
    print(
        f"softmax regression, 3 classes: loss {losses[0]:.3f} -> {losses[-1]:.3f}, "
        f"accuracy {results['softmax_accuracy']:.3f}; -(1/N) Σ log p[i, yᵢ] = "
        f"F.cross_entropy (gap {results['ce_formula_gap']:.1e})"
    )

    def predict_binary(grid: np.ndarray) -> np.ndarray:
        with chainrule.no_grad():
            return (neuron(chainrule.tensor(grid)).squeeze(1).numpy() > 0).astype(int)

    def predict_classes(grid: np.ndarray) -> np.ndarray:
        with chainrule.no_grad():
            return layer(chainrule.tensor(grid)).argmax(dim=1).numpy()

    results["plot"] = out / "04_logistic_regression.png"
    plot(
        [
            ("logistic regression: [z > 0]", predict_binary, X_np, y_np),
            ("softmax regression: argmax of 3 logits", predict_classes, Xm_np, ym_np),
        ],
        results["plot"],
    )
    print(f"plot: {results['plot']}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/examples", help="folder for the plot")
    main(parser.parse_args().out)
