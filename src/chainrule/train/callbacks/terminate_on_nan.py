"""TerminateOnNaN: stop at the first non-finite loss or weight, naming the cause."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    pass

from chainrule.train.callbacks.base import Callback, TrainState


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
