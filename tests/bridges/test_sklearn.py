"""chainrule.sklearn: scikit-learn's estimator checks, the ecosystem, and parity with
scikit-learn's own MLPs (same settings and random_state: the same training, step for step)."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from scipy import sparse
from sklearn import neural_network
from sklearn.datasets import (
    load_digits,
    load_iris,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import chainrule
from chainrule import nn
from chainrule import sklearn as chainrule_sklearn
from chainrule.sklearn import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, ...]:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


@pytest.fixture(scope="module")
def iris() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def multilabel() -> tuple[np.ndarray, np.ndarray]:
    return make_multilabel_classification(n_samples=150, n_features=8, n_classes=4, random_state=0)


@pytest.fixture(scope="module")
def multioutput() -> tuple[np.ndarray, np.ndarray]:
    X, y = make_regression(n_samples=200, n_features=6, n_targets=3, noise=0.5, random_state=0)
    return X, y / y.std()


# ---------------------------------------------------------------------- scikit-learn's checks
# Every check passes: no expected failures (see docs/sklearn.md). max_iter is lowered to
# keep the suite fast; it is scikit-learn's own setting for its MLPs in these checks.
@parametrize_with_checks(
    [MLPClassifier(max_iter=100, random_state=0), MLPRegressor(max_iter=100, random_state=0)]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# ---------------------------------------------------------------------- the ecosystem
def test_pipeline(iris):
    X, y = iris
    model = make_pipeline(StandardScaler(), MLPClassifier(max_iter=300, random_state=0))
    assert model.fit(X, y).score(X, y) > 0.95
    assert model.predict_proba(X[:3]).shape == (3, 3)


def test_grid_search(iris):
    X, y = iris
    search = GridSearchCV(
        MLPClassifier(max_iter=200, random_state=0),
        {"hidden_layer_sizes": [(5,), (20,)], "alpha": [1e-4, 1e-1]},
        cv=3,
    ).fit(X, y)
    assert set(search.best_params_) == {"hidden_layer_sizes", "alpha"}
    assert isinstance(search.best_estimator_, MLPClassifier)
    assert search.best_score_ > 0.85


def test_cross_val_score(iris, multioutput):
    X, y = iris
    scores = cross_val_score(MLPClassifier(max_iter=300, random_state=0), X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.85
    X, y = multioutput
    r2 = cross_val_score(MLPRegressor(max_iter=300, random_state=0), X, y[:, 0], cv=3)
    assert r2.mean() > 0.8


# ---------------------------------------------------------------------- parity with scikit-learn
def test_digits_accuracy_matches_sklearn(digits):
    X_train, X_test, y_train, y_test = digits
    ours = MLPClassifier(random_state=0).fit(X_train, y_train).score(X_test, y_test)
    theirs = neural_network.MLPClassifier(random_state=0).fit(X_train, y_train)
    assert ours > 0.95
    assert abs(ours - theirs.score(X_test, y_test)) <= 0.02


PARITY = [
    ("MLPClassifier", "digits", {}),
    ("MLPClassifier", "digits", {"solver": "sgd", "learning_rate_init": 0.01}),
    ("MLPClassifier", "digits", {"solver": "sgd", "learning_rate": "invscaling", "alpha": 0.1}),
    ("MLPClassifier", "digits", {"activation": "tanh", "hidden_layer_sizes": (20, 10)}),
    ("MLPClassifier", "digits", {"early_stopping": True, "activation": "logistic"}),
    ("MLPClassifier", "digits32", {"batch_size": 64, "shuffle": False}),
    ("MLPClassifier", "multilabel", {}),
    ("MLPRegressor", "multioutput", {}),
    ("MLPRegressor", "multioutput", {"solver": "sgd", "momentum": 0.5, "alpha": 1.0}),
    ("MLPRegressor", "poisson", {"loss": "poisson", "activation": "identity"}),
]


@pytest.mark.parametrize(("kind", "data", "params"), PARITY)
def test_training_matches_sklearn_step_for_step(kind, data, params, request):
    """Same settings and seed: same initial weights, batches and updates as scikit-learn."""
    if data.startswith("digits"):
        X, _, y, _ = request.getfixturevalue("digits")
        X = X[:600].astype(np.float32 if data == "digits32" else np.float64)
        y = y[:600]
    elif data == "poisson":
        X, y = request.getfixturevalue("multioutput")
        y = np.exp(y[:, 0] / 2)
    else:
        X, y = request.getfixturevalue(data)
    settings = {"random_state": 0, "max_iter": 8, **params}
    ours = getattr(chainrule_sklearn, kind)(**settings).fit(X, y)
    theirs = getattr(neural_network, kind)(**settings).fit(X, y)
    rtol = 1e-4 if X.dtype == np.float32 else 1e-9
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=rtol)
    assert ours.n_iter_ == theirs.n_iter_ and ours.t_ == theirs.t_
    pairs = zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True)
    for a, b in pairs:
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(ours.predict(X[:50]), theirs.predict(X[:50]), rtol=1e-4)
    if params.get("early_stopping"):
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_)
        assert ours.best_validation_score_ == pytest.approx(theirs.best_validation_score_)


def test_lbfgs_and_sample_weight_match_sklearn(iris):
    X, y = iris
    weights = np.random.default_rng(0).uniform(0.2, 2.0, len(y))
    for settings in ({"solver": "lbfgs", "max_iter": 30}, {"max_iter": 5}):
        ours = MLPClassifier(random_state=0, **settings).fit(X, y, sample_weight=weights)
        theirs = neural_network.MLPClassifier(random_state=0, **settings)
        theirs.fit(X, y, sample_weight=weights)
        assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-6)
        np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-6)


@pytest.mark.parametrize("hidden", [(7,), (12, 5), (4, 3, 2)])
def test_coefs_and_intercepts_shapes_match_sklearn(iris, hidden):
    X, y = iris
    ours = MLPClassifier(hidden, max_iter=2, random_state=0).fit(X, y)
    theirs = neural_network.MLPClassifier(hidden, max_iter=2, random_state=0).fit(X, y)
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]
    assert ours.n_layers_ == theirs.n_layers_ == len(hidden) + 2
    assert ours.n_outputs_ == theirs.n_outputs_ == 3


# ---------------------------------------------------------------------- behaviour
def test_probabilities(iris):
    X, y = iris
    for labels in (y, y == 0):  # multi-class (softmax) and binary (logistic)
        clf = MLPClassifier(max_iter=50, random_state=0).fit(X, labels)
        proba = clf.predict_proba(X)
        assert proba.shape == (len(X), len(clf.classes_))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))
        np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    assert clf.out_activation_ == "logistic"


def test_multilabel(multilabel):
    X, Y = multilabel
    clf = MLPClassifier(max_iter=300, random_state=0).fit(X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == Y.shape[1]
    assert clf.predict(X).shape == Y.shape and set(np.unique(clf.predict(X))) <= {0, 1}
    proba = clf.predict_proba(X)
    assert proba.shape == Y.shape and ((proba >= 0) & (proba <= 1)).all()
    assert clf.score(X, Y) > 0.5  # subset accuracy


def test_multioutput_regression(multioutput):
    X, Y = multioutput
    reg = MLPRegressor(max_iter=500, random_state=0).fit(X, Y)
    assert reg.out_activation_ == "identity" and reg.n_outputs_ == 3
    assert reg.predict(X).shape == Y.shape
    assert reg.score(X, Y) > 0.9
    assert reg.predict(X[:, :]).dtype == np.float64


def test_float32_is_preserved(iris):
    X, y = iris
    clf = MLPClassifier(max_iter=5, random_state=0).fit(X.astype(np.float32), y)
    assert all(c.dtype == np.float32 for c in clf.coefs_ + clf.intercepts_)
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float32


def test_partial_fit(iris):
    X, y = iris
    clf = MLPClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf = MLPClassifier(random_state=0)
    clf.partial_fit(X[:50], y[:50], classes=np.unique(y))  # one class only in this batch
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    losses = [clf.loss_]
    for _ in range(20):
        clf.partial_fit(X, y)
        losses.append(clf.loss_)
    assert clf.n_iter_ == 1 and clf.t_ == 50 + 20 * len(X)
    assert losses[-1] < losses[1]
    with pytest.raises(ValueError, match="classes not in"):
        clf.partial_fit(X, y + 5)
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    reg = MLPRegressor(random_state=0)
    reg.partial_fit(X, X[:, 0]).partial_fit(X, X[:, 0])
    assert reg.t_ == 2 * len(X)


def test_warm_start(iris):
    X, y = iris
    clf = MLPClassifier(max_iter=5, warm_start=True, random_state=0).fit(X, y)
    first = [c.copy() for c in clf.coefs_]
    clf.fit(X, y)
    assert len(clf.loss_curve_) == 10 and clf.t_ == 10 * len(X)
    cold = MLPClassifier(max_iter=10, random_state=0).fit(X, y)
    assert clf.loss_curve_[:5] == cold.loss_curve_[:5]  # the first fit, then onwards
    assert not np.allclose(clf.coefs_[0], first[0])
    with pytest.raises(ValueError, match="warm_start can only be used"):
        clf.fit(X[y < 2], y[y < 2])
    fresh = MLPClassifier(max_iter=5, random_state=0).fit(X, y).fit(X, y)
    assert len(fresh.loss_curve_) == 5  # without warm_start, fit starts over


def test_early_stopping(digits):
    X, _, y, _ = digits
    clf = MLPClassifier(early_stopping=True, n_iter_no_change=3, max_iter=200, random_state=0)
    clf.fit(X, y)
    assert clf.n_iter_ < 200 and clf.best_loss_ is None
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        clf.partial_fit(X, y)
    reg = MLPRegressor(max_iter=30, random_state=0, early_stopping=True).fit(X, X[:, 20])
    assert len(reg.validation_scores_) == reg.n_iter_


def test_convergence_warning_and_stopping(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(3\\)"):
        MLPClassifier(max_iter=3, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = MLPClassifier(max_iter=500, tol=1e-2, n_iter_no_change=2, random_state=0)
        clf.fit(X, y)  # stops on the training loss, no warning
    assert clf.n_iter_ < 500 and clf.best_loss_ == min(clf.loss_curve_)


def test_sparse_input(iris):
    X, y = iris
    dense = MLPClassifier(max_iter=5, random_state=0).fit(X, y)
    for matrix in (sparse.csr_matrix, sparse.csc_matrix):
        fitted = MLPClassifier(max_iter=5, random_state=0).fit(matrix(X), y)
        np.testing.assert_allclose(fitted.loss_curve_, dense.loss_curve_)
        np.testing.assert_allclose(fitted.predict_proba(matrix(X)), dense.predict_proba(X))


def test_feature_names(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = MLPClassifier(max_iter=5, random_state=0).fit(frame, y)
    np.testing.assert_array_equal(clf.feature_names_in_, ["a", "b", "c", "d"])
    assert clf.n_features_in_ == 4


def test_to_module_is_the_fitted_network(iris):
    X, y = iris
    clf = MLPClassifier((6, 5), activation="tanh", max_iter=20, random_state=0).fit(X, y)
    module = clf.to_module()
    assert isinstance(module, nn.Sequential)
    assert [m.weight.shape for m in module if isinstance(m, nn.Linear)] == [
        c.T.shape for c in clf.coefs_
    ]
    with chainrule.no_grad():
        logits = module(chainrule.from_numpy(X))
    np.testing.assert_allclose(logits.softmax(1).detach().numpy(), clf.predict_proba(X), atol=1e-12)
    module[0].weight.data[...] = 0  # a copy: the estimator keeps its weights
    assert np.abs(clf.coefs_[0]).sum() > 0


def test_chainrule_random_stream_untouched(iris):
    X, y = iris
    chainrule.manual_seed(0)
    expected = chainrule.rand(3).detach().numpy()
    chainrule.manual_seed(0)
    MLPClassifier(max_iter=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(chainrule.rand(3).detach().numpy(), expected)


def test_missing_sklearn_gives_install_hint(monkeypatch):
    for name in [m for m in sys.modules if m.startswith("chainrule.sklearn")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ImportError, match=r'pip install "chainrule\[datasets\]"'):
        import chainrule.sklearn  # noqa: F401
