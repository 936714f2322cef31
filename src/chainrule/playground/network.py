"""Build the playground's network, optimizer and loss with chainrule, from a config.

The model is a plain `nn.Sequential` of `Linear` layers and activations, so a checkpoint of
it loads with `chainrule.load` and the exported script rebuilds it with ordinary code. The
output layer has one unit (binary classification: a logit; regression: the value) or one
unit per class (multi-class: logits, softmax in the loss).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import chainrule
import chainrule.nn.functional as F
from chainrule import nn, optim
from chainrule.nn import init
from chainrule.playground import messages
from chainrule.playground.messages import PlaygroundConfig
from chainrule.tensor import Tensor

ACTIVATIONS: dict[str, type[nn.Module] | None] = {
    name: nn.registry.activation_layer(name) for name in messages.ACTIVATIONS
}
ACTIVATION_NAMES = {cls.__name__: name for name, cls in ACTIVATIONS.items() if cls is not None}


def output_size(config: PlaygroundConfig, num_classes: int) -> int:
    return num_classes if config.problem == "classification" and num_classes > 2 else 1


def build_model(config: PlaygroundConfig, num_classes: int) -> nn.Sequential:
    """Linear layers with the chosen activations, initialised from the config's seed."""
    sizes = [len(config.features), *config.layers, output_size(config, num_classes)]
    model = nn.mlp(sizes, config.activations)
    initialise(model, config)
    return model


def linear_layers(model: nn.Sequential) -> list[nn.Linear]:
    return [m for m in model if isinstance(m, nn.Linear)]


def initialise(model: nn.Sequential, config: PlaygroundConfig) -> None:
    """zeros / uniform(±0.5) with bias 0.1 (TensorFlow Playground's) / Xavier / He."""
    generator = chainrule.Generator().manual_seed(config.seed + 7919)
    for layer in linear_layers(model):
        weight, bias = layer.weight, layer.bias
        assert bias is not None
        if config.init == "zeros":
            init.zeros_(weight)
            init.zeros_(bias)
        elif config.init == "uniform":
            init.uniform_(weight, -0.5, 0.5, generator=generator)
            init.constant_(bias, 0.1)
        elif config.init == "xavier":
            init.xavier_uniform_(weight, generator=generator)
            init.zeros_(bias)
        else:
            init.kaiming_uniform_(weight, nonlinearity="relu", generator=generator)
            init.zeros_(bias)


def build_optimizer(model: nn.Module, config: PlaygroundConfig) -> optim.Optimizer:
    return optim.by_name(config.optimizer, list(model.parameters()), config.learning_rate)


def data_loss(
    output: Tensor, target: np.ndarray, config: PlaygroundConfig, reduction: str = "mean"
) -> Tensor:
    """The loss the page shows: cross-entropy or MSE on probabilities (classification) or
    MSE on the value (regression)."""
    if config.problem == "regression":
        return F.mse_loss(
            output[:, 0], chainrule.tensor(target.astype(np.float32)), reduction=reduction
        )
    if output.shape[1] == 1:
        labels = chainrule.tensor(target.astype(np.float32))
        if config.loss == "cross_entropy":
            return F.binary_cross_entropy_with_logits(output[:, 0], labels, reduction=reduction)
        return F.mse_loss(F.sigmoid(output[:, 0]), labels, reduction=reduction)
    classes = chainrule.tensor(target.astype(np.int64))
    if config.loss == "cross_entropy":
        return F.cross_entropy(output, classes, reduction=reduction)
    one_hot = np.eye(output.shape[1], dtype=np.float32)[target.astype(np.int64)]
    squared = F.mse_loss(F.softmax(output, 1), chainrule.tensor(one_hot), reduction="none").sum(1)
    return squared.mean() if reduction == "mean" else squared


def penalty(model: nn.Sequential, config: PlaygroundConfig) -> Tensor | None:
    """rate * Σ|w| (L1) or rate * ½Σw² (L2) over the weights (not the biases), or None."""
    if config.regularization == "none" or config.reg_rate == 0:
        return None
    total: Any = 0.0
    for layer in linear_layers(model):
        w = layer.weight
        total = total + (w.abs().sum() if config.regularization == "l1" else 0.5 * (w * w).sum())
    return total * config.reg_rate


def probabilities(output: np.ndarray, config: PlaygroundConfig) -> np.ndarray:
    """Network outputs -> class probabilities (n, C) (binary: (n, 2)); regression: values."""
    if config.problem == "regression":
        return output[:, 0]
    if output.shape[1] == 1:
        p = 1.0 / (1.0 + np.exp(-np.clip(output[:, 0], -60, 60)))
        return np.stack([1 - p, p], axis=1)
    shifted = np.exp(output - output.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def hidden_forward(model: nn.Sequential, x: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Forward without a graph: each hidden layer's activations (n, width) and the output."""
    hidden: list[np.ndarray] = []
    modules = list(model)
    with chainrule.no_grad():
        h = chainrule.tensor(x)
        for i, module in enumerate(modules):
            h = module(h)
            last_of_layer = i + 1 == len(modules) or isinstance(modules[i + 1], nn.Linear)
            if last_of_layer and i + 1 < len(modules):
                hidden.append(h.numpy())
    return hidden, h.numpy()


def layer_activations(model: nn.Sequential) -> list[str]:
    """The activation name after each hidden Linear ("linear" where there is none)."""
    names: list[str] = []
    modules = list(model)
    for i, module in enumerate(modules[:-1]):
        if isinstance(module, nn.Linear):
            following = modules[i + 1]
            names.append(
                "linear"
                if isinstance(following, nn.Linear)
                else ACTIVATION_NAMES.get(type(following).__name__, "linear")
            )
    return names
