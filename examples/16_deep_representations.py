"""16 · Deep representations: early layers learn simple features, later layers more
meaningful ones.

A 2-32-32-32-3 ReLU network learns three interleaved spiral arms. We then look inside it,
layer by layer, in two ways:

- How simple is each unit's feature? A first-layer ReLU unit is on in a half-plane of the
  input: one straight line separates where it fires from where it does not. Deeper units
  combine the units below, so the region where they fire bends. For every unit we fit the
  best straight line we can (logistic regression on the input plane) and report how much of
  the plane that line gets right: 100% for a half-plane, less for a curved region.
- How meaningful is each layer's representation? A linear probe — softmax regression on a
  layer's activations, trained on the training points, scored on held-out points — tells
  how linearly the three classes can be read off that layer. On the raw input a straight
  line cannot separate spiral arms; layer by layer the network straightens them out.

Run: python examples/16_deep_representations.py [--out runs/examples]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import chainrule
from chainrule import nn, optim
from chainrule.data import spiral_multiclass
from chainrule.nn import functional as F

CLASSES, WIDTH, DEPTH = 3, 32, 3


def network() -> nn.Sequential:
    chainrule.manual_seed(0)
    layers: list[nn.Module] = []
    width_in = 2
    for _ in range(DEPTH):
        layers += [nn.Linear(width_in, WIDTH), nn.ReLU()]
        width_in = WIDTH
    return nn.Sequential(*layers, nn.Linear(WIDTH, CLASSES))


def train(model: nn.Module, X: chainrule.Tensor, y: chainrule.Tensor, steps: int) -> float:
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(X), y)
        loss.backward()
        optimizer.step()
    return loss.item()


def representations(model: nn.Sequential, X: np.ndarray) -> list[np.ndarray]:
    """The input and the output of every hidden ReLU: what each layer hands the next."""
    found = [X]
    h = chainrule.tensor(X)
    with chainrule.no_grad():
        for layer in model:
            h = layer(h)
            if isinstance(layer, nn.ReLU):
                found.append(h.numpy())
    return found


def fit_linear(
    features: np.ndarray, labels: np.ndarray, outputs: int, multilabel: bool, steps: int = 500
) -> Callable[[np.ndarray], np.ndarray]:
    """Logistic (multilabel: one sigmoid per output) or softmax regression on standardised
    features, by Adam; returns the function from features to logits."""
    mean, std = features.mean(axis=0), features.std(axis=0) + 1e-6
    X = chainrule.tensor((features - mean) / std)
    y = chainrule.tensor(labels.astype(np.float32) if multilabel else labels)
    chainrule.manual_seed(1)
    probe = nn.Linear(features.shape[1], outputs)
    optimizer = optim.Adam(probe.parameters(), lr=0.05)
    for _ in range(steps):
        optimizer.zero_grad()
        logits = probe(X)
        loss = (
            F.binary_cross_entropy_with_logits(logits, y)
            if multilabel
            else F.cross_entropy(logits, y)
        )
        loss.backward()
        optimizer.step()

    def logits_of(new_features: np.ndarray) -> np.ndarray:
        with chainrule.no_grad():
            return probe(chainrule.tensor((new_features - mean) / std)).numpy()

    return logits_of


def unit_linearity(active: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """For each unit that is on somewhere and off somewhere on the grid: the share of the
    grid that the best straight line found puts on the right side (on vs off)."""
    varying = active.any(axis=0) & ~active.all(axis=0)
    on = active[:, varying]
    line = fit_linear(grid, on, on.shape[1], multilabel=True)
    return np.asarray(((line(grid) > 0) == on).mean(axis=0))


def plot(grid_side: np.ndarray, maps: list[np.ndarray], probe: list[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = 4
    figure, axes = plt.subplots(DEPTH, shown + 1, figsize=(11, 2.3 * DEPTH))
    extent = (grid_side[0], grid_side[-1], grid_side[0], grid_side[-1])
    side = len(grid_side)
    for depth in range(DEPTH):
        activity = maps[depth]
        strongest = np.argsort(activity.std(axis=0))[::-1][:shown]
        for column, unit in enumerate(strongest):
            axis = axes[depth, column]
            axis.imshow(activity[:, unit].reshape(side, side), origin="lower", extent=extent)
            axis.set_xticks([])
            axis.set_yticks([])
            axis.set_title(f"layer {depth + 1}, unit {unit}", fontsize=8)
        axes[depth, shown].axis("off")
    bars = figure.add_axes((0.83, 0.15, 0.15, 0.7))
    bars.barh(["input", *[f"layer {d + 1}" for d in range(DEPTH)]], [100 * p for p in probe])
    bars.invert_yaxis()
    bars.set_xlim(0, 100)
    bars.set_xlabel("linear probe accuracy %")
    figure.suptitle("what each layer's ReLU units respond to on the input plane")
    figure.savefig(path, dpi=90)
    plt.close(figure)


def main(out_dir: str | Path = "runs/examples") -> dict[str, Any]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    X_all, y_all = spiral_multiclass(1200, classes=CLASSES, noise=0.05, seed=0)
    X_train, y_train, X_test, y_test = X_all[:900], y_all[:900], X_all[900:], y_all[900:]
    model = network()
    loss = train(model, chainrule.tensor(X_train), chainrule.tensor(y_train), steps=1500)
    with chainrule.no_grad():
        test_logits = model(chainrule.tensor(X_test)).numpy()
    accuracy = float((test_logits.argmax(axis=1) == y_test).mean())
    print(f"2-32-32-32-3 ReLU network on 3 spiral arms: loss {loss:.3f}, test accuracy "
          f"{accuracy:.1%}")  # fmt: skip

    side = np.linspace(-1.2, 1.2, 60, dtype=np.float32)
    grid = np.stack(np.meshgrid(side, side), axis=-1).reshape(-1, 2)
    grid_maps = representations(model, grid)[1:]
    linearity = []
    for depth, activity in enumerate(grid_maps, start=1):
        share = unit_linearity(activity > 0, grid)
        linearity.append(float(share.mean()))
        print(f"layer {depth}: a straight line separates where a unit fires from where it "
              f"does not on {share.mean():.1%} of the plane on average (worst unit "
              f"{share.min():.1%})")  # fmt: skip

    train_features = representations(model, X_train)
    test_features = representations(model, X_test)
    probe_accuracy = []
    for depth, (features, held_out) in enumerate(zip(train_features, test_features, strict=True)):
        probe = fit_linear(features, y_train, CLASSES, multilabel=False)
        score = float((probe(held_out).argmax(axis=1) == y_test).mean())
        probe_accuracy.append(score)
        name = "the input (x, y)" if depth == 0 else f"layer {depth}"
        print(f"a linear probe reads the class off {name} for {score:.1%} of held-out points")

    path = out / "16_deep_representations.png"
    plot(side, grid_maps, probe_accuracy, path)
    print(f"plot: {path}")
    return {
        "test_accuracy": accuracy,
        "unit_linearity": linearity,
        "probe_accuracy": probe_accuracy,
        "plot": path,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/examples", help="folder for the plot")
    main(parser.parse_args().out)
