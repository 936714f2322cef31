"""The input features TensorFlow Playground offers, computed from the raw point (x1, x2)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

FeatureFn = Callable[[np.ndarray, np.ndarray], np.ndarray]

FEATURE_FUNCTIONS: dict[str, FeatureFn] = {
    "x1": lambda a, b: a,
    "x2": lambda a, b: b,
    "x1sq": lambda a, b: a * a,
    "x2sq": lambda a, b: b * b,
    "x1x2": lambda a, b: a * b,
    "sinx1": lambda a, b: np.sin(a),
    "sinx2": lambda a, b: np.sin(b),
}

FEATURE_LABELS = {
    "x1": "X₁",
    "x2": "X₂",
    "x1sq": "X₁²",
    "x2sq": "X₂²",
    "x1x2": "X₁X₂",
    "sinx1": "sin(X₁)",
    "sinx2": "sin(X₂)",
}

# the same functions as Python source, for the exported script
FEATURE_SOURCE = {
    "x1": "x1",
    "x2": "x2",
    "x1sq": "x1 * x1",
    "x2sq": "x2 * x2",
    "x1x2": "x1 * x2",
    "sinx1": "np.sin(x1)",
    "sinx2": "np.sin(x2)",
}


def make_features(points: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """(n, 2) points -> (n, len(names)) float32 features, in the order of `names`."""
    a, b = points[:, 0].astype(np.float64), points[:, 1].astype(np.float64)
    columns = [FEATURE_FUNCTIONS[name](a, b) for name in names]
    return np.stack(columns, axis=1).astype(np.float32)


def grid_points(size: int, domain: float) -> np.ndarray:
    """Cell centres of a size x size grid over [-domain, domain]², row 0 at the top (x2 max),
    as an (size * size, 2) array in row-major order (the order of an image's pixels)."""
    step = 2 * domain / size
    centres = -domain + step * (np.arange(size) + 0.5)
    x1, x2 = np.meshgrid(centres, centres[::-1])
    return np.stack([x1.ravel(), x2.ravel()], axis=1)
