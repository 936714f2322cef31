"""17 · MNIST-1D: the MLP row of Greydanus, "Scaling down deep learning" (2020).

MNIST-1D turns the ten digits into 1-D signals of 40 samples (padded, scaled, sheared,
shifted and noisy templates): small enough to train on a laptop CPU in seconds, hard enough
to separate model families (linear ~32%, MLP ~68%, CNN ~94% test accuracy in the paper).

The paper's MLP, as its repository defines it (notebooks/models.py and train.py):

    h1 = relu(x W1ᵀ + b1)          x: (B, 40), W1: (100, 40)
    h2 = h1 + relu(h1 W2ᵀ + b2)     a residual hidden layer, W2: (100, 100)
    logits = h2 W3ᵀ + b3            W3: (10, 100)

trained with cross-entropy and Adam (learning rate 1e-2, no weight decay) for 6,000 steps
on batches of 100 taken in order from the 4,000 training signals, and scored on the 1,000
test signals. The data come from the `mnist1d` package's own generator (offline, seed 42).

The matrices are tiny (100 x 100), so a second BLAS thread costs more than it saves: on this
project's busy 2-core machine 1,000 steps took 26 s with NumPy's two threads and 2 s with
one. The script therefore runs NumPy's BLAS on one thread (through threadpoolctl, when it is
installed), as the PyTorch comparison does.

Run: python examples/17_mnist1d.py [--out runs/examples] [--steps 6000]
"""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path
from typing import Any

import numpy as np

import chainrule
from chainrule import nn, optim
from chainrule.data.mnist1d import mnist1d
from chainrule.nn import functional as F

STEPS, BATCH, LR, HIDDEN = 6000, 100, 1e-2, 100
PAPER_MLP_ACCURACY = 0.68  # the MLP row of the paper's table


class PaperMLP(nn.Module):
    """40 -> 100 -> (+ residual 100) -> 10, the MLP of the MNIST-1D paper."""

    def __init__(self, inputs: int = 40, hidden: int = HIDDEN, classes: int = 10) -> None:
        super().__init__()
        self.linear1 = nn.Linear(inputs, hidden)
        self.linear2 = nn.Linear(hidden, hidden)
        self.linear3 = nn.Linear(hidden, classes)

    def forward(self, x: chainrule.Tensor) -> chainrule.Tensor:
        h = self.linear1(x).relu()
        h = h + self.linear2(h).relu()
        return self.linear3(h)


def train_paper_mlp(
    model: nn.Module, X: np.ndarray, y: np.ndarray, steps: int = STEPS
) -> list[float]:
    """The paper's loop: batch i is rows (i * 100) mod 4000 onward, Adam at 1e-2.
    Returns the loss of every step."""
    optimizer = optim.Adam(model.parameters(), lr=LR)
    inputs, targets = chainrule.tensor(X), chainrule.tensor(y)
    losses = []
    for step in range(steps):
        start = (step * BATCH) % len(X)
        loss = F.cross_entropy(model(inputs[start : start + BATCH]), targets[start : start + BATCH])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    with chainrule.no_grad():
        return float(np.mean(model(chainrule.tensor(X)).argmax(dim=1).numpy() == y))


def plot(X: np.ndarray, y: np.ndarray, losses: list[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (signals, curve) = plt.subplots(1, 2, figsize=(11, 3.6))
    for digit in range(10):
        first = int(np.flatnonzero(y == digit)[0])
        signals.plot(X[first] + 3 * digit, np.arange(X.shape[1]), lw=1.5)
        signals.text(3 * digit, -3, str(digit), ha="center")
    signals.invert_yaxis()
    signals.set(title="one training signal per digit (offset)", xticks=[], ylabel="position")
    steps = np.arange(len(losses))
    window = 50
    smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
    curve.semilogy(steps, losses, alpha=0.3, label="each step")
    curve.semilogy(steps[window - 1 :], smooth, label=f"mean of {window}")
    curve.set(title="training loss", xlabel="step", ylabel="cross-entropy")
    curve.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """NumPy's BLAS limited to one thread while inside (a no-op without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1)


def main(out_dir: str | Path = "runs/examples", steps: int = STEPS) -> dict[str, Any]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    X, y, X_test, y_test = mnist1d()  # (4000, 40), (4000,), (1000, 40), (1000,)
    chainrule.manual_seed(42)
    model = PaperMLP()
    began = time.perf_counter()
    with one_blas_thread():
        losses = train_paper_mlp(model, X, y, steps)
    seconds = time.perf_counter() - began
    results: dict[str, Any] = {
        "train_accuracy": accuracy(model, X, y),
        "test_accuracy": accuracy(model, X_test, y_test),
        "paper_accuracy": PAPER_MLP_ACCURACY,
        "steps": steps,
        "seconds": seconds,
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    print(
        f"MNIST-1D, the paper's MLP ({results['parameters']} parameters), {steps} Adam steps "
        f"in {seconds:.1f}s: train accuracy {results['train_accuracy']:.1%}, test "
        f"{results['test_accuracy']:.1%} (the paper: {PAPER_MLP_ACCURACY:.0%})"
    )
    results["plot"] = out / "17_mnist1d.png"
    plot(X, y, losses, results["plot"])
    print(f"plot: {results['plot']}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/examples", help="folder for the plot")
    parser.add_argument("--steps", type=int, default=STEPS, help="Adam steps (paper: 6000)")
    options = parser.parse_args()
    main(options.out, options.steps)
