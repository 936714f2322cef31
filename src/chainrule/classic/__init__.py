"""Classic models of the course, with scikit-learn's `fit` / `predict` / `score`.

`Perceptron` (Rosenblatt, 1958: a step activation and the perceptron rule, no gradients) and
`LinearRegression` (closed form or gradient descent, MSE or MAE).
"""

from chainrule.classic.linear_regression import LinearRegression
from chainrule.classic.perceptron import Perceptron

__all__ = ["LinearRegression", "Perceptron"]
