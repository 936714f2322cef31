"""Metrics: plain NumPy functions of targets and predictions, small enough to check by hand.

Every metric takes ``(y_true, y_pred)`` in that order, as scikit-learn and Keras do, and
accepts ndarrays, lists or Tensors. Classification metrics turn ``y_pred`` into labels first
(see :func:`predicted_labels`), so they take logits, probabilities or labels alike:

* ``(N, C)`` scores (logits or probabilities), C ≥ 2: the label is ``argmax`` over C;
* ``(N,)`` or ``(N, 1)`` floats: a binary score, label 1 when ``p > threshold`` for
  probabilities, ``z > log(threshold / (1 - threshold))`` for logits (``z > 0`` at 0.5);
* integers or bools: already labels.

Example::

    >>> accuracy([0, 1, 1], [[2.0, 0.1], [0.3, 0.9], [1.0, 0.0]])    # argmax: 0, 1, 0
    0.6666666666666666
    >>> confusion_matrix([0, 1, 1], [0, 1, 0])
    array([[1, 0],
           [1, 1]])

``METRICS`` maps names to functions, for ``fit(metrics=['accuracy'])`` and the CLI.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from chainrule.tensor import Tensor
from chainrule.types import TensorLike

__all__ = [
    "METRICS",
    "Metric",
    "accuracy",
    "confusion_matrix",
    "f1",
    "get_metric",
    "mae",
    "mse",
    "precision",
    "predicted_labels",
    "r2",
    "recall",
]

Metric = Callable[..., float]


def _array(values: TensorLike) -> np.ndarray:
    """An ndarray view of a Tensor (detached), an ndarray or a list."""
    return np.asarray(values.detach().numpy() if isinstance(values, Tensor) else values)


def predicted_labels(
    y_pred: TensorLike, threshold: float = 0.5, from_logits: bool | None = None
) -> np.ndarray:
    """Class labels, shape (N,), from logits, probabilities or labels.

    Args:
        y_pred: (N, C) scores with C ≥ 2 (argmax), (N,) or (N, 1) binary scores
            (thresholded), or integer / bool labels (returned as they are).
        threshold: the probability above which a binary score means class 1.
        from_logits: whether binary scores are logits. None decides from the values:
            probabilities when all lie in [0, 1], logits otherwise. `fit` passes True for
            ``BCEWithLogitsLoss`` and False for ``BCELoss``, so nothing is guessed there.
    """
    scores = _array(y_pred)
    if scores.ndim == 2 and scores.shape[1] > 1:
        return scores.argmax(axis=1)
    scores = scores.reshape(len(scores)) if scores.ndim == 2 else scores
    if scores.ndim != 1:
        raise ValueError(
            f"predictions of shape {scores.shape}: expected (N, C) scores, (N,) or (N, 1)"
        )
    if scores.dtype.kind in "iub":
        return scores.astype(np.int64)
    if from_logits is None:
        from_logits = bool(scores.size) and not (scores.min() >= 0.0 and scores.max() <= 1.0)
    if from_logits:  # sigmoid(z) > t  <=>  z > log(t / (1 - t))
        cut = math.log(threshold / (1.0 - threshold))
        return (scores > cut).astype(np.int64)
    return (scores > threshold).astype(np.int64)


def _true_labels(y_true: TensorLike) -> np.ndarray:
    """Labels (N,) from labels, (N, 1) labels or (N, C) one-hot rows."""
    target = _array(y_true)
    if target.ndim == 2 and target.shape[1] > 1:
        return target.argmax(axis=1)
    target = target.reshape(len(target)) if target.ndim == 2 else target
    if target.dtype.kind == "f":
        return np.rint(target).astype(np.int64)  # 0./1. targets of a BCE loss
    return target.astype(np.int64)


def _labels(
    y_true: TensorLike, y_pred: TensorLike, threshold: float, from_logits: bool | None
) -> tuple:
    true, pred = _true_labels(y_true), predicted_labels(y_pred, threshold, from_logits)
    if true.shape != pred.shape:
        raise ValueError(f"{len(true)} targets but {len(pred)} predictions")
    return true, pred


def accuracy(
    y_true: TensorLike, y_pred: TensorLike, threshold: float = 0.5, from_logits: bool | None = None
) -> float:
    """The fraction of correct labels: (1/N) Σᵢ [ŷᵢ = yᵢ].

    Example: targets [0, 1, 1], probabilities [0.2, 0.7, 0.4] → labels [0, 1, 0] → 2/3.
    """
    true, pred = _labels(y_true, y_pred, threshold, from_logits)
    return float(np.mean(true == pred)) if len(true) else float("nan")


def confusion_matrix(
    y_true: TensorLike,
    y_pred: TensorLike,
    num_classes: int | None = None,
    threshold: float = 0.5,
    from_logits: bool | None = None,
) -> np.ndarray:
    """Counts M[i, j] = #{samples of true class i predicted as class j}, shape (C, C).

    The diagonal holds the correct predictions; row i sums to the number of samples of
    class i. C is ``num_classes``, or 1 + the largest label seen.
    """
    true, pred = _labels(y_true, y_pred, threshold, from_logits)
    if num_classes is None:
        num_classes = int(max(true.max(initial=-1), pred.max(initial=-1))) + 1
    if len(true) and (
        min(true.min(), pred.min()) < 0 or max(true.max(), pred.max()) >= num_classes
    ):
        raise ValueError(f"labels must lie in [0, {num_classes}) for num_classes={num_classes}")
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (true, pred), 1)
    return matrix


def _per_class(
    y_true: TensorLike, y_pred: TensorLike, threshold: float, from_logits: bool | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(true positives, predicted counts, actual counts, classes present) per class."""
    true, pred = _labels(y_true, y_pred, threshold, from_logits)
    matrix = confusion_matrix(true, pred)
    present = (matrix.sum(axis=0) + matrix.sum(axis=1)) > 0  # as sklearn: in y_true or y_pred
    return np.diag(matrix), matrix.sum(axis=0), matrix.sum(axis=1), present


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (sklearn's zero_division=0)."""
    safe = np.where(denominator > 0, denominator, 1)
    return np.where(denominator > 0, numerator / safe, 0.0)


def _average(scores: np.ndarray, present: np.ndarray, average: str) -> float:
    if average == "macro":
        return float(scores[present].mean()) if present.any() else 0.0
    if average == "binary":
        if len(scores) > 2:
            raise ValueError(f"average='binary' needs 2 classes, the labels have {len(scores)}")
        return float(scores[1]) if len(scores) > 1 else 0.0
    raise ValueError(f"average must be 'macro' or 'binary', got {average!r}")


def precision(
    y_true: TensorLike,
    y_pred: TensorLike,
    average: str = "macro",
    threshold: float = 0.5,
    from_logits: bool | None = None,
) -> float:
    """Precision of class c: TP_c / (TP_c + FP_c), of the samples predicted c how many are c.

    ``average='macro'`` takes the unweighted mean over the classes present in the targets
    or the predictions (as scikit-learn); ``'binary'`` reports class 1 only. A class never
    predicted has precision 0.
    """
    tp, predicted, _, present = _per_class(y_true, y_pred, threshold, from_logits)
    return _average(_ratio(tp, predicted), present, average)


def recall(
    y_true: TensorLike,
    y_pred: TensorLike,
    average: str = "macro",
    threshold: float = 0.5,
    from_logits: bool | None = None,
) -> float:
    """Recall of class c: TP_c / (TP_c + FN_c), of the samples of class c how many were found.

    Averaged like :func:`precision`.
    """
    tp, _, actual, present = _per_class(y_true, y_pred, threshold, from_logits)
    return _average(_ratio(tp, actual), present, average)


def f1(
    y_true: TensorLike,
    y_pred: TensorLike,
    average: str = "macro",
    threshold: float = 0.5,
    from_logits: bool | None = None,
) -> float:
    """F1 of class c: the harmonic mean 2·P_c·R_c / (P_c + R_c) = 2TP / (2TP + FP + FN).

    Averaged like :func:`precision` (macro F1 is the mean of the per-class F1 scores).
    """
    tp, predicted, actual, present = _per_class(y_true, y_pred, threshold, from_logits)
    return _average(_ratio(2 * tp, predicted + actual), present, average)


def _pair(y_true: TensorLike, y_pred: TensorLike) -> tuple[np.ndarray, np.ndarray]:
    true = _array(y_true).astype(np.float64)
    pred = _array(y_pred).astype(np.float64)
    if true.size != pred.size:
        raise ValueError(f"targets of shape {true.shape} but predictions of shape {pred.shape}")
    return true.reshape(pred.shape), pred


def mse(y_true: TensorLike, y_pred: TensorLike) -> float:
    """Mean squared error: (1/N) Σᵢ (ŷᵢ - yᵢ)²."""
    true, pred = _pair(y_true, y_pred)
    return float(np.mean((pred - true) ** 2)) if true.size else float("nan")


def mae(y_true: TensorLike, y_pred: TensorLike) -> float:
    """Mean absolute error: (1/N) Σᵢ |ŷᵢ - yᵢ|."""
    true, pred = _pair(y_true, y_pred)
    return float(np.mean(np.abs(pred - true))) if true.size else float("nan")


def r2(y_true: TensorLike, y_pred: TensorLike) -> float:
    """Coefficient of determination: R² = 1 - Σ(yᵢ - ŷᵢ)² / Σ(yᵢ - ȳ)².

    1 is a perfect fit, 0 is as good as predicting the mean ȳ, below 0 is worse. For
    several outputs (N, K), the mean of the K scores. A constant target gives 1 when it is
    predicted exactly and 0 otherwise (scikit-learn's ``force_finite``).
    """
    true, pred = _pair(y_true, y_pred)
    true, pred = true.reshape(len(true), -1), pred.reshape(len(pred), -1)
    residual = ((true - pred) ** 2).sum(axis=0)
    total = ((true - true.mean(axis=0)) ** 2).sum(axis=0)
    scores = np.where(total > 0, 1.0 - residual / np.where(total > 0, total, 1.0), 0.0)
    scores = np.where((total == 0) & (residual == 0), 1.0, scores)
    return float(scores.mean())


METRICS: dict[str, Metric] = {
    "accuracy": accuracy,
    "acc": accuracy,
    "precision": precision,
    "recall": recall,
    "f1": f1,
    "mse": mse,
    "mae": mae,
    "r2": r2,
}

CLASSIFICATION = frozenset({accuracy, precision, recall, f1})


def get_metric(metric: str | Metric) -> tuple[str, Metric]:
    """(name, function) for a registered name or a callable ``fn(y_true, y_pred) -> float``.

    A callable is named by its ``__name__``; ``'acc'`` is logged as ``'accuracy'``.
    """
    if callable(metric):
        return getattr(metric, "__name__", type(metric).__name__), metric
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose from {sorted(METRICS)}")
    function = METRICS[metric]
    return function.__name__, function
