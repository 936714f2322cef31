"""What the page draws: the data message and a frame (losses, weights, heatmaps, health).

A frame holds the losses and accuracies, the weights and biases, the 100x100 output
heatmap and a 20x20 heatmap per neuron (base64 bytes), the gradient norms and dead-unit
fractions, and the backprop view of the probed point. One vectorised forward pass covers
the output grid, the neuron grid and every data point; the heatmaps and losses are slices
of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

import chainrule
from chainrule.playground import network, probe
from chainrule.playground.encoding import (
    class_bytes,
    column_bytes,
    number,
    numbers,
    rounded,
    unit_bytes,
)

if TYPE_CHECKING:
    from chainrule.playground.session import Session

OUTPUT_GRID = 100
NEURON_GRID = 20


def data_message(session: Session) -> dict[str, Any]:
    """The training and test points (the page draws them over the output)."""
    data = session.data
    rows = np.column_stack([data.points, data.labels]).astype(np.float64)
    return {
        "type": "data",
        "train": rounded(rows[: data.n_train], 3),
        "test": rounded(rows[data.n_train :], 3),
        "num_classes": data.num_classes,
        "problem": session.config.problem,
        "dataset": session.config.dataset,
        "custom_points": len(session.custom),
        # your own points as added (unshuffled), for the page's URL hash
        "custom": rounded(session.custom, 3) if session.config.dataset == "custom" else [],
    }


def frame(session: Session, grad_norms: np.ndarray | None = None) -> dict[str, Any]:
    """Everything the page draws after a step: losses, weights, heatmaps, health."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        layers = network.linear_layers(session.model)
        g, m = len(session.grid_features), len(session.neuron_features)
        stacked = np.concatenate([session.grid_features, session.neuron_features, session.x_all])
        hidden, out = network.hidden_forward(session.model, stacked)
        n_train = session.data.n_train
        message: dict[str, Any] = {
            "type": "frame",
            "epoch": session.epoch,
            "step": session.steps,
            "playing": session.playing,
            "weights": [rounded(layer.weight._data) for layer in layers],
            "biases": [rounded(layer.bias._data) for layer in layers if layer.bias is not None],
            "activations": network.layer_activations(session.model),
            "output": output_heatmap(session, out[:g]),
            "output_grid": OUTPUT_GRID,
            "neurons": neuron_heatmaps(session, [h[g : g + m] for h in hidden]),
            "neuron_grid": NEURON_GRID,
            "grad_norms": None if grad_norms is None else numbers(grad_norms, 4),
            "dead_relu": dead_units(session, [h[g + m : g + m + n_train] for h in hidden]),
            "num_classes": session.num_classes,
            "divergence": session.divergence,
            "backprop": probe.backprop(session) if session.probe else None,
        }
        message.update(losses(session, out[g + m :]))
        if message["train_loss"] is not None and session.divergence is None:
            # the last weights with a finite loss on the data: what a divergence restores
            session.healthy = (
                session.steps,
                [p.detach().numpy().copy() for p in session.model.parameters()],
            )
    return message


def losses(session: Session, out: np.ndarray) -> dict[str, Any]:
    """Loss and accuracy on the training and test points, from their outputs `out`."""
    data, config = session.data, session.config
    n = data.n_train
    result: dict[str, Any] = {"confusion": None}
    with chainrule.no_grad():
        for name, o, y in (("train", out[:n], data.labels[:n]), ("test", out[n:], data.labels[n:])):
            result[f"{name}_loss"] = result[f"{name}_accuracy"] = None
            if len(o) == 0:
                continue
            loss = network.data_loss(chainrule.tensor(o), y, config)
            result[f"{name}_loss"] = number(loss.item())
            if config.problem == "classification":
                predicted = network.probabilities(o, config).argmax(axis=1)
                result[f"{name}_accuracy"] = number(float(np.mean(predicted == y)), 4)
                if name == "test":
                    result["confusion"] = confusion(y, predicted, max(2, data.num_classes))
    return result


def output_heatmap(session: Session, out: np.ndarray) -> dict[str, Any]:
    """The output over the 100x100 grid: a value in [-1, 1] or the winning class."""
    if session.config.problem == "regression":
        return {"kind": "value", "values": unit_bytes(out[:, 0])}
    probs = network.probabilities(out, session.config)
    if probs.shape[1] == 2:
        return {"kind": "value", "values": unit_bytes(2 * probs[:, 1] - 1)}
    winner, confidence = class_bytes(probs)
    return {"kind": "classes", "classes": winner, "confidence": confidence}


def neuron_heatmaps(session: Session, hidden: list[np.ndarray]) -> list[list[str]]:
    """Per layer (the inputs first), each neuron's values over the 20x20 grid as bytes."""
    features = session.neuron_features
    top = np.max(np.abs(features), axis=0)  # inputs such as x1² span far more than ±1
    scale = np.where((top > 0) & np.isfinite(top), top, 1.0)
    return [column_bytes(features / scale)] + [column_bytes(h) for h in hidden]


def dead_units(session: Session, hidden: list[np.ndarray]) -> list[float | None]:
    """Per hidden layer: the fraction of ReLU units that output 0 on every training point
    (None for other activations, which cannot die that way)."""
    acts = network.layer_activations(session.model)
    return [
        number(float(np.mean(np.all(h <= 0, axis=0))), 4) if act == "relu" and len(h) else None
        for h, act in zip(hidden, acts, strict=True)
    ]


def confusion(y: np.ndarray, predicted: np.ndarray, classes: int) -> list[list[int]]:
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (y.astype(np.int64), predicted.astype(np.int64)), 1)
    return matrix.tolist()
