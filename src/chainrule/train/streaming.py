"""Epoch metrics from running counts and sums, so `fit` keeps nothing per batch.

`fit` and `evaluate` used to keep every batch's outputs and targets and compute the metrics
once on their concatenation: memory grew with the epoch (a CSV of 100,000 classes reached
13.9 GB). `Streams` keeps instead, for the built-in metrics,

* classification (accuracy, precision, recall, F1): per class c the counts TP_c,
  predicted_c and actual_c (three vectors of length C, not a C x C matrix), and the number
  of correct labels; the formulas of `chainrule.train.metrics` are then applied to these
  counts, so the values are *exactly* those of the full-epoch computation (integer counts
  are order-independent);
* regression: Σ (ŷ - y)², Σ |ŷ - y| (MSE, MAE) and, per output k, Σ (y - c_k),
  Σ (y - c_k)² and Σ (y - ŷ)² for R² (c_k: the first batch's mean, a shift that keeps
  Σ (y - ȳ)² = Σ (y - c)² - (Σ (y - c))² / N accurate), each summed with Neumaier's
  compensation. These equal the full-epoch NumPy values to rounding (about 1e-15
  relative): np.mean's pairwise summation tree depends on N, so no streaming sum can
  reproduce its last bit.

A metric function that is not built in (``fit(metrics=[my_fn])``) cannot be streamed: for
those only, the epoch's outputs and targets are still kept and concatenated.

Data-parallel training (`chainrule train --nproc`) exchanges these counts and sums, not the
outputs: each process packs its own (`Streams.pack`, one float64 vector of O(C) or O(K)
values), every process receives all of them and merges the others' (`Streams.merge`); the
counts are exact, the sums equal the one-process values to rounding.

Memory: O(C) for classification, O(K) outputs for regression, whatever the epoch size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule.train import metrics as M

__all__ = ["Streams"]

_CLASSIFICATION = (M.accuracy, M.precision, M.recall, M.f1)
_REGRESSION = (M.mse, M.mae, M.r2)


class _Sum:
    """A float64 running sum (per element of a vector) with Neumaier's compensation."""

    def __init__(self) -> None:
        self.total: Any = 0.0
        self.error: Any = 0.0

    def add(self, value: Any) -> None:
        total = self.total + value
        big = np.abs(self.total) >= np.abs(value)
        self.error = self.error + np.where(big, (self.total - total) + value,
                                           (value - total) + self.total)  # fmt: skip
        self.total = total

    @property
    def value(self) -> Any:
        return self.total + self.error


def _grow(counts: np.ndarray, size: int) -> np.ndarray:
    if len(counts) >= size:
        return counts
    return np.concatenate([counts, np.zeros(size - len(counts), dtype=np.int64)])


class _Counts:
    """TP, predicted and actual counts per class, and the number of labels."""

    def __init__(self) -> None:
        self.tp = np.zeros(0, dtype=np.int64)
        self.predicted = np.zeros(0, dtype=np.int64)
        self.actual = np.zeros(0, dtype=np.int64)
        self.correct = 0
        self.n = 0

    def add(self, true: np.ndarray, pred: np.ndarray) -> None:
        if not len(true):
            return
        low = min(int(true.min()), int(pred.min()))
        size = max(int(true.max()), int(pred.max())) + 1
        if low < 0:  # as confusion_matrix does for the whole epoch
            raise ValueError(f"labels must lie in [0, {size}) for num_classes={size}")
        hit = true == pred
        self.tp = _grow(self.tp, size)
        self.tp[:size] += np.bincount(true[hit], minlength=size)
        self.predicted = _grow(self.predicted, size)
        self.predicted[:size] += np.bincount(pred, minlength=size)
        self.actual = _grow(self.actual, size)
        self.actual[:size] += np.bincount(true, minlength=size)
        self.correct += int(hit.sum())
        self.n += len(true)

    def pack(self) -> list[float]:
        """[C, correct, n, TP..., predicted..., actual...] (integers, exact in float64)."""
        size = len(self.tp)
        return [size, self.correct, self.n, *self.tp, *self.predicted, *self.actual]

    @classmethod
    def unpack(cls, values: np.ndarray, at: int) -> tuple[_Counts, int]:
        counts = cls()
        size = int(values[at])
        counts.correct, counts.n = int(values[at + 1]), int(values[at + 2])
        at += 3
        for name in ("tp", "predicted", "actual"):
            setattr(counts, name, values[at : at + size].astype(np.int64))
            at += size
        return counts, at

    def plus(self, other: _Counts) -> _Counts:
        total = _Counts()
        size = max(len(self.tp), len(other.tp))
        for name in ("tp", "predicted", "actual"):
            setattr(
                total, name, _grow(getattr(self, name), size) + _grow(getattr(other, name), size)
            )
        total.correct, total.n = self.correct + other.correct, self.n + other.n
        return total


