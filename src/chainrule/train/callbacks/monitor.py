"""Watching one logged quantity for the best value (EarlyStopping, ModelCheckpoint)."""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    pass


_HIGHER_IS_BETTER = ("acc", "precision", "recall", "f1", "r2", "auc")


def resolve_mode(mode: str, monitor: str) -> str:
    """'min' or 'max'; 'auto' is 'max' for accuracy-like names (acc, f1, r2, ...), else 'min'."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    name = monitor.removeprefix("val_")
    return "max" if any(name.startswith(word) for word in _HIGHER_IS_BETTER) else "min"


class Monitor:
    """Tracks the best value of one logged quantity; better means beyond ``best ± min_delta``."""

    def __init__(self, monitor: str, mode: str, min_delta: float = 0.0) -> None:
        self.monitor = monitor
        self.mode = resolve_mode(mode, monitor)
        self.min_delta = abs(min_delta)
        self.best = math.inf if self.mode == "min" else -math.inf
        self._warned = False

    def reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf

    def value(self, logs: dict[str, float], owner: str) -> float | None:
        """The monitored value, or None (with one warning) when the logs lack it."""
        if self.monitor in logs:
            return float(logs[self.monitor])
        if not self._warned:
            self._warned = True
            warnings.warn(
                f"{owner}: the logs have no {self.monitor!r} (they have {sorted(logs)}); "
                "pass validation data to fit or monitor another key",
                RuntimeWarning,
                stacklevel=3,
            )
        return None

    def improved(self, current: float) -> bool:
        """current < best - min_delta ('min'), current > best + min_delta ('max'); NaN never."""
        if self.mode == "min":
            return current < self.best - self.min_delta
        return current > self.best + self.min_delta


def copy_weights(model: Any) -> dict[str, np.ndarray]:
    return {name: tensor._data.copy() for name, tensor in model.state_dict().items()}
