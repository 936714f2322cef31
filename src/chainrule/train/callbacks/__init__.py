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

from chainrule.train.callbacks.base import Callback, TrainState
from chainrule.train.callbacks.csv_logger import CSVLogger
from chainrule.train.callbacks.early_stopping import EarlyStopping
from chainrule.train.callbacks.lr_scheduler import LRSchedulerCallback
from chainrule.train.callbacks.model_checkpoint import ModelCheckpoint
from chainrule.train.callbacks.monitor import resolve_mode
from chainrule.train.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = [
    "CSVLogger",
    "Callback",
    "EarlyStopping",
    "LRSchedulerCallback",
    "ModelCheckpoint",
    "TerminateOnNaN",
    "TrainState",
]
