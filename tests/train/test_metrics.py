"""Metrics against hand-computed values (and scikit-learn where it has the same metric)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

import chainrule as cr
from chainrule.train import metrics as M

# three classes: rows of the confusion matrix are true classes, columns predicted ones
#   y_true 0 1 2 2 1
#   y_pred 0 2 2 2 1   -> M = [[1,0,0],[0,1,1],[0,0,2]]
Y_TRUE = np.array([0, 1, 2, 2, 1])
Y_PRED = np.array([0, 2, 2, 2, 1])


def test_accuracy_from_logits_argmax():
    logits = [[2.0, 0.1], [0.3, 0.9], [1.0, 0.0]]  # argmax 0, 1, 0
    assert M.accuracy([0, 1, 1], logits) == pytest.approx(2 / 3)


def test_accuracy_from_binary_probabilities_n_and_n1():
    probabilities = np.array([0.2, 0.7, 0.4])  # > 0.5: 0, 1, 0
    assert M.accuracy([0, 1, 1], probabilities) == pytest.approx(2 / 3)
    assert M.accuracy([[0], [1], [1]], probabilities.reshape(3, 1)) == pytest.approx(2 / 3)
    assert M.accuracy([0, 1, 1], probabilities, threshold=0.3) == pytest.approx(1.0)


def test_accuracy_from_binary_logits():
    logits = np.array([-1.0, 2.0, 0.5])  # outside [0, 1]: logits, z > 0 -> 0, 1, 1
    assert M.accuracy([0, 1, 1], logits) == 1.0
    # in [0, 1] the values look like probabilities unless told they are logits
    assert M.accuracy([0, 1, 1], [0.2, 0.7, 0.4]) == pytest.approx(2 / 3)
    assert M.accuracy([0, 1, 1], [0.2, 0.7, 0.4], from_logits=True) == pytest.approx(2 / 3)
    assert M.accuracy([1, 1, 1], [0.2, 0.7, 0.4], from_logits=True) == 1.0


def test_accuracy_from_labels_one_hot_and_tensors():
    assert M.accuracy(Y_TRUE, Y_PRED) == pytest.approx(4 / 5)
    one_hot = np.eye(3)[Y_TRUE]
    assert M.accuracy(one_hot, Y_PRED) == pytest.approx(4 / 5)
    assert M.accuracy(cr.tensor(Y_TRUE), cr.tensor(np.eye(3)[Y_PRED] * 5.0)) == pytest.approx(0.8)
    # float 0./1. targets (as BCE takes them)
    assert M.accuracy(np.array([0.0, 1.0, 1.0]), np.array([0.1, 0.9, 0.2])) == pytest.approx(2 / 3)


def test_confusion_matrix_by_hand():
    expected = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 2]])
    np.testing.assert_array_equal(M.confusion_matrix(Y_TRUE, Y_PRED), expected)
    padded = M.confusion_matrix(Y_TRUE, Y_PRED, num_classes=4)
    assert padded.shape == (4, 4) and padded[:3, :3].tolist() == expected.tolist()
    np.testing.assert_array_equal(padded, skm.confusion_matrix(Y_TRUE, Y_PRED, labels=range(4)))
    with pytest.raises(ValueError, match="labels must lie"):
        M.confusion_matrix(Y_TRUE, Y_PRED, num_classes=2)


def test_precision_recall_f1_by_hand():
    # predicted counts (column sums) 1, 1, 3; actual counts (row sums) 1, 2, 2; TP 1, 1, 2
    assert M.precision(Y_TRUE, Y_PRED) == pytest.approx((1 + 1 + 2 / 3) / 3)
    assert M.recall(Y_TRUE, Y_PRED) == pytest.approx((1 + 1 / 2 + 1) / 3)
    # F1_c = 2TP / (2TP + FP + FN): 2/2, 2/3, 4/5
    assert M.f1(Y_TRUE, Y_PRED) == pytest.approx((1 + 2 / 3 + 4 / 5) / 3)


def test_binary_average():
    y_true, y_pred = [0, 1, 1, 1, 0], [0, 1, 0, 1, 1]  # TP 2, FP 1, FN 1
    assert M.precision(y_true, y_pred, average="binary") == pytest.approx(2 / 3)
    assert M.recall(y_true, y_pred, average="binary") == pytest.approx(2 / 3)
    assert M.f1(y_true, y_pred, average="binary") == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="binary"):
        M.precision(Y_TRUE, Y_PRED, average="binary")
    with pytest.raises(ValueError, match="average"):
        M.recall(Y_TRUE, Y_PRED, average="weighted")


@pytest.mark.parametrize("seed", range(5))
def test_classification_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 4, 40)
    y_pred = rng.integers(0, 4, 40)
    y_pred[y_pred == 3] = 2  # class 3 never predicted: precision 0 (zero_division=0)
    kwargs = {"average": "macro", "zero_division": 0}
    assert M.accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert M.precision(y_true, y_pred) == pytest.approx(
        skm.precision_score(y_true, y_pred, **kwargs)
    )
    assert M.recall(y_true, y_pred) == pytest.approx(skm.recall_score(y_true, y_pred, **kwargs))
    assert M.f1(y_true, y_pred) == pytest.approx(skm.f1_score(y_true, y_pred, **kwargs))
    np.testing.assert_array_equal(
        M.confusion_matrix(y_true, y_pred, 4), skm.confusion_matrix(y_true, y_pred, labels=range(4))
    )


def test_macro_average_skips_classes_absent_from_both():
    # labels 0 and 2 only: class 1 takes no part in the macro mean, as in sklearn
    y_true, y_pred = [0, 2, 2], [0, 2, 0]
    assert M.recall(y_true, y_pred) == pytest.approx((1 + 1 / 2) / 2)
    assert M.recall(y_true, y_pred) == pytest.approx(
        skm.recall_score(y_true, y_pred, average="macro")
    )


def test_regression_metrics_by_hand():
    y_true, y_pred = [1.0, 2.0, 3.0], [1.0, 2.0, 5.0]
    assert M.mse(y_true, y_pred) == pytest.approx(4 / 3)
    assert M.mae(y_true, y_pred) == pytest.approx(2 / 3)
    # SS_res = 4, SS_tot = (1-2)² + 0 + (3-2)² = 2 -> R² = 1 - 4/2 = -1
    assert M.r2(y_true, y_pred) == pytest.approx(-1.0)
    assert M.r2(y_true, y_true) == 1.0
    # (N, 1) predictions against (N,) targets are compared element by element
    assert M.mse(cr.tensor(y_true), cr.tensor([[1.0], [2.0], [5.0]])) == pytest.approx(4 / 3)


def test_regression_metrics_match_sklearn():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.normal(size=(30, 3)), rng.normal(size=(30, 3))
    assert M.mse(y_true, y_pred) == pytest.approx(skm.mean_squared_error(y_true, y_pred))
    assert M.mae(y_true, y_pred) == pytest.approx(skm.mean_absolute_error(y_true, y_pred))
    assert M.r2(y_true, y_pred) == pytest.approx(skm.r2_score(y_true, y_pred))


def test_r2_constant_target():
    assert M.r2([2.0, 2.0], [2.0, 2.0]) == 1.0
    assert M.r2([2.0, 2.0], [1.0, 2.0]) == 0.0


def test_registry():
    assert M.get_metric("accuracy") == ("accuracy", M.accuracy)
    assert M.get_metric("acc") == ("accuracy", M.accuracy)
    assert set(M.METRICS) >= {"accuracy", "precision", "recall", "f1", "mse", "mae", "r2"}

    def top_error(y_true, y_pred):
        return 0.0

    assert M.get_metric(top_error) == ("top_error", top_error)
    with pytest.raises(ValueError, match="unknown metric"):
        M.get_metric("auc")


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="targets"):
        M.accuracy([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="shape"):
        M.mse([1.0, 2.0], [1.0, 2.0, 3.0])
