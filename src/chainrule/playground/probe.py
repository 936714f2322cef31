"""The backprop view: forward and backward for one data point, every number the page shows.

For each layer, z = W h + b (before the activation) and a = f(z) (after), with their
gradients ∂L/∂z and ∂L/∂a, the local derivative f'(z), the weights and their gradients
∂L/∂W, ∂L/∂b; for the input, ∂L/∂x; and the chain of backward nodes that ran, recorded
with `chainrule.autograd.observe_backward`. All of it is chainrule's own backward pass on
the probed point alone (batch of one), so the panel shows what the engine computes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

import chainrule
from chainrule import nn
from chainrule.playground import network
from chainrule.playground.encoding import number, numbers

if TYPE_CHECKING:
    from chainrule.playground.session import Session

MAX_GATES = 40  # backward nodes listed


def backprop(session: Session) -> dict[str, Any]:
    """The probed point's forward and backward (the session has a `probe`)."""
    assert session.probe is not None
    split, index = session.probe
    data, model, config = session.data, session.model, session.config
    row = index if split == "train" else data.n_train + index
    x = session.x_all[row : row + 1]
    target = data.labels[row : row + 1]
    gates: list[dict[str, Any]] = []

    def observe(node: Any, upstream: np.ndarray, downstream: Any) -> None:
        norm = number(float(np.linalg.norm(upstream)), 4)
        gates.append({"node": node.name, "upstream_norm": norm})

    modules = list(model)
    h = inputs = chainrule.tensor(x, requires_grad=True)
    records: list[dict[str, Any]] = []
    i = 0
    while i < len(modules):
        linear = modules[i]
        assert isinstance(linear, nn.Linear)
        z = linear(h)
        z.retain_grad()
        a = z
        activation = "linear"
        if i + 1 < len(modules) and not isinstance(modules[i + 1], nn.Linear):
            a = modules[i + 1](z)
            a.retain_grad()
            activation = network.ACTIVATION_NAMES.get(type(modules[i + 1]).__name__, "?")
            i += 1
        records.append({"linear": linear, "input": h, "z": z, "a": a, "act": activation})
        h = a
        i += 1
    loss = network.data_loss(h, target, config)
    model.zero_grad()
    with chainrule.autograd.observe_backward(observe):
        loss.backward()
    layers = [_layer(record, modules) for record in records]
    model.zero_grad()
    prediction = network.probabilities(h._data, config)
    return {
        "split": split,
        "index": index,
        "point": numbers(data.points[row]),
        "label": number(float(target[0])),
        "inputs": numbers(x[0]),
        "dinputs": numbers(inputs.grad._data[0]) if inputs.grad is not None else None,
        "loss": number(loss.item()),
        "prediction": numbers(np.atleast_1d(prediction[0])),
        "learning_rate": config.learning_rate,
        "optimizer": config.optimizer,
        "layers": layers,
        "gates": gates[:MAX_GATES],
    }


def _layer(record: dict[str, Any], modules: list[nn.Module]) -> dict[str, Any]:
    """One layer's numbers after the backward pass."""
    linear, z, a = record["linear"], record["z"], record["a"]
    assert linear.bias is not None and linear.weight.grad is not None
    local = activation_derivative(record["act"], z._data, modules, linear)
    return {
        "activation": record["act"],
        "z": numbers(z._data[0]),
        "a": numbers(a._data[0]),
        "dz": numbers(z.grad.numpy()[0]) if z.grad is not None else None,
        "da": numbers(a.grad.numpy()[0]) if a.grad is not None else None,
        "local": numbers(local[0]),
        "w": numbers(linear.weight._data),
        "b": numbers(linear.bias._data),
        "dw": numbers(linear.weight.grad.numpy()),
        "db": numbers(linear.bias.grad.numpy()) if linear.bias.grad is not None else None,
    }


def activation_derivative(
    activation: str, z: np.ndarray, modules: list[nn.Module], linear: nn.Linear
) -> np.ndarray:
    """f'(z) of the activation after `linear`, by chainrule's own backward on a copy of z."""
    if activation == "linear":
        return np.ones_like(z)
    position = modules.index(linear)
    point = chainrule.tensor(z.copy(), requires_grad=True)
    modules[position + 1](point).sum().backward()
    assert point.grad is not None
    return point.grad.numpy()
