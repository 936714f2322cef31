"""13 · Universal approximation: one hidden layer fits sin(x) on [-π, π], better with more neurons.

The theorem: a network with a single hidden layer of enough neurons (with a non-linear
activation such as tanh) approximates any continuous function on a bounded interval as
closely as we like. Here: y = sin(x) on [-π, π], one tanh hidden layer of 1, 2, 4 or 16
neurons, trained with Adam on the mean squared error.

Run: python examples/13_universal_approximation.py [--out runs/examples]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import chainrule
from chainrule import nn, optim
from chainrule.nn import functional as F

WIDTHS = (1, 2, 4, 16)
STEPS = 1500


def fit_sine(width: int, X: chainrule.Tensor, y: chainrule.Tensor) -> tuple[nn.Module, float]:
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, width), nn.Tanh(), nn.Linear(width, 1))
    optimizer = optim.Adam(model.parameters(), lr=0.02)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=STEPS)
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = F.mse_loss(model(X), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
    with chainrule.no_grad():
        return model, F.mse_loss(model(X), y).item()


def plot(fits: dict[int, tuple[np.ndarray, float]], x: np.ndarray, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.5, 4))
    axis.plot(x, np.sin(x), color="k", lw=3, alpha=0.3, label="sin(x)")
    for width, (prediction, mse) in fits.items():
        axis.plot(x, prediction, label=f"{width} neurons, MSE {mse:.1e}")
    axis.set_xlabel("x")
    axis.set_title("one hidden layer (tanh) fitting sin(x)")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(out_dir: str | Path = "runs/examples") -> dict[str, Any]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    x = np.linspace(-np.pi, np.pi, 200, dtype=np.float32)[:, None]
    X, y = chainrule.tensor(x), chainrule.tensor(np.sin(x))
    fits = {}
    for width in WIDTHS:
        model, mse = fit_sine(width, X, y)
        with chainrule.no_grad():
            fits[width] = (model(X).numpy()[:, 0], mse)
        print(f"{width:3d} hidden neurons: MSE {mse:.2e}")
    path = out / "13_universal_approximation.png"
    plot(fits, x[:, 0], path)
    print(f"plot: {path}")
    return {"mse": {width: mse for width, (_, mse) in fits.items()}, "plot": path}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/examples", help="folder for the plot")
    main(parser.parse_args().out)
