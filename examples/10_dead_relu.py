"""10 · Dead ReLUs: a large negative bias or a too-large learning rate kills units;
LeakyReLU keeps them alive.

A ReLU unit whose input is negative for every example outputs 0 everywhere, and its local
derivative is 0 everywhere too, so it gets no gradient and can never come back: it is dead.
Two ways to get there: start with a large negative bias, or take one gradient step so large
that it throws the unit's weights far into the negative. LeakyReLU(α = 0.1) has slope α
left of 0 instead of 0, so every unit keeps receiving a gradient and can climb back.

A unit counts as dead here when its pre-activation is <= 0 on every training example.

Run: python examples/10_dead_relu.py [--out runs/examples]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import chainrule
from chainrule import nn, optim
from chainrule.nn import functional as F

HIDDEN = 64


def regression_data(n: int = 512, seed: int = 0) -> tuple[chainrule.Tensor, chainrule.Tensor]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)).astype(np.float32)
    y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2
    return chainrule.tensor(X), chainrule.tensor(y[:, None].astype(np.float32))


def network(activation: nn.Module, bias: float | None = None) -> nn.Sequential:
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, HIDDEN), activation, nn.Linear(HIDDEN, 1))
    if bias is not None:
        hidden = model[0]
        assert isinstance(hidden, nn.Linear) and hidden.bias is not None
        nn.init.constant_(hidden.bias, bias)
    return model


def dead_share(model: nn.Sequential, X: chainrule.Tensor) -> float:
    """Share of hidden units whose pre-activation is <= 0 on every example."""
    with chainrule.no_grad():
        pre_activation = model[0](X).numpy()
    return float(np.mean((pre_activation <= 0).all(axis=0)))


def share_with_gradient(model: nn.Sequential, X: chainrule.Tensor, y: chainrule.Tensor) -> float:
    """Share of hidden units whose weights receive a non-zero gradient."""
    model.zero_grad()
    F.mse_loss(model(X), y).backward()
    hidden = model[0]
    assert isinstance(hidden, nn.Linear) and hidden.weight.grad is not None
    return float(np.mean(np.abs(hidden.weight.grad.numpy()).sum(axis=1) > 0))


def train(
    model: nn.Module,
    optimizer: optim.Optimizer,
    X: chainrule.Tensor,
    y: chainrule.Tensor,
    steps: int,
) -> list[float]:
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.mse_loss(model(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def plot(curves: dict[str, list[float]], shares: dict[str, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    for label, losses in curves.items():
        left.plot(losses, label=label)
    left.set_yscale("log")
    left.set_xlabel("step")
    left.set_ylabel("MSE")
    left.set_title("hidden biases start at -5")
    left.legend()
    right.barh(list(shares), [100 * s for s in shares.values()], color="#c0504d")
    right.set_xlabel("% of hidden units negative on every example (dead, for a ReLU)")
    right.set_xlim(0, 100)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(out_dir: str | Path = "runs/examples") -> dict[str, Any]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    X, y = regression_data()
    results: dict[str, Any] = {}

    # 1. a large negative bias: every ReLU unit starts (and stays) dead
    curves, shares = {}, {}
    for name, activation in (("relu", nn.ReLU()), ("leaky", nn.LeakyReLU(0.1))):
        model = network(activation, bias=-5.0)
        results[f"{name}_bias_dead_at_start"] = dead_share(model, X)
        results[f"{name}_bias_grad_share"] = share_with_gradient(model, X, y)
        losses = train(model, optim.Adam(model.parameters(), lr=0.1), X, y, steps=500)
        results[f"{name}_bias_dead_after"] = dead_share(model, X)
        results[f"{name}_bias_loss"] = losses[-1]
        label = f"{type(activation).__name__}, bias -5"
        curves[label], shares[label] = losses, results[f"{name}_bias_dead_after"]
        print(
            f"{label}: at the start {results[f'{name}_bias_dead_at_start']:.0%} of units are "
            f"negative on every example and {results[f'{name}_bias_grad_share']:.0%} get a "
            f"gradient; after 500 Adam steps {results[f'{name}_bias_dead_after']:.0%} are, "
            f"MSE {losses[-1]:.3f}"
        )
    print(
        f"(the variance of y is {float(y.var(unbiased=False)):.3f}: a network of dead units "
        "predicts the mean and no better)"
    )

    # 2. a too-large learning rate: one big step throws units into the negative
    for lr in (0.05, 0.5):
        model = network(nn.ReLU())
        losses = train(model, optim.SGD(model.parameters(), lr=lr), X, y, steps=300)
        share = dead_share(model, X)
        results[f"relu_lr_{lr}_dead"], results[f"relu_lr_{lr}_loss"] = share, losses[-1]
        shares[f"ReLU, SGD lr {lr}"] = share
        print(
            f"ReLU, SGD with lr {lr}: {share:.0%} of units dead after 300 steps, "
            f"MSE {losses[-1]:.3f}"
        )

    results["plot"] = out / "10_dead_relu.png"
    plot(curves, shares, results["plot"])
    print(f"plot: {results['plot']}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/examples", help="folder for the plot")
    main(parser.parse_args().out)
