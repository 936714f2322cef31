"""fit's epoch metrics stream (issue 14, class 3): the same numbers as the old full-epoch
computation (classification exactly, regression to rounding), and memory that does not
grow with the epoch."""

from __future__ import annotations

import importlib
import math
import tracemalloc
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import nn, optim
from chainrule.train import fit
from chainrule.train import metrics as M
from chainrule.train.accumulate import array_of
from chainrule.train.streaming import Streams

fit_module = importlib.import_module("chainrule.train.fit")  # the module: train.fit is fit()

CLASSIFICATION = [("accuracy", M.accuracy), ("precision", M.precision), ("recall", M.recall),
                  ("f1", M.f1)]  # fmt: skip
REGRESSION = [("mse", M.mse), ("mae", M.mae), ("r2", M.r2)]


def old_value(
    fn: Any, truth: np.ndarray, prediction: np.ndarray, from_logits: bool | None
) -> float:
    """What fit computed before: the metric on the concatenation of the epoch's batches."""
    if fn in M.CLASSIFICATION and from_logits is not None:
        return float(fn(truth, prediction, from_logits=from_logits))
    return float(fn(truth, prediction))


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@st.composite
def classified_batches(draw: Any) -> tuple[list[np.ndarray], list[np.ndarray], bool | None]:
    """Batches of (targets, predictions) in every form fit sees: (N, C) scores, binary
    probabilities or logits (N,) / (N, 1), integer labels."""
    form = draw(st.sampled_from(["scores", "binary", "binary-n1", "labels"]))
    classes = draw(st.integers(2, 7)) if form in ("scores", "labels") else 2
    from_logits = draw(st.sampled_from([None, True, False])) if "binary" in form else None
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    sizes = draw(st.lists(st.integers(0, 40), min_size=1, max_size=8))
    if sum(sizes) == 0:
        sizes[0] = 1
    spread = draw(st.sampled_from([0.5, 3.0]))  # binary scores inside or beyond [0, 1]
    truths, predictions = [], []
    for n in sizes:
        truths.append(rng.integers(0, classes, size=n))
        if form == "scores":
            predictions.append(rng.normal(size=(n, classes)).astype(np.float32))
        elif form == "labels":
            predictions.append(rng.integers(0, classes, size=n))
        else:
            values = (rng.random(n) * spread).astype(np.float32)
            predictions.append(values.reshape(n, 1) if form == "binary-n1" else values)
    return truths, predictions, from_logits


@settings(max_examples=200, deadline=None)
@given(classified_batches())
def test_classification_metrics_equal_the_full_epoch_ones_exactly(case: Any) -> None:
    truths, predictions, from_logits = case
    streams = Streams(CLASSIFICATION, from_logits)
    for truth, prediction in zip(truths, predictions, strict=True):
        streams.add(truth, prediction)
    values = streams.values(None)
    truth, prediction = np.concatenate(truths), np.concatenate(predictions)
    for name, fn in CLASSIFICATION:
        assert same(values[name], old_value(fn, truth, prediction, from_logits)), name


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.lists(st.integers(1, 50), min_size=1, max_size=8),
    st.integers(1, 3),
    st.sampled_from([1.0, 1e4, 1e-3]),
    st.booleans(),
)
def test_regression_metrics_equal_the_full_epoch_ones_to_rounding(
    seed: int, sizes: list[int], outputs: int, scale: float, constant: bool
) -> None:
    rng = np.random.default_rng(seed)
    truths = [(rng.normal(size=(n, outputs)) * scale + 5 * scale).astype(np.float32)
              for n in sizes]  # fmt: skip
    if constant:
        truths = [np.full_like(t, 2.5) for t in truths]
    predictions = [(t + rng.normal(size=t.shape).astype(np.float32) * scale) for t in truths]
    streams = Streams(REGRESSION, None)
    for truth, prediction in zip(truths, predictions, strict=True):
        streams.add(truth, prediction)
    values = streams.values(None)
    truth, prediction = np.concatenate(truths), np.concatenate(predictions)
    for name, fn in REGRESSION:
        old = old_value(fn, truth, prediction, None)
        assert values[name] == pytest.approx(old, rel=1e-12, abs=1e-12), name


