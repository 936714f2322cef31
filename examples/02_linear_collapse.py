"""02 · Without activations, layers collapse into one linear map.

Three Linear layers with no non-linearity between them compute X·W₁·W₂·W₃ = X·W, with the
single matrix W = W₁W₂W₃: depth adds nothing. We check it numerically, then train that
3-layer linear network on XOR: like any linear model it gets at most 3 of 4 points right.
Put a tanh between the layers and the same network learns XOR.

(chainrule stores a layer's weight as PyTorch does, shape (out, in), and computes
x·Wᵀ + b; the lectures' W₁ is `layer.weight.T`.)

Run: python examples/02_linear_collapse.py [--out runs/examples]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import chainrule
from chainrule import nn, optim
from chainrule.nn import functional as F

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([0, 1, 1, 0], dtype=np.float32)


def three_layers(activation: type[nn.Module] | None, bias: bool = True) -> nn.Sequential:
    sizes = [(2, 8), (8, 8), (8, 1)]
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(sizes):
        layers.append(nn.Linear(n_in, n_out, bias=bias))
        if activation is not None and i < len(sizes) - 1:
            layers.append(activation())
    return nn.Sequential(*layers)


def train_on_xor(model: nn.Module, steps: int = 600) -> tuple[float, list[float]]:
    optimizer = optim.Adam(model.parameters(), lr=0.05)
    inputs, targets = chainrule.tensor(XOR_X), chainrule.tensor(XOR_Y)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(inputs).squeeze(1), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with chainrule.no_grad():
        predicted = model(inputs).squeeze(1).numpy() > 0
    return float(np.mean(predicted == XOR_Y.astype(bool))), losses


def plot(curves: dict[str, list[float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5.5, 3.5))
    for label, losses in curves.items():
        axis.plot(losses, label=label)
    axis.axhline(np.log(2), color="gray", ls=":", label="log 2: a coin flip")
    axis.set_xlabel("step")
    axis.set_ylabel("BCE on XOR")
    axis.set_title("3 layers on XOR: linear vs with tanh")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(out_dir: str | Path = "runs/examples") -> dict[str, Any]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    chainrule.manual_seed(0)

    # 1. the collapse, checked numerically (float64, so only rounding differs)
    net = three_layers(activation=None, bias=False).double()
    X = np.random.default_rng(0).normal(size=(5, 2))
    W1, W2, W3 = (layer.weight.detach().numpy().T for layer in net)
    W = W1 @ W2 @ W3  # (2, 1): one linear map
    with chainrule.no_grad():
        deep = net(chainrule.tensor(X, dtype=chainrule.float64)).numpy()
    collapse_error = float(np.abs(deep - X @ W).max())
    print(f"3 linear layers vs X·(W₁W₂W₃): max difference {collapse_error:.2e}")
    print(f"the whole network is one 2x1 matrix W = {W.ravel().round(4)}")

    # with biases it is still one affine map: y = X·W + b_total
    net_b = three_layers(activation=None, bias=True).double()
    with chainrule.no_grad():
        outputs = net_b(chainrule.tensor(X, dtype=chainrule.float64)).numpy()
        bias_total = net_b(chainrule.zeros(1, 2, dtype=chainrule.float64)).numpy()
    Wb = np.linalg.multi_dot([layer.weight.detach().numpy().T for layer in net_b])
    affine_error = float(np.abs(outputs - (X @ Wb + bias_total)).max())
    print(f"with biases: y = X·W + b exactly as well (max difference {affine_error:.2e})")

    # 2. so it cannot fit XOR, however long it trains; a non-linearity fixes that
    chainrule.manual_seed(0)
    linear_accuracy, linear_losses = train_on_xor(three_layers(activation=None))
    chainrule.manual_seed(0)
    tanh_accuracy, tanh_losses = train_on_xor(three_layers(activation=nn.Tanh))
    print(
        f"XOR accuracy: 3 linear layers {linear_accuracy:.2f} (final loss "
        f"{linear_losses[-1]:.3f}); with tanh {tanh_accuracy:.2f} (loss {tanh_losses[-1]:.3f})"
    )

    path = out / "02_linear_collapse.png"
    plot({"3 linear layers": linear_losses, "3 layers with tanh": tanh_losses}, path)
    print(f"plot: {path}")
    return {
        "collapse_error": collapse_error,
        "affine_error": affine_error,
        "linear_xor_accuracy": linear_accuracy,
        "nonlinear_xor_accuracy": tanh_accuracy,
        "linear_final_loss": linear_losses[-1],
        "plot": path,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/examples", help="folder for the plot")
    main(parser.parse_args().out)
