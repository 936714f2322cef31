"""Schedules that multiply the rate by a factor: by a function of the epoch (LambdaLR,
MultiplicativeLR), in steps (StepLR, MultiStepLR), for a warm-up (ConstantLR, LinearLR) or
every epoch (ExponentialLR, PolynomialLR).

Most are *chainable*: ``get_lr`` multiplies the current ``group['lr']`` (as torch does), so
they compose with other schedulers in a ChainedScheduler or SequentialLR; the closed forms
(``_get_closed_form_lr``, used by the deprecated ``step(epoch)``) give base_lr times the
cumulative factor.
"""

from __future__ import annotations

import copy
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from chainrule.optim.lr_scheduler.base import (
    LRScheduler,
    current_lrs,
    lambdas_state,
    load_lambdas,
)
from chainrule.optim.optimizer import Optimizer
from chainrule.types import StateDict

__all__ = [
    "ConstantLR",
    "ExponentialLR",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "PolynomialLR",
    "StepLR",
]


def _lambdas(optimizer: Optimizer, lr_lambda: Any) -> list[Callable[[int], float]]:
    """One function per group: a single one is shared, a list must match the groups."""
    if not isinstance(lr_lambda, list | tuple):
        return [lr_lambda] * len(optimizer.param_groups)
    if len(lr_lambda) != len(optimizer.param_groups):
        raise ValueError(
            f"Expected {len(optimizer.param_groups)} lr_lambdas, but got {len(lr_lambda)}"
        )
    return list(lr_lambda)


