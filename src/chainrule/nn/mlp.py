"""`mlp`: the multi-layer perceptron the command line, the playground and the scikit-learn
bridge all build (one builder, activation names from `chainrule.nn.registry`)."""

from __future__ import annotations

from collections.abc import Sequence

from chainrule.nn.modules.container import Sequential
from chainrule.nn.modules.dropout import Dropout
from chainrule.nn.modules.linear import Linear
from chainrule.nn.modules.module import Module
from chainrule.nn.registry import activation_layer
from chainrule.types import DTypeLike


def mlp(
    sizes: Sequence[int],
    activation: str | Sequence[str] = "relu",
    *,
    dropout: float = 0.0,
    dtype: DTypeLike = None,
) -> Sequential:
    """[Linear → activation (→ Dropout)] per hidden layer, then a Linear head, no output
    activation (the losses take logits).

    Args:
        sizes: widths from the input to the output, e.g. (4, 16, 16, 3): len(sizes) - 1
            Linear layers.
        activation: an activation name for every hidden layer, or one per hidden layer
            ('relu', 'tanh', ...; 'linear' or 'identity' for none, 'logistic' = 'sigmoid').
        dropout: the Dropout probability after each hidden activation (0: no Dropout layer).
        dtype: the Linear layers' dtype (float32 by default).

    Layers are created first to last, so the default generator draws their initial
    weights in the same order as writing the Sequential out by hand.
    """
    hidden = len(sizes) - 2
    if hidden < 0:
        raise ValueError(f"mlp: sizes needs an input and an output width, got {list(sizes)}")
    names = [activation] * hidden if isinstance(activation, str) else list(activation)
    if len(names) != hidden:
        raise ValueError(f"mlp: {len(names)} activations for {hidden} hidden layers")
    classes = [activation_layer(name) for name in names]  # unknown names fail before building
    layers: list[Module] = []
    for i, cls in enumerate(classes):
        layers.append(Linear(sizes[i], sizes[i + 1], dtype=dtype))
        if cls is not None:
            layers.append(cls())
        if dropout:
            layers.append(Dropout(dropout))
    layers.append(Linear(sizes[-2], sizes[-1], dtype=dtype))
    return Sequential(*layers)
