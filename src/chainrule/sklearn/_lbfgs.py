"""``solver='lbfgs'``: scipy's L-BFGS-B on the full batch, gradients from chainrule."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

import chainrule
from chainrule import nn
from chainrule.sklearn import _network
from chainrule.tensor import Tensor


def _grad(parameter: Tensor) -> np.ndarray:
    assert parameter.grad is not None  # every parameter reaches the loss
    return parameter.grad._data


def fit_lbfgs(
    estimator: Any,
    network: nn.Sequential,
    X: Any,
    y: np.ndarray,
    sample_weight: np.ndarray | None,
) -> tuple[int, float]:
    """Minimise scikit-learn's objective over all parameters; returns (n_iter, loss).

    The parameters are packed as scikit-learn packs them (every ``coefs_`` raveled, then
    every ``intercepts_``), so ``max_iter``, ``max_fun`` and ``tol`` (scipy's ``gtol``)
    mean what they mean there.
    """
    coefs, intercepts = estimator.coefs_, estimator.intercepts_
    arrays = [*coefs, *intercepts]
    weights, biases = _network.parameters(network)
    dense = X.toarray() if hasattr(X, "toarray") else X
    inputs = chainrule.from_numpy(dense)
    out_activation = estimator.out_activation_
    target = _network.loss_target(out_activation, y, dense.dtype)
    sw_sum = float(dense.shape[0]) if sample_weight is None else float(sample_weight.sum())
    alpha = float(estimator.alpha)

    def unpack(packed: np.ndarray) -> None:
        start = 0
        for array in arrays:  # in place: the network's parameters are views of them
            array[...] = packed[start : start + array.size].reshape(array.shape)
            start += array.size

    def loss_and_grad(packed: np.ndarray) -> tuple[float, np.ndarray]:
        unpack(packed)
        for p in (*weights, *biases):
            p.grad = None
        loss, value = _network.batch_loss(
            out_activation, network(inputs), target, sample_weight, sw_sum
        )
        loss.backward()
        value += _network.penalty(coefs, alpha, sw_sum)
        grads = [_grad(w).T + (alpha / sw_sum) * c for w, c in zip(weights, coefs, strict=True)]
        grads += [_grad(b) for b in biases]
        return value, np.concatenate([g.ravel() for g in grads]).astype(np.float64)

    iterations = [0]

    def report(intermediate_result: Any) -> None:  # scipy passes the result by this name
        iterations[0] += 1
        print(f"Iteration {iterations[0]}, loss = {intermediate_result.fun:.8f}")

    result = scipy.optimize.minimize(
        loss_and_grad,
        np.concatenate([a.ravel() for a in arrays]),
        method="L-BFGS-B",
        jac=True,
        options={"maxfun": estimator.max_fun, "maxiter": estimator.max_iter, "gtol": estimator.tol},
        callback=report if estimator.verbose else None,
    )
    unpack(result.x)
    n_iter = min(int(result.nit), int(estimator.max_iter))
    if result.status != 0:
        message = (
            f"lbfgs failed to converge after {n_iter} iteration(s) (status={result.status}):\n"
            f"{result.message}\n"
        )
        if n_iter == estimator.max_iter:
            message += (
                "\nIncrease the number of iterations to improve the convergence "
                f"(max_iter={estimator.max_iter})."
            )
        warnings.warn(message, ConvergenceWarning, stacklevel=4)
    return n_iter, float(result.fun)