class OldAccumulator(fit_module.Accumulator):
    """fit's accumulator as it was: every batch's outputs kept, metrics on all at once."""

    def __init__(self, metrics: Any, from_logits: bool | None, **options: Any) -> None:
        super().__init__(metrics, from_logits, **options)
        self.kept: list[tuple[np.ndarray, np.ndarray]] = []

    def add(self, loss: Any, output: Any, target: Any, n: int, live: bool, **options: Any) -> None:
        super().add(loss, output, target, n, live, **options)
        self.kept.append((array_of(target).copy(), array_of(output).copy()))

    def result(self, with_loss: bool = True, reducer: Any = None) -> dict[str, float]:
        logs = {"loss": self.loss_sum / self.samples} if with_loss else {}
        truth = np.concatenate([t for t, _ in self.kept])
        prediction = np.concatenate([p for _, p in self.kept])
        for name, fn in self.metrics:
            logs[name] = old_value(fn, truth, prediction, self.from_logits)
        return logs


def train_history(classes: int, metrics: list[str], accumulator: Any, monkeypatch: Any) -> Any:
    monkeypatch.setattr(fit_module, "Accumulator", accumulator)
    rng = np.random.default_rng(4)
    X = rng.normal(size=(700, 5)).astype(np.float32)
    if classes:
        y: np.ndarray = (X[:, 0] * 3 + X[:, 1]).astype(np.int64) % classes
        loss: Any = nn.CrossEntropyLoss()
    else:
        y = (X @ np.arange(1, 6, dtype=np.float32)).reshape(-1, 1)
        loss = nn.MSELoss()
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, classes or 1))
    return fit(model, loss, optim.Adam(model.parameters(), lr=0.01), (X[:600], y[:600]),
               val=(X[600:], y[600:]), epochs=3, batch_size=64, metrics=metrics,
               progress=False, generator=cr.Generator().manual_seed(1))  # fmt: skip


def test_fit_history_is_the_old_full_epoch_one(monkeypatch: pytest.MonkeyPatch) -> None:
    names = ["accuracy", "precision", "recall", "f1"]
    streamed = train_history(5, names, fit_module.Accumulator, monkeypatch).history
    old = train_history(5, names, OldAccumulator, monkeypatch).history
    assert streamed == old  # bit for bit: classification metrics are counts
    streamed = train_history(0, ["mse", "mae", "r2"], fit_module.Accumulator, monkeypatch)
    old = train_history(0, ["mse", "mae", "r2"], OldAccumulator, monkeypatch)
    for key, values in old.history.items():
        assert streamed.history[key] == pytest.approx(values, rel=1e-12), key


def peak_of_an_epoch(n: int, classes: int) -> int:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    y = rng.integers(0, classes, size=n)
    model = nn.Sequential(nn.Linear(4, classes))
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    tracemalloc.start()
    try:
        fit(model, nn.CrossEntropyLoss(), optimizer, (X, y), epochs=1, batch_size=250,
            metrics=["accuracy", "f1"], progress=False, shuffle=False)  # fmt: skip
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_metric_memory_does_not_grow_with_the_epoch() -> None:
    """1,000 classes: the old accumulator kept N x 1000 float32 outputs (8 MB for 2,000
    rows, 80 MB for 20,000); streaming keeps three count vectors of 1,000."""
    small, large = peak_of_an_epoch(2_000, 1_000), peak_of_an_epoch(20_000, 1_000)
    assert large < small + 2_000_000, (small, large)


@pytest.mark.parametrize("kind", ["classes", "binary scores", "regression"])
def test_processes_merge_their_packed_counts_to_the_one_process_values(kind: str) -> None:
    """Data-parallel fit exchanges Streams.pack() vectors, not outputs: three "processes"
    (one of them without a batch) merged in rank order give the one-process values
    (counts exactly, regression sums to rounding)."""
    rng = np.random.default_rng(7)
    if kind == "classes":
        truth, prediction = rng.integers(0, 6, 90), rng.standard_normal((90, 6))
        metrics, from_logits = CLASSIFICATION, None
    elif kind == "binary scores":
        truth, prediction = rng.integers(0, 2, 90), rng.standard_normal(90) * 3
        metrics, from_logits = CLASSIFICATION, None
    else:
        truth = rng.standard_normal((90, 3)) * 5 + 2
        prediction = truth + rng.standard_normal((90, 3))
        metrics, from_logits = REGRESSION, None
    whole = Streams(metrics, from_logits)
    ranks = [Streams(metrics, from_logits) for _ in range(3)]
    for start in range(0, 90, 10):  # rank 2 gets no batch
        whole.add(truth[start : start + 10], prediction[start : start + 10])
        ranks[(start // 10) % 2].add(truth[start : start + 10], prediction[start : start + 10])
    merged = Streams(metrics, from_logits)
    for packed in [r.pack() for r in ranks]:
        merged.merge(packed)
    expected = whole.values(None)
    for name, value in merged.values(None).items():
        assert value == pytest.approx(expected[name], rel=1e-12, abs=1e-12), name
