"""12 · Full-batch gradient descent, mini-batch SGD and single-sample SGD on one problem.

Gradient descent computes the loss's gradient on all N examples before each step: exact,
but one step per pass over the data (an epoch). Stochastic gradient descent estimates the
gradient on a random subset, a mini-batch of B examples, and steps after each: N/B noisy
steps per epoch. With B = 1 (the original SGD) the steps are noisiest and most frequent.
Same model, same learning rate, same number of epochs; we compare the loss on the full
training set after each epoch.

Run: python examples/12_gd_variants.py [--out runs/examples]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import chainrule
from chainrule import nn, optim
from chainrule.nn import functional as F

N, FEATURES, EPOCHS, LR = 512, 5, 15, 0.02


def problem(seed: int = 0) -> tuple[chainrule.Tensor, chainrule.Tensor]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, FEATURES))
    y = X @ rng.normal(size=FEATURES) + 1.0 + 0.3 * rng.normal(size=N)
    return (chainrule.tensor(X.astype(np.float32)), chainrule.tensor(y[:, None].astype(np.float32)))


def run(batch_size: int, X: chainrule.Tensor, y: chainrule.Tensor) -> list[float]:
    """Train a linear model with SGD on batches of `batch_size`; full loss after each epoch."""
    chainrule.manual_seed(0)
    model = nn.Linear(FEATURES, 1)
    optimizer = optim.SGD(model.parameters(), lr=LR)
    order_rng = np.random.default_rng(0)

    def full_loss() -> float:
        with chainrule.no_grad():
            return F.mse_loss(model(X), y).item()

    curve = [full_loss()]
    for _ in range(EPOCHS):
        order = order_rng.permutation(N)  # a new random split into batches every epoch
        for start in range(0, N, batch_size):
            batch = order[start : start + batch_size]
            optimizer.zero_grad()
            F.mse_loss(model(X[batch]), y[batch]).backward()
            optimizer.step()
        curve.append(full_loss())
    return curve


def plot(curves: dict[str, list[float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    for label, curve in curves.items():
        axis.plot(range(len(curve)), curve, marker="o", ms=3, label=label)
    axis.set_yscale("log")
    axis.set_xlabel("epoch (passes over the data)")
    axis.set_ylabel("MSE on the whole training set")
    axis.set_title(f"same model, lr {LR}, {EPOCHS} epochs")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(out_dir: str | Path = "runs/examples") -> dict[str, Any]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    X, y = problem()
    variants = {
        "full-batch GD (B = 512)": N,
        "mini-batch SGD (B = 32)": 32,
        "single-sample SGD (B = 1)": 1,
    }
    curves = {label: run(batch_size, X, y) for label, batch_size in variants.items()}
    for (label, curve), batch_size in zip(curves.items(), variants.values(), strict=True):
        steps = EPOCHS * -(-N // batch_size)
        print(
            f"{label:26}: {steps:5d} steps, loss {curve[0]:.3f} -> after 1 epoch "
            f"{curve[1]:.3f} -> after {EPOCHS} epochs {curve[-1]:.4f}"
        )
    print(
        f"the noise floor (variance of the added noise) is {0.3**2:.2f}: per epoch, more "
        "(noisier) steps get there sooner; single-sample steps keep jittering around it"
    )
    path = out / "12_gd_variants.png"
    plot(curves, path)
    print(f"plot: {path}")
    full, mini, single = curves.values()
    return {"full_batch": full, "mini_batch": mini, "single_sample": single, "plot": path}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/examples", help="folder for the plot")
    main(parser.parse_args().out)