class _Labels:
    """Label counts; binary float scores with from_logits=None are counted both ways (as
    probabilities and as logits) until the epoch's range of scores decides, as the
    full-epoch `predicted_labels` decides from all the scores at once."""

    def __init__(self, from_logits: bool | None) -> None:
        self.from_logits = from_logits
        self.sure = _Counts()
        self.either = {True: _Counts(), False: _Counts()}
        self.low, self.high, self.scores_seen = np.inf, -np.inf, False

    def add(self, y_true: Any, y_pred: Any) -> None:
        scores = M._array(y_pred)
        binary = not (scores.ndim == 2 and scores.shape[1] > 1) and scores.dtype.kind not in "iub"
        if binary and self.from_logits is None:
            for logits, counts in self.either.items():
                counts.add(*M._labels(y_true, scores, 0.5, logits))
            if scores.size:
                self.scores_seen = True
                self.low, self.high = min(self.low, scores.min()), max(self.high, scores.max())
            return
        self.sure.add(*M._labels(y_true, scores, 0.5, self.from_logits))

    def pack(self) -> list[float]:
        head = [float(self.low), float(self.high), float(self.scores_seen)]
        return head + self.sure.pack() + self.either[True].pack() + self.either[False].pack()

    def merge(self, values: np.ndarray) -> None:
        """Add another process's packed counts (`pack`) to these."""
        self.low, self.high = min(self.low, values[0]), max(self.high, values[1])
        self.scores_seen = self.scores_seen or bool(values[2])
        at = 3
        for key in ("sure", True, False):
            counts, at = _Counts.unpack(values, at)
            if key == "sure":
                self.sure = self.sure.plus(counts)
            else:
                self.either[bool(key)] = self.either[bool(key)].plus(counts)

    def counts(self) -> _Counts:
        logits = self.scores_seen and not (self.low >= 0.0 and self.high <= 1.0)
        return self.sure.plus(self.either[bool(logits)])


def _classification_value(fn: Any, counts: _Counts) -> float:
    if fn is M.accuracy:
        return counts.correct / counts.n if counts.n else float("nan")
    present = (counts.predicted + counts.actual) > 0
    if fn is M.precision:
        scores = M._ratio(counts.tp, counts.predicted)
    elif fn is M.recall:
        scores = M._ratio(counts.tp, counts.actual)
    else:
        scores = M._ratio(2 * counts.tp, counts.predicted + counts.actual)
    return M._average(scores, present, "macro")


