"""15 · Handwritten digits: an MLP reaches 97%+ test accuracy on 8x8 digit images.

scikit-learn's `digits` (1,797 images of 8x8 pixels, a small cousin of MNIST) through a
64 -> 128 -> 10 MLP with ReLU, trained with Adam on mini-batches and cross-entropy, on
pixels standardised with the training set's mean and spread. The prediction is the argmax
of the 10 logits. The plot shows the test digits it gets wrong.

Run: python examples/15_digits.py [--out runs/examples]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import chainrule
from chainrule import nn, optim
from chainrule.data import Standardizer, digits, train_test_split
from chainrule.nn import functional as F

EPOCHS, BATCH = 30, 32


def plot_misclassified(
    images: np.ndarray, truth: np.ndarray, predicted: np.ndarray, path: Path, limit: int = 24
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wrong = np.flatnonzero(truth != predicted)[:limit]
    columns = 8
    rows = max(1, -(-len(wrong) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 1.2, rows * 1.45), squeeze=False)
    for axis in axes.ravel():
        axis.axis("off")
    for axis, i in zip(axes.ravel(), wrong, strict=False):
        axis.imshow(images[i].reshape(8, 8), cmap="gray_r")
        axis.set_title(f"{truth[i]} → {predicted[i]}", fontsize=9)
    figure.suptitle(
        f"misclassified test digits (true → predicted): "
        f"{int((truth != predicted).sum())} of {len(truth)}"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(out_dir: str | Path = "runs/examples") -> dict[str, Any]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    X, y = digits()  # X (1797, 64) in [0, 1], y in 0..9
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=0)
    scaler = Standardizer().fit(X_train)  # statistics of the training images only
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = optim.Adam(model.parameters(), lr=2e-3)
    inputs, targets = chainrule.tensor(scaler.transform(X_train)), chainrule.tensor(y_train)
    rng = np.random.default_rng(0)
    for epoch in range(1, EPOCHS + 1):
        order = rng.permutation(len(X_train))
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            optimizer.zero_grad()
            loss = F.cross_entropy(model(inputs[batch]), targets[batch])
            loss.backward()
            optimizer.step()
        if epoch % 10 == 0:
            print(f"epoch {epoch:2d}: loss on the last batch {loss.item():.4f}")

    with chainrule.no_grad():
        predicted = model(chainrule.tensor(scaler.transform(X_test))).argmax(dim=1).numpy()
        train_predicted = model(inputs).argmax(dim=1).numpy()
    results: dict[str, Any] = {
        "train_accuracy": float(np.mean(train_predicted == y_train)),
        "test_accuracy": float(np.mean(predicted == y_test)),
        "misclassified": int((predicted != y_test).sum()),
        "test_size": len(y_test),
    }
    print(
        f"{len(X_train)} training / {len(X_test)} test images; accuracy: train "
        f"{results['train_accuracy']:.3f}, test {results['test_accuracy']:.3f} "
        f"({results['misclassified']} test digits wrong)"
    )
    results["plot"] = out / "15_digits.png"
    plot_misclassified(X_test, y_test, predicted, results["plot"])
    print(f"plot: {results['plot']}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/examples", help="folder for the plot")
    main(parser.parse_args().out)
