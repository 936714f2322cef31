"""Input handling shared by the classic models (perceptron, linear regression)."""

from __future__ import annotations

from typing import Any

import numpy as np


def as_matrix(X: Any) -> np.ndarray:
    """Rows of features as a float64 matrix (a Tensor's data, a list or an ndarray)."""
    array = np.asarray(X, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"expected X of shape (n_samples, n_features), got {array.shape}")
    return array
