"""The old name of `chainrule.classic` (Perceptron, LinearRegression), kept so notebooks and
scripts written with ``from chainrule.models import Perceptron`` keep working. New code
imports `chainrule.classic`: these are classic models, not neural-network ones (`chainrule.nn`).
"""

from chainrule.classic import LinearRegression, Perceptron

__all__ = ["LinearRegression", "Perceptron"]
