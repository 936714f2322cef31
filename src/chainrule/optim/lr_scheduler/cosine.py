"""Cosine schedules: CosineAnnealingLR (one half-period, then back up) and
CosineAnnealingWarmRestarts (SGDR: restart at the base rate every T_i epochs)."""

from __future__ import annotations

import math

from chainrule.optim.lr_scheduler.base import LRScheduler, current_lrs
from chainrule.optim.optimizer import Optimizer

__all__ = ["CosineAnnealingLR", "CosineAnnealingWarmRestarts"]


class CosineAnnealingLR(LRScheduler):
    """Anneal each group's learning rate from its base rate to ``eta_min`` along a cosine.

    ``lr_t = η_min + (base_lr - η_min) · (1 + cos(π · t / T_max)) / 2``

    SGDR's schedule ("SGDR: Stochastic Gradient Descent with Warm Restarts") without the
    restarts: ``base_lr`` at t = 0, ``η_min`` at t = T_max, then back up along the same
    cosine if stepped further. Like torch, each step computes the rate from the current
    one (chainable, so it composes with other schedulers)::

        lr_t = η_min + (lr_{t-1} - η_min) · (1 + cos(π·t/T_max)) / (1 + cos(π·(t-1)/T_max))

    and, at the bottom of each period (where that ratio is 0/0-prone), adds
    ``(base_lr - η_min)·(1 - cos(π/T_max))/2`` instead.

    Args:
        optimizer (Optimizer): wrapped optimizer.
        T_max (int): number of epochs from the base rate down to ``eta_min``.
        eta_min (float): minimum learning rate (default: 0).
        last_epoch (int): index of the last epoch (default: -1).

    Example::

        scheduler = CosineAnnealingLR(optimizer, T_max=100, eta_min=1e-5)
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_max: int,  # PyTorch's name
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups, t, period = self.optimizer.param_groups, self.last_epoch, self.T_max
        if self._is_initial:  # exactly the base rate (or the resumed one), no rounding
            return current_lrs(self.optimizer)
        if self._step_count == 1 and t > 0:  # resumed: the closed form
            return self._get_closed_form_lr()
        if (t - 1 - period) % (2 * period) == 0:  # leaving the bottom of a period
            rise = (1 - math.cos(math.pi / period)) / 2
            return [
                group["lr"] + (base_lr - self.eta_min) * rise
                for base_lr, group in zip(self.base_lrs, groups, strict=True)
            ]
        ratio = (1 + math.cos(math.pi * t / period)) / (1 + math.cos(math.pi * (t - 1) / period))
        return [ratio * (group["lr"] - self.eta_min) + self.eta_min for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        cosine = 1 + math.cos(math.pi * self.last_epoch / self.T_max)
        return [self.eta_min + (base_lr - self.eta_min) * cosine / 2 for base_lr in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing with warm restarts (SGDR): the cosine restarts at the base rate.

    ``lr = η_min + (base_lr - η_min) · (1 + cos(π · T_cur / T_i)) / 2``

    where T_cur counts the epochs (possibly fractional: ``step(epoch + i / iters)``) since
    the last restart and T_i, the current period, starts at T_0 and is multiplied by
    T_mult at each restart ("SGDR: Stochastic Gradient Descent with Warm Restarts",
    Loshchilov and Hutter, 2017).

    Args:
        optimizer (Optimizer): wrapped optimizer.
        T_0 (int): the first period, in epochs.
        T_mult (int): factor of the period at each restart (default: 1).
        eta_min (float): minimum learning rate (default: 0).
        last_epoch (int): index of the last epoch (default: -1).

    Example::

        scheduler = CosineAnnealingWarmRestarts(optimizer, T_0=10, T_mult=2)
        for epoch in range(70):
            for i, batch in enumerate(loader):
                ...
                scheduler.step(epoch + i / len(loader))   # or scheduler.step() per epoch
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_0: int,
        T_mult: int = 1,
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        if T_0 <= 0 or not isinstance(T_0, int):
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if T_mult < 1 or not isinstance(T_mult, int):
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if not isinstance(eta_min, float | int):
            raise ValueError(
                f"Expected float or int eta_min, but got {eta_min} of type {type(eta_min)}"
            )
        self.T_0 = T_0
        self.T_i: float = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur: float = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        cosine = 1 + math.cos(math.pi * self.T_cur / self.T_i)
        return [self.eta_min + (base_lr - self.eta_min) * cosine / 2 for base_lr in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """Advance one epoch, or go to ``epoch`` (a float is allowed, for per-batch steps;
        unlike other schedulers this is not deprecated here). As in torch, this step does
        not count itself in ``_step_count``."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:  # restart
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"Expected non-negative epoch, but got {epoch}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:  # n restarts so far: T_0·(1 + m + … + m^(n-1)) ≤ epoch
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult**n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        self._get_lr_called_within_step = True
        try:
            values = self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = current_lrs(self.optimizer)
