"""What a run is built from: the `--activation` and `--optimizer` names, the MLP, the
optimizer and the loss (all read from the declarations in nn.registry and optim.factory)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from chainrule import nn, optim

if TYPE_CHECKING:
    from chainrule.nn.parameter import Parameter

ACTIVATIONS: dict[str, type[nn.Module]] = nn.registry.activation_names()
"""`--activation` choices: every layer declared with an activation name (nn.registry)."""

OPTIMIZERS = optim.OPTIMIZER_NAMES


def build_model(
    n_features: int, hidden: tuple[int, ...], activation: str, n_outputs: int, dropout: float
) -> nn.Sequential:
    """An MLP: [Linear → activation (→ Dropout)] per hidden layer, then a Linear head."""
    return nn.mlp([n_features, *hidden, n_outputs], activation, dropout=dropout)


def make_optimizer(
    name: str, params: Iterable[Parameter], lr: float, weight_decay: float
) -> optim.Optimizer:
    return optim.by_name(name, params, lr, weight_decay)


def loss_for(classification: bool) -> nn.Module:
    """Cross-entropy on logits for classes, mean squared error for regression."""
    return nn.CrossEntropyLoss() if classification else nn.MSELoss()