class _FunctionSchedule(LRScheduler):
    """What LambdaLR and MultiplicativeLR share: one function of the epoch per parameter
    group (`lr_lambdas`), and a state that saves the functions as torch does (None for
    plain functions and lambdas, since code is not state; the attributes of callable
    objects otherwise)."""

    _check_callable = False  # MultiplicativeLR refuses a non-callable at once, as torch

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | list[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        self.optimizer = optimizer
        self.lr_lambdas = _lambdas(optimizer, lr_lambda)
        uncallable = [fn for fn in self.lr_lambdas if not callable(fn)]
        if self._check_callable and uncallable:
            raise TypeError(
                f"lr_lambda should be a function, but got {type(uncallable[0]).__name__}"
            )
        super().__init__(optimizer, last_epoch)

    def state_dict(self) -> StateDict:
        """The scheduler's state; each function as `lambdas_state` keeps it."""
        state = {
            key: copy.deepcopy(value)
            for key, value in self.__dict__.items()
            if key not in ("optimizer", "lr_lambdas")
        }
        lambdas_state(state, self.lr_lambdas, "lr_lambdas")
        return state

    def load_state_dict(self, state_dict: StateDict) -> None:
        state = copy.deepcopy(dict(state_dict))
        lr_lambdas = state.pop("lr_lambdas")
        self.__dict__.update(state)
        load_lambdas(self.lr_lambdas, lr_lambdas)


class LambdaLR(_FunctionSchedule):
    """Set each group's learning rate to its base rate times a function of the epoch.

    ``lr_t = base_lr · λ(t)``

    Args:
        optimizer (Optimizer): wrapped optimizer.
        lr_lambda (function or list): a function of the (integer) epoch returning a
            multiplicative factor, or a list of such functions, one per parameter group.
        last_epoch (int): index of the last epoch (default: -1).

    Example::

        scheduler = LambdaLR(optimizer, lr_lambda=lambda epoch: 0.95**epoch)
    """

    def get_lr(self) -> list[float]:
        return [
            base_lr * lmbda(self.last_epoch)
            for lmbda, base_lr in zip(self.lr_lambdas, self.base_lrs, strict=True)
        ]


class MultiplicativeLR(_FunctionSchedule):
    """Multiply each group's learning rate by a function of the epoch, every epoch.

    ``lr_t = lr_{t-1} · λ(t)`` for t ≥ 1 (``lr_0`` is the base rate).

    Args:
        optimizer (Optimizer): wrapped optimizer.
        lr_lambda (function or list): a function of the epoch returning the factor, or one
            per parameter group.
        last_epoch (int): index of the last epoch (default: -1).

    Example::

        scheduler = MultiplicativeLR(optimizer, lr_lambda=lambda epoch: 0.95)
    """

    _check_callable = True

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return current_lrs(self.optimizer)
        return [
            group["lr"] * fn(self.last_epoch)
            for fn, group in zip(self.lr_lambdas, self.optimizer.param_groups, strict=True)
        ]


class StepLR(LRScheduler):
    """Multiply each group's learning rate by ``gamma`` every ``step_size`` epochs.

    ``lr_t = base_lr · γ^⌊t / step_size⌋``

    Args:
        optimizer (Optimizer): wrapped optimizer.
        step_size (int): period of the decay, in epochs.
        gamma (float): multiplicative factor of the decay (default: 0.1).
        last_epoch (int): index of the last epoch (default: -1).

    Example::

        # lr = 0.05 for epochs 0-29, 0.005 for 30-59, 0.0005 for 60-89, ...
        scheduler = StepLR(optimizer, step_size=30, gamma=0.1)
    """

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return current_lrs(self.optimizer)
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [
            base_lr * self.gamma ** (self.last_epoch // self.step_size) for base_lr in self.base_lrs
        ]


class MultiStepLR(LRScheduler):
    """Multiply each group's learning rate by ``gamma`` at each milestone epoch.

    ``lr_t = base_lr · γ^(number of milestones ≤ t)``

    Args:
        optimizer (Optimizer): wrapped optimizer.
        milestones (list): epoch indices, increasing.
        gamma (float): multiplicative factor of the decay (default: 0.1).
        last_epoch (int): index of the last epoch (default: -1).

    Example::

        # lr = 0.05 for epochs 0-29, 0.005 for 30-79, 0.0005 from 80 on
        scheduler = MultiStepLR(optimizer, milestones=[30, 80], gamma=0.1)
    """

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Iterable[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return current_lrs(self.optimizer)
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [group["lr"] * factor for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        milestones = sorted(self.milestones.elements())
        return [
            base_lr * self.gamma ** bisect_right(milestones, self.last_epoch)
            for base_lr in self.base_lrs
        ]


class ConstantLR(LRScheduler):
    """Scale the rate by a constant ``factor`` for the first ``total_iters`` epochs.

    ``lr_t = base_lr · factor`` for t < total_iters, ``base_lr`` from then on (a warm-up).

    Args:
        optimizer (Optimizer): wrapped optimizer.
        factor (float): the factor, in [0, 1] (default: 1/3).
        total_iters (int): epochs at the reduced rate (default: 5).
        last_epoch (int): index of the last epoch (default: -1).

    Example::

        scheduler = ConstantLR(optimizer, factor=0.5, total_iters=4)
    """

    def __init__(
        self,
        optimizer: Optimizer,
        factor: float = 1.0 / 3,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if factor > 1.0 or factor < 0:
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] * self.factor for group in groups]
        if self.last_epoch != self.total_iters:
            return current_lrs(self.optimizer)
        return [group["lr"] * (1.0 / self.factor) for group in groups]  # back to the base

    def _get_closed_form_lr(self) -> list[float]:
        after = self.last_epoch >= self.total_iters
        return [base_lr * (self.factor + after * (1 - self.factor)) for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """Move the rate's factor linearly from ``start_factor`` to ``end_factor``.

    ``lr_t = base_lr · (s + (e - s)·min(t, T) / T)`` with s = start_factor, e = end_factor
    and T = total_iters; computed, as torch does, by multiplying the previous rate by
    ``1 + (e - s) / (T·s + (t - 1)·(e - s))``.

    Args:
        optimizer (Optimizer): wrapped optimizer.
        start_factor (float): the factor at epoch 0, in (0, 1] (default: 1/3).
        end_factor (float): the factor from epoch T on, in [0, 1] (default: 1.0).
        total_iters (int): T (default: 5).
        last_epoch (int): index of the last epoch (default: -1).

    Example::

        scheduler = LinearLR(optimizer, start_factor=0.1, total_iters=10)   # warm-up
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError(
                "Starting multiplicative factor expected to be greater than 0 and less or "
                "equal to 1."
            )
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return current_lrs(self.optimizer)
        change = self.end_factor - self.start_factor
        ratio = 1.0 + change / (
            self.total_iters * self.start_factor + (self.last_epoch - 1) * change
        )
        return [group["lr"] * ratio for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        change = self.end_factor - self.start_factor
        factor = (
            self.start_factor + change * min(self.total_iters, self.last_epoch) / self.total_iters
        )
        return [base_lr * factor for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply each group's learning rate by ``gamma`` every epoch.

    ``lr_t = base_lr · γ^t``

    Args:
        optimizer (Optimizer): wrapped optimizer.
        gamma (float): multiplicative factor of the decay.
        last_epoch (int): index of the last epoch (default: -1).

    Example::

        scheduler = ExponentialLR(optimizer, gamma=0.95)
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:  # resuming must not move the rate one epoch ahead
            return current_lrs(self.optimizer)
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma**self.last_epoch for base_lr in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Decay the rate to 0 along a polynomial over ``total_iters`` epochs.

    ``lr_t = base_lr · (1 - min(t, T) / T)^power``; computed, as torch does, by multiplying
    the previous rate by ``((1 - t/T) / (1 - (t-1)/T))^power``.

    Args:
        optimizer (Optimizer): wrapped optimizer.
        total_iters (int): T, the epochs until the rate reaches 0 (default: 5).
        power (float): the polynomial's power (default: 1.0, linear).
        last_epoch (int): index of the last epoch (default: -1).

    Example::

        scheduler = PolynomialLR(optimizer, total_iters=100, power=2.0)
    """

    def __init__(
        self,
        optimizer: Optimizer,
        total_iters: int = 5,
        power: float = 1.0,
        last_epoch: int = -1,
    ) -> None:
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial or self.last_epoch > self.total_iters:
            return current_lrs(self.optimizer)
        t, total = self.last_epoch, self.total_iters
        decay = ((1.0 - t / total) / (1.0 - (t - 1) / total)) ** self.power
        return [group["lr"] * decay for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        left = 1.0 - min(self.total_iters, self.last_epoch) / self.total_iters
        return [base_lr * left**self.power for base_lr in self.base_lrs]
