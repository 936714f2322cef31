"""The base class of the learning-rate schedulers: epochs, base rates, steps, state."""

from __future__ import annotations

import copy
import types
import warnings
from collections.abc import Callable
from typing import Any

from chainrule.optim.optimizer import Optimizer
from chainrule.types import StateDict

__all__ = ["EPOCH_DEPRECATION_WARNING", "LRScheduler", "current_lrs", "per_group"]

EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated "
    "where possible. Please use `scheduler.step()` to step the scheduler. During the "
    "deprecation, if epoch is different from None, the closed form is used instead of the "
    "new chainable form, where available."
)


def current_lrs(optimizer: Optimizer) -> list[float]:
    """Each group's current learning rate."""
    return [group["lr"] for group in optimizer.param_groups]


def per_group(name: str, optimizer: Optimizer, value: Any) -> list[Any]:
    """``value`` for each parameter group: a list or tuple must have one entry per group,
    anything else is repeated (torch's ``_format_param``, with its message)."""
    groups = len(optimizer.param_groups)
    if isinstance(value, list | tuple):
        if len(value) != groups:
            raise ValueError(
                f"{name} must have the same length as optimizer.param_groups. "
                f"{name} has {len(value)} values, param_groups has {groups}."
            )
        return list(value)
    return [value] * groups


def lambdas_state(state: dict[str, Any], functions: list[Callable[..., Any]], key: str) -> None:
    """Put ``functions`` into ``state[key]`` as torch saves them: None for plain functions
    and lambdas (code is not state), the attributes of callable objects otherwise."""
    state[key] = [
        None if isinstance(fn, types.FunctionType) else fn.__dict__.copy() for fn in functions
    ]


def load_lambdas(functions: list[Any], saved: list[Any]) -> None:
    """Restore what `lambdas_state` saved into the live callable objects."""
    for fn, attributes in zip(functions, saved, strict=True):
        if attributes is not None:
            fn.__dict__.update(attributes)


class LRScheduler:
    """Base class of the learning-rate schedulers.

    Subclasses implement :meth:`get_lr`, the rates for epoch ``last_epoch`` (which
    :meth:`step` has just advanced); they may read the current ``group['lr']`` values
    (a *chainable* schedule, which composes with other schedulers) or compute from
    ``base_lrs`` (a closed form).

    Args:
        optimizer (Optimizer): the optimizer whose learning rates are scheduled.
        last_epoch (int): index of the last epoch; -1 (default) starts a new schedule.
            Other values resume one, and need ``'initial_lr'`` in every group.
    """

    _is_initial: bool = False
    _get_lr_called_within_step: bool = False  # torch's flag, kept for its state_dict layout

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when "
                        "resuming a scheduler with last_epoch >= 0: load the optimizer's "
                        "state first"
                    )
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """Take the first step: epoch 0 (or the resumed epoch + 1)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rate of each group for epoch ``last_epoch``."""
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The learning rates the last :meth:`step` set, one per parameter group."""
        return list(self._last_lr)

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch and write the new rates into the optimizer's groups.

        Args:
            epoch (int, optional): deprecated (as in PyTorch): jump to this epoch, using the
                closed form of the schedule where there is one.
        """
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        """Advance to the next epoch (or jump to ``epoch``) and set the groups' rates."""
        self._get_lr_called_within_step = True
        try:
            values = self._next_lrs(epoch)
        finally:
            self._get_lr_called_within_step = False
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = current_lrs(self.optimizer)

    def _next_lrs(self, epoch: int | None) -> list[float]:
        if epoch is None:
            self.last_epoch += 1
            return self.get_lr()
        self.last_epoch = epoch
        closed_form = getattr(self, "_get_closed_form_lr", None)
        return closed_form() if closed_form is not None else self.get_lr()

    def state_dict(self) -> StateDict:
        """The scheduler's state (a copy): every attribute except the optimizer."""
        return {
            key: copy.deepcopy(value) for key, value in self.__dict__.items() if key != "optimizer"
        }

    def load_state_dict(self, state_dict: StateDict) -> None:
        """Restore a state made by :meth:`state_dict`."""
        self.__dict__.update(copy.deepcopy(state_dict))
