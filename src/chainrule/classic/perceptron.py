"""Rosenblatt's perceptron (1958): y = [w·x + b > 0], trained by the perceptron rule.

No gradients: the step function's derivative is 0 almost everywhere. Instead, every
misclassified sample nudges the weights towards (or away from) itself::

    ŷ = [w·x + b > 0]
    w ← w + η (y - ŷ) x
    b ← b + η (y - ŷ)

A correct answer gives y - ŷ = 0, so nothing changes. On linearly separable data the rule
stops after finitely many mistakes (Novikoff, 1962); on XOR it never does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.classic.arrays import as_matrix


def step(t: np.ndarray) -> np.ndarray:
    """The perceptron's activation: 1 where t > 0, else 0."""
    return (t > 0).astype(np.int64)


class Perceptron:
    """A single neuron with the step activation, trained by the perceptron learning rule.

    Args:
        lr: η, the size of each correction. With the default zero start the learned
            boundary does not depend on it (w and b just scale), only their size does.
        max_epochs: passes over the data before giving up (XOR never converges).
        shuffle: visit the samples in a new random order every epoch.
        seed: seeds that order, so a run is reproducible.

    Attributes (after `fit`):
        coef_: w, shape (n_features,).
        intercept_: b, a float.
        classes_: the two labels; the second one is the "positive" class (ŷ = 1).
        n_epochs_: epochs run.
        converged_: True when an epoch ended with every training sample classified right.
        errors_: misclassified training samples after each epoch.

    Example::

        >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
        >>> Perceptron().fit(X, [0, 0, 0, 1]).predict(X)          # AND
        array([0, 0, 0, 1])
    """

    def __init__(
        self, lr: float = 1.0, max_epochs: int = 100, shuffle: bool = True, seed: int = 0
    ) -> None:
        if lr <= 0:
            raise ValueError(f"Perceptron: lr must be > 0, got {lr}")
        if max_epochs < 1:
            raise ValueError(f"Perceptron: max_epochs must be >= 1, got {max_epochs}")
        self.lr, self.max_epochs, self.shuffle, self.seed = lr, max_epochs, shuffle, seed

    def fit(self, X: Any, y: Any) -> Perceptron:
        """Run the perceptron rule until an epoch makes no mistake or max_epochs is reached."""
        X = as_matrix(X)
        y = np.asarray(y).ravel()
        if len(y) != len(X):
            raise ValueError(f"Perceptron.fit: X has {len(X)} rows but y has {len(y)} labels")
        self.classes_, target = np.unique(y, return_inverse=True)
        if len(self.classes_) > 2:
            raise ValueError(
                f"Perceptron is a binary classifier; y has {len(self.classes_)} classes"
            )
        rng = np.random.default_rng(self.seed)
        self.coef_ = np.zeros(X.shape[1])
        self.intercept_ = 0.0
        self.errors_: list[int] = []
        self.n_epochs_ = 0
        self.converged_ = self._mistakes(X, target) == 0
        while not self.converged_ and self.n_epochs_ < self.max_epochs:
            order = rng.permutation(len(X)) if self.shuffle else np.arange(len(X))
            self._epoch(X[order], target[order])
            self.n_epochs_ += 1
            self.errors_.append(self._mistakes(X, target))  # one vectorised pass
            self.converged_ = self.errors_[-1] == 0
        return self

    def _epoch(self, X: np.ndarray, target: np.ndarray) -> None:
        # A loop over samples on purpose: the perceptron rule IS sequential: each update
        # changes the weights the next sample is judged by. (A batched version is a
        # different algorithm.) Everything else in this class is vectorised.
        w, b, lr = self.coef_, self.intercept_, self.lr
        for x, y in zip(X, target, strict=True):
            error = y - (x @ w + b > 0)  # -1, 0 or +1
            if error:
                w += lr * error * x
                b += lr * error
        self.intercept_ = float(b)

    def _mistakes(self, X: np.ndarray, target: np.ndarray) -> int:
        return int((step(X @ self.coef_ + self.intercept_) != target).sum())

    def decision_function(self, X: Any) -> np.ndarray:
        """w·x + b for each row: positive means the second class."""
        return as_matrix(X) @ self.coef_ + self.intercept_

    def predict(self, X: Any) -> np.ndarray:
        """The class of each row: classes_[[w·x + b > 0]]."""
        return self.classes_[step(self.decision_function(X))]

    def score(self, X: Any, y: Any) -> float:
        """Accuracy: the fraction of rows classified right."""
        return float(np.mean(self.predict(X) == np.asarray(y).ravel()))

    def __repr__(self) -> str:
        return f"Perceptron(lr={self.lr}, max_epochs={self.max_epochs}, seed={self.seed})"
