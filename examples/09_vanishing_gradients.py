"""09 · Vanishing gradients: 10 sigmoid layers vs 10 ReLU layers with He initialisation.

The gradient reaching layer k is a product of the local derivatives of every layer above
it. The sigmoid's derivative σ(1 - σ) is at most 1/4, and with PyTorch's default weights
(uniform ±1/√fan_in) each layer shrinks the gradient further: by the input layer it is
orders of magnitude smaller than at the output, so the early layers barely learn ("network
paralysis"). ReLU's derivative is exactly 1 where it is active, and He (Kaiming)
initialisation, std √(2/fan_in), keeps the signal's size from layer to layer: the gradient
norms stay of the same order all the way down.

Run: python examples/09_vanishing_gradients.py [--out runs/examples]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import chainrule
from chainrule import nn
from chainrule.nn import functional as F

DEPTH, WIDTH = 10, 64


def deep_network(activation: type[nn.Module], he_init: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(DEPTH):
        layer = nn.Linear(WIDTH, WIDTH if i < DEPTH - 1 else 1)
        if he_init:
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
        layers.append(layer)
        if i < DEPTH - 1:
            layers.append(activation())
    return nn.Sequential(*layers)


def gradient_norms(model: nn.Sequential, X: chainrule.Tensor, y: chainrule.Tensor) -> np.ndarray:
    """‖∂L/∂W‖ of each Linear layer, from the input layer (1) to the output layer (10)."""
    model.zero_grad()
    F.mse_loss(model(X), y).backward()
    norms = []
    for layer in model:
        if isinstance(layer, nn.Linear) and layer.weight.grad is not None:
            norms.append(float(np.linalg.norm(layer.weight.grad.numpy())))
    return np.array(norms)


def plot(norms: dict[str, np.ndarray], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    for label, values in norms.items():
        axis.semilogy(np.arange(1, DEPTH + 1), values, marker="o", label=label)
    axis.set_xlabel("layer (1 = input, 10 = output)")
    axis.set_ylabel("‖∂L/∂W‖ (log scale)")
    axis.set_title("gradient norm per layer, one backward pass")
    axis.set_xticks(range(1, DEPTH + 1))
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(out_dir: str | Path = "runs/examples") -> dict[str, Any]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    chainrule.manual_seed(0)
    X, y = chainrule.randn(256, WIDTH), chainrule.randn(256, 1)
    norms = {
        "sigmoid, default init": gradient_norms(deep_network(nn.Sigmoid, he_init=False), X, y),
        "ReLU, He init": gradient_norms(deep_network(nn.ReLU, he_init=True), X, y),
    }
    results: dict[str, Any] = {}
    for label, values in norms.items():
        ratio = values[-1] / values[0]
        key = "sigmoid" if label.startswith("sigmoid") else "relu"
        results[f"{key}_norms"] = values
        results[f"{key}_ratio"] = float(ratio)  # output layer's norm / input layer's norm
        print(f"{label}: ‖∂L/∂W‖ from input to output layer")
        print("   " + " ".join(f"{v:.1e}" for v in values))
        print(f"   output / input = {ratio:.1e} ({np.log10(ratio):+.1f} orders of magnitude)")
    results["plot"] = out / "09_vanishing_gradients.png"
    plot(norms, results["plot"])
    print(f"plot: {results['plot']}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/examples", help="folder for the plot")
    main(parser.parse_args().out)
