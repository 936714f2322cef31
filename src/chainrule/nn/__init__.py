"""Neural-network building blocks: `Module`, layers, `functional` (F), `init`, losses."""

from chainrule.nn import functional, init, parallel, registry, utils
from chainrule.nn.mlp import mlp
from chainrule.nn.modules import *  # noqa: F403 - the layer classes, listed in modules/__init__
from chainrule.nn.modules import __all__ as _layers
from chainrule.nn.parameter import Parameter

__all__ = ["Parameter", "functional", "init", "mlp", "parallel", "registry", "utils", *_layers]


def __getattr__(name: str) -> object:
    """A torch.nn name chainrule lacks (Conv2d, LSTM, ...): say so, and point to the page."""
    from chainrule.coverage import missing

    raise missing("torch.nn", name)
