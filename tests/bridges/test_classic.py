"""chainrule.classic: the perceptron rule and linear regression (closed form and GD),
checked against truth tables and scikit-learn."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression as SkLinearRegression
from sklearn.linear_model import QuantileRegressor
from sklearn.metrics import r2_score

import chainrule
from chainrule.classic import LinearRegression, Perceptron

INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])


# ---------------------------------------------------------------------- perceptron
@pytest.mark.parametrize("table", [[0, 0, 0, 1], [0, 1, 1, 1]], ids=["AND", "OR"])
def test_perceptron_learns_and_or(table):
    model = Perceptron(lr=1.0, max_epochs=100, seed=0).fit(INPUTS, table)
    assert model.converged_
    assert model.n_epochs_ < 100
    assert model.predict(INPUTS).tolist() == table
    assert model.score(INPUTS, table) == 1.0
    assert model.coef_.shape == (2,)
    assert isinstance(model.intercept_, float)
    assert len(model.errors_) == model.n_epochs_
    assert model.errors_[-1] == 0


def test_perceptron_cannot_learn_xor():
    model = Perceptron(max_epochs=50, seed=0).fit(INPUTS, [0, 1, 1, 0])
    assert not model.converged_
    assert model.n_epochs_ == 50
    assert min(model.errors_) >= 1  # no line separates XOR
    assert model.score(INPUTS, [0, 1, 1, 0]) <= 0.75


def test_perceptron_rule_by_hand():
    # one epoch in the given order, from w = 0, b = 0, η = 0.5:
    # (1,1) y=1: ŷ=[0>0]=0 -> w=(0.5,0.5), b=0.5; (0,0) y=0: ŷ=[0.5>0]=1 -> b=0
    model = Perceptron(lr=0.5, max_epochs=1, shuffle=False).fit([[1, 1], [0, 0]], [1, 0])
    np.testing.assert_array_equal(model.coef_, [0.5, 0.5])
    assert model.intercept_ == 0.0
    assert model.converged_ and model.n_epochs_ == 1


def test_perceptron_separable_data_and_labels():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 3))
    labels = np.where(X @ [1.0, -2.0, 0.5] + 0.3 > 0, "yes", "no")
    model = Perceptron(max_epochs=1000, seed=3).fit(X, labels)
    assert model.converged_
    assert model.classes_.tolist() == ["no", "yes"]
    assert model.score(X, labels) == 1.0
    assert set(model.predict(X)) <= {"yes", "no"}
    np.testing.assert_allclose(model.decision_function(X), X @ model.coef_ + model.intercept_)


def test_perceptron_is_reproducible_and_validates():
    X = np.random.default_rng(0).normal(size=(50, 2))
    y = (X[:, 0] > 0).astype(int)
    first, second = Perceptron(seed=7).fit(X, y), Perceptron(seed=7).fit(X, y)
    np.testing.assert_array_equal(first.coef_, second.coef_)
    with pytest.raises(ValueError, match="binary"):
        Perceptron().fit(X, np.arange(50) % 3)
    with pytest.raises(ValueError, match="rows"):
        Perceptron().fit(X, y[:10])
    with pytest.raises(ValueError, match="lr"):
        Perceptron(lr=0)
    with pytest.raises(ValueError, match="max_epochs"):
        Perceptron(max_epochs=0)


# ---------------------------------------------------------------------- linear regression
def regression_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)) * [1.0, 50.0, 0.1, 3.0]  # very different scales
    y = X @ [2.0, -0.05, 8.0, 1.5] + 4.0 + rng.normal(0, 0.5, n)
    return X, y


def test_normal_gd_and_sklearn_agree():
    X, y = regression_data()
    reference = SkLinearRegression().fit(X, y)
    normal = LinearRegression(method="normal").fit(X, y)
    gd = LinearRegression(method="gd", lr=0.1, max_epochs=5000).fit(X, y)
    np.testing.assert_allclose(normal.coef_, reference.coef_, rtol=1e-10)
    np.testing.assert_allclose(normal.intercept_, reference.intercept_, rtol=1e-10)
    np.testing.assert_allclose(gd.coef_, reference.coef_, rtol=1e-5)
    np.testing.assert_allclose(gd.intercept_, reference.intercept_, rtol=1e-5)
    assert gd.n_epochs_ < 5000  # stopped on the gradient tolerance
    assert gd.loss_curve_[-1] < gd.loss_curve_[0]
    assert len(normal.loss_curve_) == 1
    assert normal.score(X, y) == pytest.approx(r2_score(y, reference.predict(X)))
    np.testing.assert_allclose(gd.predict(X), reference.predict(X), rtol=1e-5, atol=1e-5)


def test_normal_equation_by_hand():
    X, y = regression_data(seed=1)
    design = np.column_stack([np.ones(len(X)), X])
    w = np.linalg.solve(design.T @ design, design.T @ y)  # (XᵀX)⁻¹Xᵀy
    model = LinearRegression().fit(X, y)
    np.testing.assert_allclose(model.coef_, w[1:], rtol=1e-8)
    assert model.intercept_ == pytest.approx(w[0])


def test_multi_output_and_no_intercept_match_sklearn():
    X, y = regression_data()
    Y = np.column_stack([y, 2 * y - X[:, 0]])
    for fit_intercept in (True, False):
        reference = SkLinearRegression(fit_intercept=fit_intercept).fit(X, Y)
        for method in ("normal", "gd"):
            model = LinearRegression(
                method=method, fit_intercept=fit_intercept, max_epochs=5000
            ).fit(X, Y)
            assert model.coef_.shape == (2, 4)
            np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(model.intercept_, reference.intercept_, atol=1e-4)


def test_singular_design_warns_and_still_fits():
    X, y = regression_data()
    duplicated = np.column_stack([X, 2 * X[:, 0]])  # a feature that repeats another
    with pytest.warns(RuntimeWarning, match="singular") as record:
        model = LinearRegression().fit(duplicated, y)
    assert "rank 5 < 6" in str(record[0].message)
    assert record[0].filename == __file__  # points at the caller's fit()
    assert model.rank_ == 5
    reference = SkLinearRegression().fit(duplicated, y)
    np.testing.assert_allclose(model.predict(duplicated), reference.predict(duplicated), rtol=1e-8)


def test_ill_conditioned_design_warns():
    X, y = regression_data()
    nearly = X[:, 0] + 1e-7 * np.random.default_rng(0).normal(size=len(X))
    with pytest.warns(RuntimeWarning, match="ill-conditioned"):
        LinearRegression().fit(np.column_stack([X, nearly]), y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a healthy design matrix: no warning
        LinearRegression().fit(X, y)


def test_mae_needs_gradient_descent():
    with pytest.raises(ValueError, match=r"^MAE has no closed form; use method='gd'$"):
        LinearRegression(method="normal", loss="mae")
    with pytest.raises(ValueError, match="method"):
        LinearRegression(method="adam")
    with pytest.raises(ValueError, match="loss"):
        LinearRegression(loss="huber")


def test_gd_mae_reaches_the_least_absolute_deviation_fit():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 3))
    y = X @ [1.0, -2.0, 0.5] + 3.0 + rng.standard_t(2, size=300)  # heavy-tailed noise
    model = LinearRegression(method="gd", loss="mae", max_epochs=2000).fit(X, y)
    lad = QuantileRegressor(quantile=0.5, alpha=0.0, solver="highs").fit(X, y)
    best = np.mean(np.abs(lad.predict(X) - y))
    assert np.mean(np.abs(model.predict(X) - y)) == pytest.approx(best, rel=1e-4)
    np.testing.assert_allclose(model.coef_, lad.coef_, atol=0.05)
    assert model.n_epochs_ == 2000 == len(model.loss_curve_)


def test_models_accept_tensors_and_strided_arrays():
    X, y = regression_data()
    strided = np.repeat(X, 2, axis=1)[:, ::2]  # the same values, not contiguous
    reference = LinearRegression().fit(X, y)
    from_tensors = LinearRegression().fit(chainrule.tensor(strided), chainrule.tensor(y))
    np.testing.assert_allclose(from_tensors.coef_, reference.coef_, rtol=1e-4)
    labels = (y > np.median(y)).astype(np.int64)
    model = Perceptron(max_epochs=5).fit(chainrule.tensor(X), chainrule.tensor(labels))
    assert model.predict(chainrule.tensor(X)).shape == (len(X),)


def test_the_old_module_name_still_imports():
    """`chainrule.models` was the name before `chainrule.classic`; old notebooks use it."""
    from chainrule import models

    assert models.Perceptron is Perceptron
    assert models.LinearRegression is LinearRegression
