"""The playground's data: chainrule's toy problems, multi-class blobs, and your own points.

`make_dataset(config, custom)` returns a `Dataset` of raw points in [-6, 6]² with labels
(class indices for classification, real targets for regression), already split into train
and test by the config's ratio. The same config (seed included) always gives the same data.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

from chainrule.data import toy
from chainrule.playground.messages import DOMAIN, MAX_POINTS, PlaygroundConfig, ProtocolError

N_CLASSIFY = 500  # TensorFlow Playground's sample counts
N_REGRESS = 1200


@dataclass(frozen=True)
class Dataset:
    points: np.ndarray  # (n, 2) float32
    labels: np.ndarray  # (n,) int64 classes or float32 targets
    n_train: int
    num_classes: int  # 0 for regression

    @property
    def train(self) -> tuple[np.ndarray, np.ndarray]:
        return self.points[: self.n_train], self.labels[: self.n_train]

    @property
    def test(self) -> tuple[np.ndarray, np.ndarray]:
        return self.points[self.n_train :], self.labels[self.n_train :]


def blobs(n: int, classes: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`classes` Gaussian blobs on a circle of radius 3.5; std grows with noise (0..0.5)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    angle = 2 * np.pi * labels / classes + np.pi / 2
    centres = 3.5 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    points = centres + (0.6 + 3.0 * noise) * rng.standard_normal((n, 2))
    order = rng.permutation(n)
    return points[order].astype(np.float32), labels[order].astype(np.int64)


def _generate(config: PlaygroundConfig) -> tuple[np.ndarray, np.ndarray, int]:
    noise, seed = config.noise / 100.0, config.seed
    name = config.dataset
    if name == "spiral_multi":
        X, y = toy.spiral_multiclass(N_CLASSIFY, config.classes, noise, seed)
        return X, y, config.classes
    if name == "blobs":
        X, y = blobs(N_CLASSIFY, config.classes, noise, seed)
        return X, y, config.classes
    if name == "moons":
        X, y = toy.moons(N_CLASSIFY, noise / 2.5, seed)  # its noise is a std in its own units
        return ((X - np.array([0.5, 0.25])) * 3.0).astype(np.float32), y, 2
    if name in ("reg_plane", "reg_gauss"):
        X, y = getattr(toy, name)(N_REGRESS, noise, seed)
        return X, y, 0
    X, y = getattr(toy, name)(N_CLASSIFY, noise, seed)
    return X, y, 2


def make_dataset(config: PlaygroundConfig, custom: np.ndarray | None = None) -> Dataset:
    """The config's data (`custom`: an (n, 3) array of x1, x2, label for dataset 'custom')."""
    if config.dataset == "custom":
        rows = custom if custom is not None else np.zeros((0, 3), np.float32)
        test = stable_test_mask(len(rows), config.train_ratio)
        rows = np.concatenate([rows[~test], rows[test]])  # training points first
        points = rows[:, :2].astype(np.float32)
        if config.problem == "regression":
            labels = rows[:, 2].astype(np.float32)
            classes = 0
        else:
            labels = rows[:, 2].astype(np.int64)
            classes = max(2, int(labels.max()) + 1) if len(labels) else 2
        return Dataset(points, labels, int(np.count_nonzero(~test)), classes)
    points, labels, classes = _generate(config)
    n = len(points)
    n_train = min(n, max(1, round(n * config.train_ratio / 100))) if n else 0
    return Dataset(points, labels, n_train, classes)


def stable_test_mask(n: int, train_ratio: int) -> np.ndarray:
    """Which of n points in the order added are test points: point i is one exactly when
    ⌊(i+1)·t⌋ > ⌊i·t⌋ for the test fraction t = 1 - ratio/100 (integer arithmetic). A
    point's split depends on its own place only, so adding a point never moves the others
    between training and test (the first point is always a training point)."""
    i = np.arange(n, dtype=np.int64)
    t = 100 - train_ratio
    return (i + 1) * t // 100 > i * t // 100


def parse_csv(text: str, problem: str) -> np.ndarray:
    """CSV text of x1, x2, label rows (a header line is allowed) -> an (n, 3) float32 array.

    Classification labels must be class indices 0..4 (-1 is read as 0, as in the
    Playground's ±1); points outside [-6, 6]² are scaled down uniformly to fit.
    """
    rows: list[tuple[float, float, float]] = []
    reader = csv.reader(io.StringIO(text))
    for number, row in enumerate(reader, start=1):
        cells = [c.strip() for c in row if c.strip() != ""]
        if not cells or cells[0].startswith("#"):
            continue
        if len(cells) != 3:
            raise ProtocolError(f"CSV line {number}: expected 3 values (x1, x2, label)")
        try:
            values = tuple(float(c) for c in cells)
        except ValueError:
            if number == 1 and not rows:
                continue  # a header
            raise ProtocolError(f"CSV line {number}: not a number") from None
        if not all(np.isfinite(values)):
            raise ProtocolError(f"CSV line {number}: values must be finite")
        rows.append((values[0], values[1], values[2]))
        if len(rows) > MAX_POINTS:
            raise ProtocolError(f"CSV has more than {MAX_POINTS:,} rows")
    if not rows:
        raise ProtocolError("CSV has no data rows")
    data = np.asarray(rows, dtype=np.float64)
    if problem == "classification":
        labels = np.where(data[:, 2] == -1, 0, data[:, 2])
        if np.any(labels != np.round(labels)) or labels.min() < 0 or labels.max() > 4:
            raise ProtocolError("CSV labels must be class indices 0..4 for classification")
        data[:, 2] = labels
    extent = np.abs(data[:, :2]).max()
    if extent > DOMAIN:
        data[:, :2] *= (DOMAIN - 0.5) / extent
    return data.astype(np.float32)


def thumbnails(n: int = 120) -> dict[str, list[list[float]]]:
    """A few points of every built-in dataset ([x1, x2, label] rows) for the dataset picker."""
    result = {}
    for name in ("circle", "xor", "gauss", "spiral", "moons", "spiral_multi", "blobs"):
        config = PlaygroundConfig.model_validate({"dataset": name, "seed": 3})
        data = make_dataset(config)
        rows = np.column_stack([data.points[:n], data.labels[:n]])
        result[name] = np.round(rows, 2).tolist()
    for name in ("reg_plane", "reg_gauss"):
        config = PlaygroundConfig.model_validate(
            {"dataset": name, "problem": "regression", "loss": "mse", "seed": 3}
        )
        data = make_dataset(config)
        rows = np.column_stack([data.points[: 2 * n], data.labels[: 2 * n]])
        result[name] = np.round(rows, 2).tolist()
    return result
