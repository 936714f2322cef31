"""A run's plots (matplotlib, Agg backend, PNG files written atomically): the figures, and
`draw_plots`, which picks those that fit the run's data.

matplotlib is an optional extra (`pip install "chainrule[plots]"`); it is imported only
when a plot is drawn.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from chainrule import nn
from chainrule.cli.preparation import PreparedData
from chainrule.files import atomic_write_bytes
from chainrule.train import History, metrics, predict


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError('plots need matplotlib: pip install "chainrule[plots]"') from None
    return plt


def _save(figure: Any, path: str | Path) -> Path:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(figure)
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def plot_history(history: Mapping[str, Sequence[float]], path: str | Path) -> Path:
    """Loss (and each metric) per epoch, train and validation side by side."""
    plt = _pyplot()
    names = [k for k in history if not k.startswith("val_") and k != "lr" and len(history[k])]
    figure, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.6), squeeze=False)
    for axis, name in zip(axes[0], names, strict=True):
        epochs = np.arange(1, len(history[name]) + 1)
        axis.plot(epochs, history[name], marker="o", ms=3, label=f"train {name}")
        if f"val_{name}" in history and len(history[f"val_{name}"]):
            axis.plot(epochs, history[f"val_{name}"], marker="o", ms=3, label=f"val {name}")
        axis.set_xlabel("epoch")
        axis.set_title(name)
        axis.grid(alpha=0.3)
        axis.legend()
    return _save(figure, path)


def plot_confusion_matrix(
    matrix: np.ndarray, path: str | Path, labels: Sequence[str] | None = None
) -> Path:
    """Counts of (true class, predicted class); the diagonal holds the correct answers."""
    plt = _pyplot()
    k = matrix.shape[0]
    figure, axis = plt.subplots(figsize=(1.0 + 0.5 * k, 0.8 + 0.5 * k))
    axis.imshow(matrix, cmap="Blues")
    ticks = list(labels) if labels is not None else [str(i) for i in range(k)]
    axis.set_xticks(range(k), ticks)
    axis.set_yticks(range(k), ticks)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    threshold = matrix.max() / 2 if matrix.size else 0
    for (i, j), count in np.ndenumerate(matrix):
        axis.text(j, i, str(count), ha="center", va="center",
                  color="white" if count > threshold else "black", fontsize=8)  # fmt: skip
    axis.set_title("confusion matrix")
    return _save(figure, path)


def plot_decision_boundary(
    predict: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    path: str | Path,
    resolution: int = 200,
) -> Path:
    """The model's predicted class over the plane (one vectorised forward pass on a grid)
    with the data points on top."""
    plt = _pyplot()
    margin = 0.5
    (x0, y0), (x1, y1) = X.min(axis=0) - margin, X.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()]).astype(X.dtype)
    classes = predict(grid).reshape(gx.shape)
    figure, axis = plt.subplots(figsize=(5, 5))
    axis.contourf(gx, gy, classes, alpha=0.35, cmap="coolwarm", levels=np.unique(y).size)
    axis.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=10, edgecolors="k", linewidths=0.3)
    axis.set_title("decision boundary")
    return _save(figure, path)


def plot_predictions(y_true: np.ndarray, y_pred: np.ndarray, path: str | Path) -> Path:
    """Predicted against true values for regression: a perfect model lies on the diagonal."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(4.5, 4.5))
    axis.scatter(y_true, y_pred, s=8, alpha=0.6)
    low, high = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    axis.plot([low, high], [low, high], color="k", lw=1)
    axis.set_xlabel("true")
    axis.set_ylabel("predicted")
    axis.set_title("predicted vs true")
    return _save(figure, path)


def plot_misclassified(
    images: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, path: str | Path, limit: int = 24
) -> Path:
    """A grid of square images the model got wrong, titled 'true → predicted'."""
    plt = _pyplot()
    wrong = np.flatnonzero(y_true != y_pred)[:limit]
    columns = 8
    rows = max(1, -(-len(wrong) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 1.2, rows * 1.4), squeeze=False)
    side = int(round(np.sqrt(images.shape[1])))
    for axis in axes.ravel():
        axis.axis("off")
    for axis, i in zip(axes.ravel(), wrong, strict=False):
        axis.imshow(images[i].reshape(side, side), cmap="gray_r")
        axis.set_title(f"{y_true[i]} → {y_pred[i]}", fontsize=9)
    figure.suptitle(f"misclassified: {int((y_true != y_pred).sum())} of {len(y_true)}", y=1.04)
    return _save(figure, path)


MAX_PLOTTED_CLASSES = 100  # more classes than this get no confusion-matrix plot


def draw_plots(
    out: Path, model: nn.Module, data: PreparedData, history: History, outputs: np.ndarray
) -> list[Path]:
    """The run's PNG plots, from the model's `outputs` on the test split and, for 2-D data,
    its predictions over the plane (matplotlib is optional: skipped with a note if missing)."""
    try:
        written = [plot_history(history.history, out / "history.png")]
    except ImportError as error:  # the first plot finds matplotlib missing
        print(f"note: no plots written ({error})", file=sys.stderr)
        return []
    X, y = data.test
    if len(X) == 0:
        return written
    if data.classification:
        labels = outputs.argmax(axis=1)
        k = int(data.info.num_classes or outputs.shape[1])
        if k <= MAX_PLOTTED_CLASSES:  # a k x k matrix: 10,000 classes would be 800 MB
            matrix = metrics.confusion_matrix(y, labels, k)
            written.append(plot_confusion_matrix(matrix, out / "confusion_matrix.png",
                                                       data.info.class_names))  # fmt: skip
        if data.info.n_features == 2:
            written.append(plot_decision_boundary(
                lambda grid: predict(model, grid, batch_size=1024).argmax(axis=1), X, y,
                out / "decision_boundary.png"))  # fmt: skip
        if data.info.image_shape is not None:
            written.append(plot_misclassified(data.raw_test_X, y, labels,
                                                    out / "misclassified.png"))  # fmt: skip
    else:
        written.append(plot_predictions(y.ravel(), outputs.ravel(), out / "predictions.png"))
    return written
