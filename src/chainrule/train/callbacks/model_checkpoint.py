"""ModelCheckpoint: save the model (and what a resume needs) during training."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chainrule.random import get_rng_state

if TYPE_CHECKING:
    pass

from chainrule.train.callbacks.base import Callback, TrainState
from chainrule.train.callbacks.monitor import Monitor


class ModelCheckpoint(Callback):
    """Save model, optimizer, epoch, RNG and history after an epoch (`chainrule.checkpoint`).

    The file holds ``{"model", "optimizer", "epoch", "history", "rng"}`` (and "generator",
    the state of fit's shuffling generator, when fit was given one). As in the PyTorch
    idiom, ``epoch`` is the index of the epoch just completed, so a run resumes with::

        ckpt = chainrule.load(path, model=model)
        optimizer.load_state_dict(ckpt.optimizer_state)
        chainrule.set_rng_state(ckpt.rng_state)
        fit(..., start_epoch=ckpt.epoch + 1, history=History.from_dict(ckpt["history"]))

    Each save is atomic (written aside, then renamed): a crash never leaves a half-written
    file.

    Args:
        path: the file; may contain fields filled from the epoch (counted from 1) and the
            logs, e.g. ``"runs/ckpt-{epoch:03d}-{val_loss:.3f}.safetensors"``.
        monitor: the logged quantity that decides what 'best' means.
        save_best_only: save only when ``monitor`` improves on the best so far.
        mode: 'auto', 'min' or 'max', as in `EarlyStopping`.

    Attributes: ``saved`` (the paths written, in order), ``best_path``, ``best``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        monitor: str = "val_loss",
        save_best_only: bool = False,
        mode: str = "auto",
    ) -> None:
        self.path = str(path)
        self.monitor = monitor
        self.save_best_only = save_best_only
        self._tracker = Monitor(monitor, mode)
        self.saved: list[str] = []
        self.best_path: str | None = None

    @property
    def best(self) -> float:
        return self._tracker.best

    def on_train_begin(self, state: TrainState) -> None:
        self._tracker.reset()

    def on_epoch_end(self, state: TrainState) -> None:
        current = self._tracker.value(state.logs, "ModelCheckpoint")
        improved = current is not None and self._tracker.improved(current)
        if self.save_best_only and not improved:
            return
        from chainrule import checkpoint  # optional: needs safetensors

        path = self.path.format(epoch=state.epoch + 1, **state.logs)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        contents: dict[str, Any] = {
            "model": state.model,
            "optimizer": state.optimizer,
            "epoch": state.epoch,
            "history": state.history.to_dict(),
            "rng": get_rng_state(),
        }
        if state.generator is not None:
            contents["generator"] = state.generator.get_state()
        checkpoint.save(contents, path)
        self.saved.append(path)
        if improved:
            assert current is not None
            self._tracker.best = current
            self.best_path = path
