"""One epoch of the same training for each contender. Each `prepare_*` returns a callable
that runs one epoch (so setup is never timed), or with (start, stop) the batches of the
samples start..stop only, so that the timing can alternate contenders within an epoch; all
start from the same weights.

PyTorch and JAX are prepared here too, but `benchmarks.run` runs each of them in a worker
process of its own (benchmarks/worker.py): their thread pools slow each other, and NumPy,
down when they share a process.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.workloads import ADAM_LR, LEARNING_RATE, Workload, make_weights

Epoch = Callable[..., None]  # epoch() or epoch(start, stop): batches of samples start..stop
WHOLE_EPOCHS_ONLY = {"sklearn"}  # MLPClassifier.fit runs the epoch: it cannot be cut
IN_WORKERS = {"pytorch", "jax"}  # each in a process of its own (benchmarks/worker.py)


def _chainrule_model(workload: Workload) -> Any:
    """Sequential(Linear, act, ..., Linear) holding the shared starting weights."""
    from chainrule import nn

    activation = {"relu": nn.ReLU, "tanh": nn.Tanh}[workload.activation]
    layers: list[nn.Module] = []
    for i, (W, b) in enumerate(make_weights(workload)):
        linear = nn.Linear(W.shape[1], W.shape[0])
        linear.weight.detach().numpy()[...] = W
        linear.bias.detach().numpy()[...] = b
        layers += [linear, activation()] if i < len(workload.layers) - 2 else [linear]
    return nn.Sequential(*layers)


def _chainrule_optimizer(workload: Workload, model: Any) -> Any:
    from chainrule import optim

    if workload.optimizer == "adam":
        return optim.Adam(model.parameters(), lr=ADAM_LR)
    return optim.SGD(model.parameters(), lr=LEARNING_RATE)


def prepare_chainrule(workload: Workload, X: np.ndarray, y: np.ndarray) -> Epoch:
    """The public API, as a user writes it."""
    import chainrule
    import chainrule.nn.functional as F

    model = _chainrule_model(workload)
    optimizer = _chainrule_optimizer(workload, model)
    loss_fn = F.mse_loss if workload.loss == "mse" else F.cross_entropy
    inputs, targets = chainrule.from_numpy(X), chainrule.from_numpy(y)  # share, as torch

    def epoch(first: int = 0, stop: int | None = None) -> None:
        for start in range(first, workload.samples if stop is None else stop, workload.batch):
            xb = inputs[start : start + workload.batch]
            yb = targets[start : start + workload.batch]
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    return epoch


def prepare_chainrule_captured(workload: Workload, X: np.ndarray, y: np.ndarray) -> Epoch:
    """The same model and loop, through `chainrule.compile_step` (record once, replay)."""
    import chainrule
    from chainrule import nn

    model = _chainrule_model(workload)
    loss_fn = nn.MSELoss() if workload.loss == "mse" else nn.CrossEntropyLoss()
    step = chainrule.compile_step(model, loss_fn, _chainrule_optimizer(workload, model))
    inputs, targets = chainrule.from_numpy(X), chainrule.from_numpy(y)  # share, as torch

    def epoch(first: int = 0, stop: int | None = None) -> None:
        for start in range(first, workload.samples if stop is None else stop, workload.batch):
            step(inputs[start : start + workload.batch], targets[start : start + workload.batch])

    return epoch


def prepare_torch(workload: Workload, X: np.ndarray, y: np.ndarray) -> Epoch:
    """PyTorch eager, the same model and loop."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    activation = {"relu": nn.ReLU, "tanh": nn.Tanh}[workload.activation]
    layers: list[nn.Module] = []
    for i, (W, b) in enumerate(make_weights(workload)):
        linear = nn.Linear(W.shape[1], W.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear, activation()] if i < len(workload.layers) - 2 else [linear]
    model = nn.Sequential(*layers)
    if workload.optimizer == "adam":
        optimizer: Any = torch.optim.Adam(model.parameters(), lr=ADAM_LR)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    loss_fn = F.mse_loss if workload.loss == "mse" else F.cross_entropy
    inputs, targets = torch.from_numpy(X), torch.from_numpy(y)

    def epoch(first: int = 0, stop: int | None = None) -> None:
        for start in range(first, workload.samples if stop is None else stop, workload.batch):
            xb = inputs[start : start + workload.batch]
            yb = targets[start : start + workload.batch]
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    return epoch


