"""Optimizers by name: the one factory behind `chainrule train --optimizer` and the
playground's optimizer menu."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from chainrule.optim.adagrad import Adagrad
from chainrule.optim.adam import Adam, AdamW
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.rmsprop import RMSprop
from chainrule.optim.sgd import SGD

_MAKERS: dict[str, Callable[[Any, float, float], Optimizer]] = {
    "sgd": lambda params, lr, wd: SGD(params, lr=lr, weight_decay=wd),
    "momentum": lambda params, lr, wd: SGD(params, lr=lr, momentum=0.9, weight_decay=wd),
    "adam": lambda params, lr, wd: Adam(params, lr=lr, weight_decay=wd),
    "adamw": lambda params, lr, wd: AdamW(params, lr=lr, weight_decay=wd),
    "rmsprop": lambda params, lr, wd: RMSprop(params, lr=lr, weight_decay=wd),
    "adagrad": lambda params, lr, wd: Adagrad(params, lr=lr, weight_decay=wd),
}

OPTIMIZER_NAMES: tuple[str, ...] = tuple(_MAKERS)
"""The names `by_name` knows ('momentum' is SGD with momentum 0.9)."""


def by_name(name: str, params: Iterable[Any], lr: float, weight_decay: float = 0.0) -> Optimizer:
    """The optimizer called `name` over `params`, with PyTorch's defaults otherwise.

    Raises ValueError naming the choices for an unknown name."""
    if name not in _MAKERS:
        raise ValueError(f"unknown optimizer {name!r}: choose from {', '.join(OPTIMIZER_NAMES)}")
    return _MAKERS[name](params, lr, weight_decay)
