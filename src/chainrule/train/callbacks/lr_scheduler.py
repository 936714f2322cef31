"""LRSchedulerCallback: step a learning-rate scheduler from the training loop."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chainrule.train.callbacks.base import Callback, TrainState

if TYPE_CHECKING:
    from chainrule.optim.lr_scheduler import LRScheduler


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

    def __init__(self, scheduler: LRScheduler, monitor: str = "val_loss") -> None:
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
