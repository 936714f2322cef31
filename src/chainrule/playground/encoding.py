"""Compact encodings for frames: heatmaps as base64 bytes, numbers rounded for JSON."""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np


def _quantised(values: np.ndarray) -> np.ndarray:
    """Values in [-1, 1] (clipped: ±inf -> ±1; NaN -> 0) as uint8 (0 = -1, 255 = +1)."""
    v = np.clip(np.asarray(values, dtype=np.float64), -1.0, 1.0)  # a new array: ours to edit
    nan = np.isnan(v)
    if nan.any():  # rare (a diverging step): cheaper than nan_to_num on every frame
        v[nan] = 0.0
    v += 1.0
    v *= 127.5
    return np.rint(v, out=v).astype(np.uint8)


def unit_bytes(values: np.ndarray) -> str:
    """Values in [-1, 1] (clipped; NaN -> 0) -> base64 of uint8 (0 = -1, 255 = +1)."""
    return base64.b64encode(_quantised(values).tobytes()).decode("ascii")


def column_bytes(values: np.ndarray) -> list[str]:
    """Each column of an (n, k) array as `unit_bytes`, quantised in one pass (a frame
    encodes every neuron of a layer: one call per layer rather than per neuron)."""
    q = np.ascontiguousarray(_quantised(values).T)
    return [base64.b64encode(row.tobytes()).decode("ascii") for row in q]


def class_bytes(probabilities: np.ndarray) -> tuple[str, str]:
    """(n, C) class probabilities -> base64 of the argmax class and of its confidence (0..255)."""
    winner = probabilities.argmax(axis=1).astype(np.uint8)
    confidence = np.rint(probabilities.max(axis=1) * 255).astype(np.uint8)
    return (
        base64.b64encode(winner.tobytes()).decode("ascii"),
        base64.b64encode(confidence.tobytes()).decode("ascii"),
    )


def number(value: float, digits: int = 6) -> float | None:
    """A float for JSON: rounded to `digits` significant digits; None for NaN / inf."""
    value = float(value)
    if not math.isfinite(value):
        return None
    return float(f"{value:.{digits}g}")


def numbers(array: Any, digits: int = 6) -> Any:
    """An array as nested lists of `number`s (None where not finite)."""
    a = np.asarray(array, dtype=np.float64)
    if a.ndim == 0:
        return number(float(a), digits)
    if a.ndim == 1:
        return [number(v, digits) for v in a]
    return [numbers(row, digits) for row in a]


def rounded(array: Any, decimals: int = 5) -> Any:
    """A finite array as nested lists rounded to `decimals` places (fast, for weights)."""
    a = np.nan_to_num(np.asarray(array, dtype=np.float64), nan=0.0, posinf=1e30, neginf=-1e30)
    return np.round(a, decimals).tolist()
