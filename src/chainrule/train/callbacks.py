"""Callbacks: code that `fit` calls at fixed points of the training loop, as in Keras.

The loop and its hooks, for each epoch and batch::

    on_train_begin
    for epoch:
        on_epoch_begin
        for batch:
            on_batch_begin
            zero_grad, forward, loss, backward
            on_after_backward      # gradients are there, the step is not taken yet
            optimizer.step()       # skipped when a callback set state.stop_training above
            on_batch_end
        validation
        on_epoch_end           # state.logs holds the epoch's loss, metrics, val_*, lr
    on_train_end

Every hook receives the `TrainState`: the model, optimizer, epoch, batch, logs and the
``stop_training`` flag. A callback stops training with ``state.stop(reason)``.
"""

from __future__ import annotations

import csv
import io
import math
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.files import atomic_write_text
from chainrule.random import get_rng_state
from chainrule.train.history import History

if TYPE_CHECKING:
    from chainrule.nn.modules.module import Module
    from chainrule.optim.optimizer import Optimizer
    from chainrule.random import Generator
    from chainrule.tensor import Tensor

__all__ = [
    "CSVLogger",
    "Callback",
    "EarlyStopping",
    "LRSchedulerCallback",
    "ModelCheckpoint",
    "TerminateOnNaN",
    "TrainState",
]


@dataclass
class TrainState:
    """What the callbacks see and may change.

    Attributes:
        model, optimizer, loss_fn: the objects being trained.
        epochs: the index at which training ends (``range(start_epoch, epochs)``).
        epoch: the current epoch (0-based).
        batch: the current batch within the epoch (0-based).
        num_batches: batches per epoch, or None when the loader has no length.
        loss: the current batch's loss (a float).
        batch_size: the current batch's number of samples.
        logs: during an epoch, the running 'loss' (and running metrics if any callback sets
            ``live_metrics``); at ``on_epoch_end``, the epoch's final logs.
        history: the `History` being filled.
        generator: the `chainrule.Generator` fit shuffles with, or None.
        inputs, targets: the current batch's input and target (as the loader gave them).
        steps: optimizer steps applied so far in this call of `fit`.
        stop_training: set it (or call `stop`) to end training after the current hook.
        stopped_reason: why training stopped, also stored in ``history.stopped_reason``.
    """

    model: Module
    optimizer: Optimizer
    loss_fn: Callable[[Tensor, Any], Tensor]
    epochs: int
    history: History
    epoch: int = 0
    batch: int = 0
    num_batches: int | None = None
    loss: float = math.nan
    batch_size: int = 0
    logs: dict[str, float] = field(default_factory=dict)
    generator: Generator | None = None
    inputs: Any = None
    targets: Any = None
    steps: int = 0
    stop_training: bool = False
    stopped_reason: str | None = None

    def stop(self, reason: str) -> None:
        """End training after the current hook; the first reason given is kept."""
        self.stop_training = True
        if self.stopped_reason is None:
            self.stopped_reason = reason

    def current_lr(self) -> float:
        """The learning rate of the optimizer's first parameter group."""
        return float(self.optimizer.param_groups[0]["lr"])


class Callback:
    """Base class: override the hooks you need; each gets the `TrainState`.

    Set the class attribute ``live_metrics = True`` to have `fit` keep running metric
    values in ``state.logs`` during the epoch (the progress bar does).
    """

    live_metrics = False

    def on_train_begin(self, state: TrainState) -> None:
        """Before the first epoch."""

    def on_epoch_begin(self, state: TrainState) -> None:
        """Before the first batch of an epoch."""

    def on_batch_begin(self, state: TrainState) -> None:
        """Before a batch's forward pass."""

    def on_after_backward(self, state: TrainState) -> None:
        """After backward, before ``optimizer.step()``; stopping here skips the step."""

    def on_batch_end(self, state: TrainState) -> None:
        """After ``optimizer.step()``."""

    def on_epoch_end(self, state: TrainState) -> None:
        """After validation; ``state.logs`` holds the epoch's logs."""

    def on_train_end(self, state: TrainState) -> None:
        """After the last epoch, or after training stopped."""


# ---------------------------------------------------------------------- monitoring helpers
_HIGHER_IS_BETTER = ("acc", "precision", "recall", "f1", "r2", "auc")


