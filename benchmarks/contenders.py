"""One epoch of the same training for each contender. Each `prepare_*` returns a callable
that runs one epoch (so setup is never timed), or with (start, stop) the batches of the
samples start..stop only, so that the timing can alternate contenders within an epoch; all
start from the same weights."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.workloads import LEARNING_RATE, Workload, make_weights

Epoch = Callable[..., None]  # epoch() or epoch(start, stop): batches of samples start..stop
WHOLE_EPOCHS_ONLY = {"sklearn"}  # MLPClassifier.fit runs the epoch: it cannot be cut


def _chainrule_model(workload: Workload) -> Any:
    """Sequential(Linear, ReLU, ..., Linear) holding the shared starting weights."""
    from chainrule import nn

    layers: list[nn.Module] = []
    for i, (W, b) in enumerate(make_weights(workload)):
        linear = nn.Linear(W.shape[1], W.shape[0])
        linear.weight.detach().numpy()[...] = W
        linear.bias.detach().numpy()[...] = b
        layers += [linear, nn.ReLU()] if i < len(workload.layers) - 2 else [linear]
    return nn.Sequential(*layers)


def prepare_chainrule(workload: Workload, X: np.ndarray, y: np.ndarray) -> Epoch:
    """The public API, as a user writes it."""
    import chainrule
    import chainrule.nn.functional as F
    from chainrule import optim

    model = _chainrule_model(workload)
    optimizer = optim.SGD(model.parameters(), lr=LEARNING_RATE)
    inputs, targets = chainrule.from_numpy(X), chainrule.from_numpy(y)  # share, as torch

    def epoch(first: int = 0, stop: int | None = None) -> None:
        for start in range(first, workload.samples if stop is None else stop, workload.batch):
            xb = inputs[start : start + workload.batch]
            yb = targets[start : start + workload.batch]
            loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    return epoch


def prepare_chainrule_captured(workload: Workload, X: np.ndarray, y: np.ndarray) -> Epoch:
    """The same model and loop, through `chainrule.compile_step` (record once, replay)."""
    import chainrule
    from chainrule import nn, optim

    model = _chainrule_model(workload)
    step = chainrule.compile_step(
        model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=LEARNING_RATE)
    )
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

    layers: list[nn.Module] = []
    for i, (W, b) in enumerate(make_weights(workload)):
        linear = nn.Linear(W.shape[1], W.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear, nn.ReLU()] if i < len(workload.layers) - 2 else [linear]
    model = nn.Sequential(*layers)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    inputs, targets = torch.from_numpy(X), torch.from_numpy(y)

    def epoch(first: int = 0, stop: int | None = None) -> None:
        for start in range(first, workload.samples if stop is None else stop, workload.batch):
            xb = inputs[start : start + workload.batch]
            yb = targets[start : start + workload.batch]
            loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    return epoch


def prepare_sklearn(workload: Workload, X: np.ndarray, y: np.ndarray) -> Epoch:
    """scikit-learn's MLPClassifier, solver sgd, one epoch (max_iter=1)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    def epoch() -> None:  # whole epochs only (WHOLE_EPOCHS_ONLY)
        model = MLPClassifier(
            hidden_layer_sizes=workload.layers[1:-1],
            solver="sgd",
            learning_rate_init=LEARNING_RATE,
            momentum=0.0,
            alpha=0.0,
            batch_size=workload.batch,
            max_iter=1,
            shuffle=False,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)

    return epoch


def prepare_numpy(workload: Workload, X: np.ndarray, y: np.ndarray) -> Epoch:
    """Hand-written vectorised forward and backward, no autodiff: the ceiling for NumPy."""
    params = [(W.copy(), b.copy()) for W, b in make_weights(workload)]
    lr = np.float32(LEARNING_RATE)

    def epoch(first: int = 0, stop: int | None = None) -> None:
        for start in range(first, workload.samples if stop is None else stop, workload.batch):
            xb = X[start : start + workload.batch]
            yb = y[start : start + workload.batch]
            activations = [xb]
            h = xb
            for i, (W, b) in enumerate(params):
                h = h @ W.T + b
                if i < len(params) - 1:
                    np.maximum(h, 0, out=h)
                activations.append(h)
            logits = activations[-1]
            logits -= logits.max(axis=1, keepdims=True)
            np.exp(logits, out=logits)
            logits /= logits.sum(axis=1, keepdims=True)
            grad = logits
            grad[np.arange(len(yb)), yb] -= 1
            grad /= np.float32(len(yb))
            for i in range(len(params) - 1, -1, -1):
                W, b = params[i]
                inputs = activations[i]
                grad_W = grad.T @ inputs
                grad_b = grad.sum(axis=0)
                if i > 0:
                    grad = grad @ W
                    grad *= inputs > 0
                W -= lr * grad_W
                b -= lr * grad_b

    return epoch


CONTENDERS: dict[str, Callable[[Workload, np.ndarray, np.ndarray], Epoch]] = {
    "chainrule": prepare_chainrule,
    "chainrule captured": prepare_chainrule_captured,
    "pytorch": prepare_torch,
    "sklearn": prepare_sklearn,
    "numpy": prepare_numpy,
}
