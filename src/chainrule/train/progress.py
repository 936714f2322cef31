"""Progress output for `fit`: a live tqdm bar on a terminal, one line per epoch otherwise.

* stdout is a terminal and tqdm is installed: a bar per epoch, with the running loss and
  metrics as its postfix, left on screen with the epoch's final logs;
* stdout is a file or a pipe (CI logs, notebooks' captured output), or tqdm is missing
  (it is the optional extra ``chainrule[progress]``): exactly one line per epoch::

      epoch 3/10 - loss 0.4213 - accuracy 0.8750 - val_loss 0.5012 - val_accuracy 0.8125 - 1.2s

* ``progress=False``: nothing.

A message about why training stopped (early stopping, a NaN) is printed at the end.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any, TextIO, TypeAlias

from chainrule.train.callbacks import Callback, TrainState

TqdmClass: TypeAlias = Any
"""``tqdm.tqdm``: an optional extra, imported lazily, so its type is not named here."""

__all__ = ["LineProgress", "TqdmProgress", "format_logs", "format_value", "make_progress"]


def format_value(value: float) -> str:
    """4 decimals for ordinary magnitudes, scientific notation for tiny or huge ones."""
    if not math.isfinite(value):
        return str(value)
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:.4f}"
    return f"{value:.3e}"


def format_logs(logs: dict[str, float], skip: tuple[str, ...] = ("lr",)) -> str:
    """'loss 0.4213 - accuracy 0.8750 - ...' (the learning rate is left out)."""
    return " - ".join(f"{key} {format_value(v)}" for key, v in logs.items() if key not in skip)


class LineProgress(Callback):
    """One line per epoch: ``epoch 3/10 - loss 0.4213 - ... - 1.2s``."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self._start = 0.0

    def _print(self, text: str) -> None:
        stream = self.stream or sys.stdout
        print(text, file=stream, flush=True)

    def on_epoch_begin(self, state: TrainState) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, state: TrainState) -> None:
        elapsed = time.perf_counter() - self._start
        logs = format_logs(state.logs)
        self._print(f"epoch {state.epoch + 1}/{state.epochs} - {logs} - {elapsed:.1f}s")

    def on_train_end(self, state: TrainState) -> None:
        if state.stopped_reason:
            self._print(state.stopped_reason)


class TqdmProgress(Callback):
    """A tqdm bar per epoch; the postfix shows the running loss and metrics."""

    live_metrics = True

    def __init__(self, tqdm: TqdmClass, stream: TextIO | None = None) -> None:
        self._tqdm = tqdm
        self.stream = stream
        self._bar: Any = None

    def on_epoch_begin(self, state: TrainState) -> None:
        self._bar = self._tqdm(
            total=state.num_batches,
            desc=f"epoch {state.epoch + 1}/{state.epochs}",
            unit="batch",
            file=self.stream or sys.stdout,
            dynamic_ncols=True,
            leave=True,
        )

    def on_batch_end(self, state: TrainState) -> None:
        if self._bar is None:
            return
        self._bar.set_postfix_str(format_logs(state.logs), refresh=False)
        self._bar.update(1)

    def on_epoch_end(self, state: TrainState) -> None:
        if self._bar is None:
            return
        self._bar.set_postfix_str(format_logs(state.logs), refresh=False)
        self._bar.close()
        self._bar = None

    def close(self) -> None:
        """Close a bar left open by an epoch cut short (or an exception)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def on_train_end(self, state: TrainState) -> None:
        self.close()
        if state.stopped_reason:
            self._tqdm.write(state.stopped_reason, file=self.stream or sys.stdout)


def make_progress(progress: bool, stream: TextIO | None = None) -> Callback | None:
    """The progress callback for ``fit(progress=...)``: tqdm on a terminal, else lines."""
    if not progress:
        return None
    out = stream or sys.stdout
    isatty = getattr(out, "isatty", None)
    if isatty is not None and isatty():
        try:
            from tqdm import tqdm  # optional extra, imported lazily
        except ImportError:
            return LineProgress(stream)
        return TqdmProgress(tqdm, stream)
    return LineProgress(stream)