def resolve_mode(mode: str, monitor: str) -> str:
    """'min' or 'max'; 'auto' is 'max' for accuracy-like names (acc, f1, r2, ...), else 'min'."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    name = monitor.removeprefix("val_")
    return "max" if any(name.startswith(word) for word in _HIGHER_IS_BETTER) else "min"


class _Monitor:
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


def _copy_weights(model: Any) -> dict[str, np.ndarray]:
    return {name: tensor._data.copy() for name, tensor in model.state_dict().items()}


# ---------------------------------------------------------------------- callbacks
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
        self._tracker = _Monitor(monitor, mode, min_delta)
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
                self.best_weights = _copy_weights(state.model)
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
        self._tracker = _Monitor(monitor, mode)
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


class LRSchedulerCallback(Callback):
    """Step a learning-rate scheduler once per epoch, after validation.

    ``ReduceLROnPlateau`` is stepped with the monitored metric (``scheduler.step(metric)``),
    every other scheduler with ``scheduler.step()``. The epoch's logged 'lr' is the rate used
    during that epoch, before this step.

    Args:
        scheduler: a `chainrule.optim.lr_scheduler` scheduler.
        monitor: the logged quantity passed to ``ReduceLROnPlateau`` ('val_loss' by default,
            'loss' when there is no validation data).
    """

    def __init__(self, scheduler: Any, monitor: str = "val_loss") -> None:
        self.scheduler = scheduler
        self.monitor = monitor

    def on_epoch_end(self, state: TrainState) -> None:
        from chainrule.optim.lr_scheduler import ReduceLROnPlateau

        if not isinstance(self.scheduler, ReduceLROnPlateau):
            self.scheduler.step()
            return
        if self.monitor in state.logs:
            value = state.logs[self.monitor]
        elif self.monitor == "val_loss" and "loss" in state.logs:
            value = state.logs["loss"]  # no validation data: plateau on the training loss
        else:
            raise KeyError(
                f"LRSchedulerCallback: the logs have no {self.monitor!r} (they have "
                f"{sorted(state.logs)})"
            )
        self.scheduler.step(value)


class CSVLogger(Callback):
    """Write the epoch logs to a CSV file, one row per epoch: ``epoch,loss,...,lr``.

    The whole file is rewritten atomically after each epoch (written aside, then renamed),
    so it is always complete and readable, and a column that appears late (e.g. from a
    callback) gets its header. Epochs are counted from 0, as in `History`.

    Args:
        path: the CSV file.
        separator: the field delimiter.
        append: keep the rows already in the file (to continue a resumed run).
    """

    def __init__(self, path: str | os.PathLike[str], separator: str = ",", append: bool = False):
        self.path = Path(path)
        self.separator = separator
        self.append = append
        self._fields: list[str] = []
        self._rows: list[dict[str, Any]] = []

    def on_train_begin(self, state: TrainState) -> None:
        self._fields, self._rows = ["epoch"], []
        if self.append and self.path.exists():
            with self.path.open(newline="") as file:
                reader = csv.DictReader(file, delimiter=self.separator)
                self._fields = list(reader.fieldnames or ["epoch"])
                self._rows = list(reader)

    def on_epoch_end(self, state: TrainState) -> None:
        row: dict[str, Any] = {"epoch": state.epoch, **state.logs}
        self._fields += [key for key in row if key not in self._fields]
        self._rows.append(row)
        _atomic_write_csv(self.path, self._fields, self._rows, self.separator)


def _atomic_write_csv(
    path: Path, fields: list[str], rows: list[dict[str, Any]], separator: str
) -> None:
    """The CSV through files.atomic_write_text (written aside, fsynced, given the replaced
    file's permissions, renamed, the folder fsynced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fields, delimiter=separator, restval="")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, text.getvalue())


class TerminateOnNaN(Callback):
    """Stop at the first NaN or infinite loss or gradient, before it corrupts the weights.

    `fit` adds one by default (``terminate_on_nan=False`` turns it off). After backward and
    before ``optimizer.step()`` it checks the loss and every gradient with ``np.isfinite``;
    a bad step is never applied, so the weights and the optimizer state stay those of the
    last good step. It then names the epoch, the batch (both counted from 1) and the
    parameters whose gradients went bad (``model.named_parameters()`` names, listed from the
    output back, the first being where it started), and suggests a learning rate 10x lower.

    A step with finite gradients can still overflow (``w - lr·g`` or Adam's g² beyond the
    float range), so after each step the weights and the optimizer's state arrays are
    checked too; if one went bad, the snapshot is restored: by default the one taken at the
    start of the epoch (a copy of every array once per epoch), with ``snapshot='step'`` the
    one taken right before the step (exact, at the cost of a copy per step).

    Before blaming the learning rate it looks at the other causes, and names the one it
    finds: a weight that is already NaN or infinite when training begins (checked in
    ``on_train_begin``: training then does not start), inputs or targets of the batch that
    are huge (beyond ``HUGE`` = 1e6 in absolute value: standardise them) or not finite, or
    a loss that is not finite at the very first step, before any update (the learning rate
    played no part). Only when none of these holds does it suggest a 10x lower rate.

    The message goes to ``state.stopped_reason``, ``history.stopped_reason`` and the
    progress output; ``message`` keeps it too.
    """

    HUGE = 1e6

    def __init__(self, snapshot: str = "epoch") -> None:
        if snapshot not in ("epoch", "step"):
            raise ValueError(f"snapshot must be 'epoch' or 'step', got {snapshot!r}")
        self.snapshot = snapshot
        self.message: str | None = None
        self._saved: tuple[list[np.ndarray], dict[str, Any]] | None = None
        self._saved_at = ""

    def _take_snapshot(self, state: TrainState, where: str) -> None:
        params = [p._data.copy() for p in state.model.parameters()]
        self._saved = (params, state.optimizer.state_dict())  # state_dict copies its arrays
        self._saved_at = where

    def on_train_begin(self, state: TrainState) -> None:
        for name, param in state.model.named_parameters():
            if not np.isfinite(param._data).all():
                self.message = (
                    f"TerminateOnNaN: before training, the weight '{name}' "
                    f"({_layer(state.model, name)}) already holds {_describe(param._data)}: "
                    "the model was broken before the first step (a damaged checkpoint or "
                    "initialisation), not by the learning rate. Nothing was trained."
                )
                state.stop(self.message)
                return

    def on_epoch_begin(self, state: TrainState) -> None:
        if self.snapshot == "epoch":
            self._take_snapshot(state, f"the start of epoch {state.epoch + 1}")

    def on_after_backward(self, state: TrainState) -> None:
        bad = [
            (name, _describe(param.grad._data))
            for name, param in state.model.named_parameters()
            if param.grad is not None and not np.isfinite(param.grad._data).all()
        ]
        if math.isfinite(state.loss) and not bad:
            if self.snapshot == "step":
                self._take_snapshot(state, "the last good step")
            return
        problems = []
        if not math.isfinite(state.loss):
            problems.append(f"the loss is {state.loss}")
        if bad:
            bad.reverse()  # from the output back: the first went bad first
            first = bad[0][0]
            others = ", ".join(f"'{name}'" for name, _ in bad[1:])
            problems.append(
                f"the gradient of '{first}' ({_layer(state.model, first)}) is {bad[0][1]}"
                + (f", and so are those of {others}" if others else "")
            )
        outcome = (
            "the step was not applied: the weights and optimizer state are those of the "
            "last good step"
        )
        self._stop(state, "; ".join(problems), outcome)

    def on_batch_end(self, state: TrainState) -> None:
        bad = _non_finite_after_step(state.model, state.optimizer)
        if bad is None:
            return
        if self._saved is not None:
            params, optimizer_state = self._saved
            for param, saved in zip(state.model.parameters(), params, strict=True):
                param._data[...] = saved
            state.optimizer.load_state_dict(optimizer_state)
            outcome = f"the weights and optimizer state were restored from {self._saved_at}"
        else:
            outcome = "there was no snapshot to restore"
        self._stop(state, f"the step made {bad} non-finite", outcome)

    def _cause(self, state: TrainState) -> str | None:
        """A cause other than the learning rate, checked first: the batch's data."""
        for what, values in (("inputs", state.inputs), ("targets", state.targets)):
            array = _as_array(values)
            if array is None or array.dtype.kind not in "fc" or not array.size:
                continue
            if not np.isfinite(array).all():
                return f"The batch's {what} hold NaN or inf: clean the data"
            largest = float(np.abs(array).max())
            if largest > self.HUGE:
                return (
                    f"The batch's {what} reach {largest:.3g} in absolute value: scale or "
                    f"standardise them (values that large overflow whatever the learning rate)"
                )
        if state.steps == 0:
            return (
                "This was the first step, before any update, so the learning rate played no "
                "part: check the data, the loss and the starting weights"
            )
        return None

    def _stop(self, state: TrainState, problem: str, outcome: str) -> None:
        lr = state.current_lr()
        cause = self._cause(state)
        if cause is not None:
            advice = cause
        elif lr > 0:
            advice = f"The learning rate {lr:g} may be too high: try --lr {lr / 10:g} (10x lower)"
        else:
            advice = "Check the data and the model for values that overflow"
        self.message = (
            f"TerminateOnNaN: at epoch {state.epoch + 1}, batch {state.batch + 1}, {problem}; "
            f"{outcome}. {advice}."
        )
        state.stop(self.message)


def _non_finite_after_step(model: Any, optimizer: Any) -> str | None:
    """What a step left non-finite ("'0.weight' (Linear layer '0')", ...), or None."""
    names = {}
    for name, param in model.named_parameters():
        names[id(param)] = name
        if not np.isfinite(param._data).all():
            return f"'{name}' ({_layer(model, name)})"
    for param, values in optimizer.state.items():
        for key, value in values.items():
            floating = isinstance(value, np.ndarray) and value.dtype.kind == "f"
            if floating and not np.isfinite(value).all():
                name = names.get(id(param), "a parameter")
                return f"the optimizer's {key} of '{name}'"
    return None


def _as_array(values: Any) -> np.ndarray | None:
    """The ndarray of a batch's inputs or targets (a Tensor, an array), or None."""
    if values is None:
        return None
    if hasattr(values, "detach") and hasattr(values, "numpy"):
        return np.asarray(values.detach().numpy())
    if isinstance(values, np.ndarray):
        return values
    return None


def _describe(values: np.ndarray) -> str:
    if np.isnan(values).any():
        return "nan"
    return "inf"


def _layer(model: Any, parameter_name: str) -> str:
    """'Linear layer 0' for parameter '0.weight'."""
    owner = parameter_name.rpartition(".")[0]
    module = dict(model.named_modules()).get(owner, model)
    return f"{type(module).__name__} layer '{owner}'" if owner else f"{type(module).__name__}"
