"""EarlyStopping: stop when a monitored quantity stops improving."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    pass

from chainrule.train.callbacks.base import Callback, TrainState
from chainrule.train.callbacks.monitor import Monitor, copy_weights


class EarlyStopping(Callback):
    """Stop when a monitored quantity has not improved for ``patience`` epochs.

    An epoch improves when ``current < best - min_delta`` (mode 'min') or
    ``current > best + min_delta`` (mode 'max'); ``mode='auto'`` picks 'max' for accuracy-like
    names and 'min' otherwise. After ``patience`` epochs in a row without improvement,
    training stops.

    Args:
        monitor: the key of the epoch logs to watch ('val_loss', 'val_accuracy', 'loss', ...).
        patience: epochs without improvement tolerated before stopping.
        min_delta: the smallest change that counts as an improvement.
        mode: 'auto', 'min' or 'max'.
        restore_best_weights: when training ends, load the weights (all of ``state_dict``,
            buffers included) of the best epoch back into the model.

    Attributes: ``best``, ``best_epoch``, ``stopped_epoch`` (0-based as in `History`; None
    unless it stopped). Messages count epochs from 1, as the progress line does.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = False,
    ) -> None:
        if patience < 0:
            raise ValueError(f"patience must be >= 0, got {patience}")
        self._tracker = Monitor(monitor, mode, min_delta)
        self.monitor, self.mode = monitor, self._tracker.mode
        self.patience = patience
        self.restore_best_weights = restore_best_weights
        self.wait = 0
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self.best_weights: dict[str, np.ndarray] | None = None

    @property
    def best(self) -> float:
        return self._tracker.best

    def on_train_begin(self, state: TrainState) -> None:
        self._tracker.reset()
        self.wait = 0
        self.best_epoch = self.stopped_epoch = None
        self.best_weights = None

    def on_epoch_end(self, state: TrainState) -> None:
        current = self._tracker.value(state.logs, "EarlyStopping")
        if current is None:
            return
        if self._tracker.improved(current):
            self._tracker.best = current
            self.best_epoch = state.epoch
            self.wait = 0
            if self.restore_best_weights:
                self.best_weights = copy_weights(state.model)
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = state.epoch
            best = (
                "none"
                if self.best_epoch is None
                else f"{self.best:.4g} at epoch {self.best_epoch + 1}"
            )
            state.stop(
                f"early stopping at epoch {state.epoch + 1}: {self.monitor} did not improve "
                f"for {self.wait} epochs (best {best})"
            )

    def on_train_end(self, state: TrainState) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            state.model.load_state_dict(self.best_weights)
