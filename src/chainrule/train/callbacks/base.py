"""`TrainState` (what every hook sees and may change) and `Callback` (the hooks)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chainrule.train.history import History

if TYPE_CHECKING:
    from chainrule.nn.modules.module import Module
    from chainrule.optim.optimizer import Optimizer
    from chainrule.random import Generator
    from chainrule.tensor import Tensor


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
