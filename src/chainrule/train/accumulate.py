"""What `fit` and `evaluate` sum over an epoch: the sample-weighted loss and the streamed
metrics (`chainrule.train.streaming`), made global over processes by a `Reducer`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.tensor import Tensor
from chainrule.train.metrics import CLASSIFICATION, Metric
from chainrule.train.streaming import Streams

if TYPE_CHECKING:
    from chainrule.train.fit import Reducer

__all__ = ["Accumulator", "array_of", "logits_hint"]


def array_of(values: Any) -> np.ndarray:
    return np.asarray(values._data if isinstance(values, Tensor) else values)


def logits_hint(loss_fn: Any) -> bool | None:
    """True when the loss takes logits (BCEWithLogits), False for probabilities (BCE)."""
    name = getattr(loss_fn, "__name__", type(loss_fn).__name__)
    if name in ("BCEWithLogitsLoss", "binary_cross_entropy_with_logits"):
        return True
    if name in ("BCELoss", "binary_cross_entropy"):
        return False
    return None


def _metric_value(fn: Metric, y_true: Any, y_pred: Any, from_logits: bool | None) -> float:
    if fn in CLASSIFICATION and from_logits is not None:
        return float(fn(y_true, y_pred, from_logits=from_logits))
    return float(fn(y_true, y_pred))


class Accumulator:
    """Sums a sample-weighted loss and streams the metrics (`chainrule.train.streaming`).

    The epoch's loss is Σ_b n_b·loss_b / Σ_b n_b (exact for mean-reduced losses). The
    built-in metrics come from running counts and sums, so memory does not grow with the
    epoch and precision, F1 or R² are those of all the epoch's predictions, not averages
    over batches (only a custom metric function keeps the epoch's outputs). The running
    values shown live are batch-weighted averages. With a `Reducer` (data-parallel), the
    processes exchange those counts and sums at the end, not their outputs.
    """

    def __init__(self, metrics: Sequence[tuple[str, Metric]], from_logits: bool | None) -> None:
        self.metrics, self.from_logits = metrics, from_logits
        self.samples, self.loss_sum = 0, 0.0
        self.streams = Streams(metrics, from_logits)
        self.live_sums = dict.fromkeys((name for name, _ in metrics), 0.0)
        self.shown_samples, self.shown_loss_sum = 0, 0.0  # the running loss (global if reduced)

    def add(
        self,
        loss: float | None,
        output: Any,
        target: Any,
        n: int,
        live: bool,
        shown: tuple[float, int] | None = None,
    ) -> None:
        """Count a batch of `n` samples; `shown` is the (loss, size) of the whole batch
        across processes when a `Reducer` made it global (the running display uses it)."""
        self.samples += n
        if loss is not None:
            self.loss_sum += loss * n
            step_loss, step_n = shown if shown is not None else (loss, n)
            self.shown_samples += step_n
            self.shown_loss_sum += step_loss * step_n
        if not self.metrics or output is None:
            return
        prediction, truth = array_of(output), array_of(target)
        self.streams.add(truth, prediction)
        if live:
            for name, fn in self.metrics:
                self.live_sums[name] += n * _metric_value(fn, truth, prediction, self.from_logits)

    def running(self, with_loss: bool = True) -> dict[str, float]:
        logs = {"loss": self.shown_loss_sum / max(self.shown_samples, 1)} if with_loss else {}
        logs.update({name: total / max(self.samples, 1) for name, total in self.live_sums.items()})
        return logs

    def result(self, with_loss: bool = True, reducer: Reducer | None = None) -> dict[str, float]:
        if reducer is not None:  # every rank's samples: the logs are global
            # the streamed counts and sums of every process, merged in rank order so that
            # every process computes the same values; outputs are sent only for custom
            # metric functions, which need them all
            packs = reducer.gather(self.streams.pack())
            truths, predictions = self.streams.kept
            self.samples, self.loss_sum, predictions, truths = reducer.reduce_totals(
                self.samples, self.loss_sum, predictions, truths
            )
            merged = Streams(self.metrics, self.from_logits)
            for packed in packs:
                merged.merge(packed)
            merged.kept = (truths, predictions)
            self.streams = merged
        if self.samples == 0:
            raise ValueError("no batches: the data is empty (or smaller than one batch)")
        logs = {"loss": self.loss_sum / self.samples} if with_loss else {}
        if self.metrics:
            logs.update(self.streams.values(
                lambda fn, truth, prediction: _metric_value(fn, truth, prediction,
                                                            self.from_logits)))  # fmt: skip
        return logs