def prepare_jax(workload: Workload, X: np.ndarray, y: np.ndarray) -> Epoch:
    from benchmarks.jax_contender import prepare_jax as prepare

    return prepare(workload, X, y)


def prepare_sklearn(workload: Workload, X: np.ndarray, y: np.ndarray) -> Epoch:
    """scikit-learn's MLPClassifier (solver sgd) or, for the regression, MLPRegressor
    (solver adam), one epoch (max_iter=1)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    settings: dict[str, Any] = {
        "hidden_layer_sizes": workload.layers[1:-1],
        "activation": workload.activation,
        "alpha": 0.0,
        "batch_size": workload.batch,
        "max_iter": 1,
        "shuffle": False,
        "random_state": 0,
    }
    if workload.optimizer == "adam":
        settings.update(solver="adam", learning_rate_init=ADAM_LR)
    else:
        settings.update(solver="sgd", learning_rate_init=LEARNING_RATE, momentum=0.0)
    targets = y.ravel() if workload.loss == "mse" and y.shape[1] == 1 else y

    def epoch() -> None:  # whole epochs only (WHOLE_EPOCHS_ONLY)
        kind = MLPRegressor if workload.loss == "mse" else MLPClassifier
        model = kind(**settings)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, targets)

    return epoch


def prepare_numpy(workload: Workload, X: np.ndarray, y: np.ndarray) -> Epoch:
    """Hand-written vectorised forward and backward, no autodiff: the ceiling for NumPy.
    In place wherever the arrays are its own (ReLU, tanh's derivative, the softmax)."""
    params = [p.copy() for W, b in make_weights(workload) for p in (W, b)]
    lr = np.float32(LEARNING_RATE)
    tanh = workload.activation == "tanh"
    adam = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    steps = [0]
    beta1, beta2, eps = 0.9, 0.999, 1e-8

    def update(grads: list[np.ndarray]) -> None:
        if workload.optimizer != "adam":
            for p, g in zip(params, grads, strict=True):
                p -= lr * g
            return
        steps[0] += 1
        t = steps[0]
        step_size = ADAM_LR / (1 - beta1**t)
        root = np.sqrt(1 - beta2**t)
        for p, g, (m, v) in zip(params, grads, adam, strict=True):
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * (g * g)
            denom = np.sqrt(v)
            denom /= root
            denom += eps
            np.divide(m, denom, out=denom)
            denom *= step_size
            p -= denom

    def epoch(first: int = 0, stop: int | None = None) -> None:
        for start in range(first, workload.samples if stop is None else stop, workload.batch):
            xb = X[start : start + workload.batch]
            yb = y[start : start + workload.batch]
            activations = [xb]
            h = xb
            layers = len(params) // 2
            for i in range(layers):
                h = h @ params[2 * i].T + params[2 * i + 1]
                if i < layers - 1:
                    if tanh:
                        np.tanh(h, out=h)
                    else:
                        np.maximum(h, 0, out=h)
                activations.append(h)
            out = activations[-1]
            if workload.loss == "mse":  # mean((h - y)²): dh = 2 (h - y) / size
                grad = out - yb
                grad *= np.float32(2 / grad.size)
            else:  # (softmax - onehot) / N
                out -= out.max(axis=1, keepdims=True)
                np.exp(out, out=out)
                out /= out.sum(axis=1, keepdims=True)
                grad = out
                grad[np.arange(len(yb)), yb] -= 1
                grad /= np.float32(len(yb))
            grads: list[np.ndarray] = [np.empty(0)] * len(params)
            for i in range(layers - 1, -1, -1):
                inputs = activations[i]
                grads[2 * i] = grad.T @ inputs
                grads[2 * i + 1] = grad.sum(axis=0)
                if i > 0:
                    grad = grad @ params[2 * i]
                    if tanh:  # tanh' = 1 - h²
                        np.square(inputs, out=inputs)
                        np.subtract(1, inputs, out=inputs)
                        grad *= inputs
                    else:
                        grad *= inputs > 0
            update(grads)

    return epoch


CONTENDERS: dict[str, Callable[[Workload, np.ndarray, np.ndarray], Epoch]] = {
    "chainrule": prepare_chainrule,
    "chainrule captured": prepare_chainrule_captured,
    "pytorch": prepare_torch,
    "jax": prepare_jax,
    "sklearn": prepare_sklearn,
    "numpy": prepare_numpy,
}
