"""Linear regression y = Xw + b, fitted in closed form or by gradient descent.

Closed form (MSE only): with a column of ones appended to X for the bias,

    ŵ = argmin ‖Xw - y‖² = (XᵀX)⁻¹Xᵀy

computed with `np.linalg.lstsq` (an SVD) rather than by inverting XᵀX: inverting squares
the condition number, and when XᵀX is singular (a feature that repeats another one) there
is no inverse at all; lstsq then returns the minimum-norm solution and we warn.

Gradient descent (MSE or MAE): w ← w - η ∂L/∂w with the gradient from chainrule's autograd.
MAE = mean |Xw - y| has no closed form (|·| is not differentiable at 0 and its minimiser is
a median, not a linear solve), so it can only be fitted this way.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

import chainrule
from chainrule.classic.arrays import as_matrix
from chainrule.nn import functional as F

_LOSSES = ("mse", "mae")
_METHODS = ("normal", "gd")
# cond(XᵀX) = cond(X)²; beyond this the solution loses most of float64's 16 digits
_ILL_CONDITIONED = 1e12


class LinearRegression:
    """Least-squares (or least-absolute) linear regression.

    Args:
        method: 'normal' for the closed form (XᵀX)⁻¹Xᵀy, 'gd' for gradient descent.
        loss: 'mse' or 'mae' ('mae' needs method='gd': it has no closed form).
        lr: η for gradient descent.
        max_epochs: gradient-descent steps (full batch: every step sees all rows).
        tol: stop early (MSE) once every gradient entry is below tol (standardised units).
        fit_intercept: learn the bias b (a column of ones in X).

    Gradient descent runs on standardised columns (zero mean, unit variance for X and y) so
    one learning rate suits features of any scale, e.g. an apartment's area in m² next to
    its number of rooms; the weights are mapped back to the original units afterwards. The
    loss curve is in standardised units too. MAE's gradient does not shrink near the minimum
    (each row contributes ±x), so a constant step keeps hopping around it: for MAE the step
    decays as η/√(1 + epoch/10) and all max_epochs steps run.

    Attributes (after `fit`):
        coef_: w, shape (n_features,) (or (n_targets, n_features) for a 2-D y).
        intercept_: b, a float (or (n_targets,)).
        loss_curve_: the training loss per gradient step ('normal': the final MSE only).
        n_epochs_: gradient steps taken ('gd' only).
        rank_: rank of the design matrix ('normal' only).

    Example::

        >>> model = LinearRegression().fit(X, y)            # closed form
        >>> LinearRegression(method="gd", loss="mae").fit(X, y).score(X, y)
    """

    def __init__(
        self,
        method: str = "normal",
        loss: str = "mse",
        lr: float = 0.1,
        max_epochs: int = 1000,
        tol: float = 1e-7,
        fit_intercept: bool = True,
    ) -> None:
        if method not in _METHODS:
            raise ValueError(f"LinearRegression: method must be one of {_METHODS}, got {method!r}")
        if loss not in _LOSSES:
            raise ValueError(f"LinearRegression: loss must be one of {_LOSSES}, got {loss!r}")
        if method == "normal" and loss == "mae":
            raise ValueError("MAE has no closed form; use method='gd'")
        if lr <= 0 or max_epochs < 1:
            raise ValueError(
                f"LinearRegression: need lr > 0 and max_epochs >= 1, got {lr}, {max_epochs}"
            )
        self.method, self.loss, self.lr = method, loss, lr
        self.max_epochs, self.tol, self.fit_intercept = max_epochs, tol, fit_intercept

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any) -> LinearRegression:
        """Fit w and b to the rows of X (n, features) and the targets y (n,) or (n, k)."""
        X = as_matrix(X)
        target = np.asarray(y, dtype=np.float64)
        if target.shape[0] != X.shape[0] or target.ndim > 2:
            raise ValueError(
                f"LinearRegression.fit: X has {X.shape[0]} rows but y has shape {target.shape}"
            )
        Y = target.reshape(len(target), -1)
        W, b = self._fit_normal(X, Y) if self.method == "normal" else self._fit_gd(X, Y)
        one_target = target.ndim == 1
        self.coef_ = W[:, 0] if one_target else W.T
        self.intercept_ = float(b[0]) if one_target else b
        return self

    def _design(self, X: np.ndarray) -> np.ndarray:
        """X with a column of ones prepended for the bias (the lectures' layout)."""
        if not self.fit_intercept:
            return X
        return np.column_stack([np.ones(len(X)), X])

    def _fit_normal(self, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        design = self._design(X)
        solution, _, self.rank_, singular_values = np.linalg.lstsq(design, Y, rcond=None)
        columns = design.shape[1]
        if self.rank_ < columns:
            warnings.warn(
                f"XᵀX is singular: the design matrix has rank {self.rank_} < {columns} columns "
                "(some features are linear combinations of others, or there are fewer rows "
                "than columns), so (XᵀX)⁻¹ does not exist and the weights are not unique; "
                "returning the minimum-norm least-squares solution. Drop the redundant "
                "features for interpretable weights.",
                RuntimeWarning,
                stacklevel=3,
            )
        elif (singular_values[0] / singular_values[-1]) ** 2 > _ILL_CONDITIONED:
            condition = (singular_values[0] / singular_values[-1]) ** 2
            warnings.warn(
                f"XᵀX is ill-conditioned (condition number {condition:.1e}): the features are "
                "nearly linearly dependent (or of wildly different scales), so the weights are "
                "unreliable: tiny changes in the data change them a lot.",
                RuntimeWarning,
                stacklevel=3,
            )
        residual = design @ solution - Y
        self.loss_curve_ = [float(np.mean(residual**2))]
        if self.fit_intercept:
            return solution[1:], solution[0]
        return solution, np.zeros(Y.shape[1])

    def _fit_gd(self, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # standardise, so one learning rate fits every column (undone at the end)
        x_mean = X.mean(axis=0) if self.fit_intercept else np.zeros(X.shape[1])
        y_mean = Y.mean(axis=0) if self.fit_intercept else np.zeros(Y.shape[1])
        x_scale, y_scale = _scale(X), _scale(Y)
        inputs = chainrule.tensor((X - x_mean) / x_scale, dtype=chainrule.float64)
        targets = chainrule.tensor((Y - y_mean) / y_scale, dtype=chainrule.float64)
        w = chainrule.zeros(X.shape[1], Y.shape[1], dtype=chainrule.float64, requires_grad=True)
        b = chainrule.zeros(Y.shape[1], dtype=chainrule.float64, requires_grad=self.fit_intercept)
        loss_fn = F.mse_loss if self.loss == "mse" else F.l1_loss
        self.loss_curve_ = []
        self.n_epochs_ = 0
        for epoch in range(self.max_epochs):
            lr = self.lr if self.loss == "mse" else self.lr / np.sqrt(1 + epoch / 10)
            loss = loss_fn(inputs @ w + b, targets)  # forward
            loss.backward()  # backward: w.grad = ∂L/∂w
            self.loss_curve_.append(loss.item())
            self.n_epochs_ = epoch + 1
            params = (w, b) if self.fit_intercept else (w,)
            steepest = max(float(np.abs(p.grad._data).max()) for p in params if p.grad is not None)
            if self.loss == "mse" and steepest < self.tol:
                break  # at the minimum (MAE's gradient never shrinks: it runs all epochs)
            with chainrule.no_grad():  # update: w ← w - η ∂L/∂w
                for param in params:
                    assert param.grad is not None
                    param -= lr * param.grad
                    param.grad = None
        # undo the standardisation: ŷ = y_scale·((x - x_mean)/x_scale · w + b) + y_mean
        W = w.detach().numpy() * y_scale / x_scale[:, None]
        bias = y_mean + y_scale * b.detach().numpy() - x_mean @ W
        return W, bias

    # ------------------------------------------------------------------ using the model
    def predict(self, X: Any) -> np.ndarray:
        """ŷ = Xw + b."""
        return as_matrix(X) @ np.asarray(self.coef_).T + self.intercept_

    def score(self, X: Any, y: Any) -> float:
        """R² = 1 - Σ(y - ŷ)² / Σ(y - ȳ)²: 1 is perfect, 0 is as good as predicting the mean."""
        target = np.asarray(y, dtype=np.float64)
        residual = ((target - self.predict(X)) ** 2).sum()
        total = ((target - target.mean(axis=0)) ** 2).sum()
        return float(1 - residual / total)

    def __repr__(self) -> str:
        return f"LinearRegression(method={self.method!r}, loss={self.loss!r})"


def _scale(A: np.ndarray) -> np.ndarray:
    """Each column's standard deviation (1 for a constant column, which has nothing to scale)."""
    std = A.std(axis=0)
    return np.where(std > 0, std, 1.0)
