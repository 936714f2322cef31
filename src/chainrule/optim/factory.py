"""Optimizers by name: the one factory behind `chainrule train --optimizer` and the
playground's optimizer menu."""

from __future__ import annotations

from collections.abc import Callable

from chainrule.optim.adadelta import Adadelta
from chainrule.optim.adafactor import Adafactor
from chainrule.optim.adagrad import Adagrad
from chainrule.optim.adam import Adam, AdamW
from chainrule.optim.adamax import Adamax
from chainrule.optim.asgd import ASGD
from chainrule.optim.nadam import NAdam
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.radam import RAdam
from chainrule.optim.rmsprop import RMSprop
from chainrule.optim.rprop import Rprop
from chainrule.optim.sgd import SGD
from chainrule.types import ParamsT

# L-BFGS is left out: its step needs a closure that re-evaluates the loss, which the
# command line's and the playground's training loops do not give

_MAKERS: dict[str, Callable[[ParamsT, float, float], Optimizer]] = {
    "sgd": lambda params, lr, wd: SGD(params, lr=lr, weight_decay=wd),
    "momentum": lambda params, lr, wd: SGD(params, lr=lr, momentum=0.9, weight_decay=wd),
    "adam": lambda params, lr, wd: Adam(params, lr=lr, weight_decay=wd),
    "adamw": lambda params, lr, wd: AdamW(params, lr=lr, weight_decay=wd),
    "rmsprop": lambda params, lr, wd: RMSprop(params, lr=lr, weight_decay=wd),
    "adagrad": lambda params, lr, wd: Adagrad(params, lr=lr, weight_decay=wd),
    "adadelta": lambda params, lr, wd: Adadelta(params, lr=lr, weight_decay=wd),
    "adamax": lambda params, lr, wd: Adamax(params, lr=lr, weight_decay=wd),
    "nadam": lambda params, lr, wd: NAdam(params, lr=lr, weight_decay=wd),
    "radam": lambda params, lr, wd: RAdam(params, lr=lr, weight_decay=wd),
    "asgd": lambda params, lr, wd: ASGD(params, lr=lr, weight_decay=wd),
    "adafactor": lambda params, lr, wd: Adafactor(params, lr=lr, weight_decay=wd),
    # Rprop has no weight decay in torch: a non-zero one is refused rather than ignored
    "rprop": lambda params, lr, wd: Rprop(params, lr=lr) if wd == 0 else _no_decay("rprop"),
}


def _no_decay(name: str) -> Optimizer:
    raise ValueError(f"optimizer {name!r} has no weight decay: use --weight-decay 0")


OPTIMIZER_NAMES: tuple[str, ...] = tuple(_MAKERS)
"""The names `by_name` knows ('momentum' is SGD with momentum 0.9)."""


def by_name(name: str, params: ParamsT, lr: float, weight_decay: float = 0.0) -> Optimizer:
    """The optimizer called `name` over `params`, with PyTorch's defaults otherwise.

    Raises ValueError naming the choices for an unknown name."""
    if name not in _MAKERS:
        raise ValueError(f"unknown optimizer {name!r}: choose from {', '.join(OPTIMIZER_NAMES)}")
    return _MAKERS[name](params, lr, weight_decay)