class _Regression:
    """The sums behind MSE, MAE and R² (see the module docstring)."""

    def __init__(self) -> None:
        self.n = 0
        self.squared, self.absolute = _Sum(), _Sum()
        self.shift: np.ndarray | None = None
        self.centred, self.centred_sq, self.residual = _Sum(), _Sum(), _Sum()
        self.rows = 0
        self.low: Any = np.inf
        self.high: Any = -np.inf

    def add(self, y_true: Any, y_pred: Any) -> None:
        true, pred = M._pair(y_true, y_pred)
        error = pred - true
        self.n += true.size
        self.squared.add(float(np.sum(error**2)))
        self.absolute.add(float(np.sum(np.abs(error))))
        true, pred = true.reshape(len(true), -1), pred.reshape(len(pred), -1)
        if not len(true):
            return
        if self.shift is None:
            self.shift = true.mean(axis=0)
        centred = true - self.shift
        self.centred.add(centred.sum(axis=0))
        self.centred_sq.add((centred**2).sum(axis=0))
        self.residual.add(((true - pred) ** 2).sum(axis=0))
        self.rows += len(true)
        self.low = np.minimum(self.low, true.min(axis=0))
        self.high = np.maximum(self.high, true.max(axis=0))

    def pack(self) -> list[float]:
        """[n, rows, K, the squared and absolute sums, then per output: the shift, the
        centred sums, the residuals, the range] (K = 0 before any row)."""
        width = 0 if self.shift is None else len(self.shift)
        head = [self.n, self.rows, width, float(self.squared.value), float(self.absolute.value)]
        if not width:
            return head
        vectors = (self.shift, self.centred.value, self.centred_sq.value, self.residual.value,
                   self.low, self.high)  # fmt: skip
        return head + [
            float(v) for vector in vectors for v in np.broadcast_to(np.asarray(vector), width)
        ]

    def merge(self, values: np.ndarray) -> None:
        """Add another process's sums (`pack`). Its centred sums are about its own shift
        c_r; about this one's c: Σ(y - c) = Σ(y - c_r) + n·δ and
        Σ(y - c)² = Σ(y - c_r)² + 2δ·Σ(y - c_r) + n·δ², with δ = c_r - c."""
        n, rows, width = int(values[0]), int(values[1]), int(values[2])
        self.n += n
        self.squared.add(float(values[3]))
        self.absolute.add(float(values[4]))
        if not width:
            return
        shift, centred, centred_sq, residual, low, high = values[5:].reshape(6, width)
        if self.shift is None:
            self.shift = shift.copy()
        delta = shift - self.shift
        self.centred.add(centred + rows * delta)
        self.centred_sq.add(centred_sq + 2 * delta * centred + rows * delta**2)
        self.residual.add(residual)
        self.rows += rows
        self.low = np.minimum(self.low, low)
        self.high = np.maximum(self.high, high)

    def value(self, fn: Any) -> float:
        if fn is M.mse:
            return self.squared.value / self.n if self.n else float("nan")
        if fn is M.mae:
            return self.absolute.value / self.n if self.n else float("nan")
        if not self.rows:
            return float(np.mean(np.zeros(0)))  # as r2 of no rows: nan (with its warning)
        residual = np.asarray(self.residual.value, dtype=np.float64)
        centred = np.asarray(self.centred.value, dtype=np.float64)
        total = np.asarray(self.centred_sq.value, dtype=np.float64) - centred**2 / self.rows
        total = np.where(self.low == self.high, 0.0, np.maximum(total, 0.0))  # constant: 0
        scores = np.where(total > 0, 1.0 - residual / np.where(total > 0, total, 1.0), 0.0)
        scores = np.where((total == 0) & (residual == 0), 1.0, scores)
        return float(scores.mean())


class Streams:
    """The running state of an epoch's metrics: `add` per batch, `values` at the end.

    `metrics` are (name, function) pairs; `from_logits` is what `fit` infers from the loss
    (True for BCEWithLogits, False for BCE, None otherwise).
    """

    def __init__(self, metrics: Sequence[tuple[str, Any]], from_logits: bool | None) -> None:
        self.metrics, self.from_logits = list(metrics), from_logits
        builtin = [fn for _, fn in self.metrics]
        self.labels = _Labels(from_logits) if any(f in _CLASSIFICATION for f in builtin) else None
        self.regression = _Regression() if any(f in _REGRESSION for f in builtin) else None
        self.custom = [(n, f) for n, f in self.metrics if f not in _CLASSIFICATION + _REGRESSION]
        self.kept: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])

    def add(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        if self.labels is not None:
            self.labels.add(y_true, y_pred)
        if self.regression is not None:
            self.regression.add(y_true, y_pred)
        if self.custom:  # a function of all the epoch's outputs: they must be kept
            self.kept[0].append(y_true)
            self.kept[1].append(y_pred)

    def pack(self) -> np.ndarray:
        """The running counts and sums as one float64 vector, for data-parallel training:
        every process sends its own, and `merge` adds the others' (O(classes) or
        O(outputs), whatever the epoch's size). Custom metrics' kept arrays are not in it."""
        parts: list[float] = []
        if self.labels is not None:
            labels = self.labels.pack()
            parts += [len(labels), *labels]
        if self.regression is not None:
            parts += self.regression.pack()
        return np.asarray(parts, dtype=np.float64)

    def merge(self, packed: np.ndarray) -> None:
        """Add another process's `pack()` to this one's counts and sums."""
        at = 0
        if self.labels is not None:
            size = int(packed[0])
            self.labels.merge(packed[1 : 1 + size])
            at = 1 + size
        if self.regression is not None:
            self.regression.merge(packed[at:])

    def values(self, custom_value: Any) -> dict[str, float]:
        """Each metric's epoch value; `custom_value(fn, y_true, y_pred)` computes those
        that are not built in, on the kept arrays."""
        logs: dict[str, float] = {}
        counts = self.labels.counts() if self.labels is not None else None
        truth = prediction = None
        if self.custom:
            truth, prediction = np.concatenate(self.kept[0]), np.concatenate(self.kept[1])
        for name, fn in self.metrics:
            if fn in _CLASSIFICATION:
                assert counts is not None
                logs[name] = float(_classification_value(fn, counts))
            elif fn in _REGRESSION:
                assert self.regression is not None
                logs[name] = float(self.regression.value(fn))
            else:
                logs[name] = custom_value(fn, truth, prediction)
        return logs
