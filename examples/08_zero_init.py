"""08 · All-zero initialisation keeps every hidden neuron identical; random init breaks the tie.

With every weight 0, all hidden neurons compute the same value, so backward hands each the
same gradient, so every update keeps them equal: W₁'s rows stay identical for the whole
training, and 16 hidden neurons act like one. One sigmoid neuron cannot draw a circle, so
the network fails. Small random weights (PyTorch's default, which chainrule copies: uniform
±1/√fan_in) make the neurons differ from the first step, and the same network succeeds.

Run: python examples/08_zero_init.py [--out runs/examples]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import chainrule
from chainrule import nn, optim
from chainrule.data import circle
from chainrule.nn import functional as F

HIDDEN = 16


def train(model: nn.Sequential, X: np.ndarray, y: np.ndarray, steps: int = 400) -> dict:
    optimizer = optim.Adam(model.parameters(), lr=0.05)
    inputs, targets = chainrule.tensor(X), chainrule.tensor(y.astype(np.float32))
    hidden = model[0]
    assert isinstance(hidden, nn.Linear)
    history = []  # the hidden neurons' first input weight, over training
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(inputs).squeeze(1), targets)
        loss.backward()
        optimizer.step()
        history.append(hidden.weight.detach().numpy()[:, 0].copy())
    with chainrule.no_grad():
        accuracy = float(np.mean((model(inputs).squeeze(1).numpy() > 0) == y))
    W1 = hidden.weight.detach().numpy()
    return {
        "accuracy": accuracy,
        "loss": loss.item(),
        "row_spread": float(np.abs(W1 - W1[0]).max()),  # 0: every neuron identical
        "history": np.array(history),
    }


def network() -> nn.Sequential:
    return nn.Sequential(nn.Linear(2, HIDDEN), nn.Sigmoid(), nn.Linear(HIDDEN, 1))


def plot(runs: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=False)
    for axis, (label, run) in zip(axes, runs.items(), strict=True):
        axis.plot(run["history"], lw=1)
        axis.set_title(f"{label}: accuracy {run['accuracy']:.2f}")
        axis.set_xlabel("step")
        axis.set_ylabel(f"first weight of each of the {HIDDEN} hidden neurons")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(out_dir: str | Path = "runs/examples") -> dict[str, Any]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    X, y = circle(300, seed=0)
    X = X / 5  # the data live in [-5, 5]²; scaled inputs keep the sigmoids unsaturated

    chainrule.manual_seed(0)
    zero = network()
    for param in zero.parameters():
        nn.init.zeros_(param)
    chainrule.manual_seed(0)
    runs = {"zero init": train(zero, X, y), "random init": train(network(), X, y)}
    for label, run in runs.items():
        print(
            f"{label:12}: accuracy {run['accuracy']:.3f}, loss {run['loss']:.3f}, largest "
            f"difference between two neurons' weights {run['row_spread']:.2e}"
        )
    print(
        "zero init: every hidden neuron got the same gradient at every step, so W₁'s rows "
        "are still identical: the layer is one neuron copied 16 times"
    )

    path = out / "08_zero_init.png"
    plot(runs, path)
    print(f"plot: {path}")
    return {
        "zero_accuracy": runs["zero init"]["accuracy"],
        "zero_row_spread": runs["zero init"]["row_spread"],
        "random_accuracy": runs["random init"]["accuracy"],
        "random_row_spread": runs["random init"]["row_spread"],
        "plot": path,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/examples", help="folder for the plot")
    main(parser.parse_args().out)
