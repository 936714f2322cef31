"""Per-batch cyclical schedules: CyclicLR (triangles between two rates) and OneCycleLR
(one warm-up and one long anneal), both also cycling the momentum the other way.

Both are stepped after every batch, not every epoch. With ``cycle_momentum`` the
optimizer's momentum (SGD's ``momentum``, or β1 of Adam-like ``betas``) moves opposite to
the rate: high momentum with a low rate, low momentum with a high one (Smith, "A
disciplined approach to neural network hyper-parameters", 2018).
"""

from __future__ import annotations

import copy
import math
import types
from collections.abc import Callable
from typing import Any, Literal

from chainrule.optim.lr_scheduler.base import LRScheduler, per_group
from chainrule.optim.optimizer import Optimizer
from chainrule.types import StateDict

__all__ = ["CyclicLR", "OneCycleLR"]


def _momentum_key(optimizer: Optimizer) -> bool:
    """Whether the optimizer's momentum is β1 of ``betas`` (True) or ``momentum``."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError(
            "optimizer must support momentum or beta1 with `cycle_momentum` option enabled"
        )
    return "betas" in optimizer.defaults


def _set_momentum(group: dict[str, Any], momentum: float, use_beta1: bool) -> None:
    if use_beta1:
        group["betas"] = (momentum, *group["betas"][1:])
    else:
        group["momentum"] = momentum


def _start_momentum(
    optimizer: Optimizer, use_beta1: bool, max_momentums: list[float], base_momentums: list[float]
) -> None:
    """Each group starts at its max momentum and records both ends, as torch does."""
    for max_m, base_m, group in zip(
        max_momentums, base_momentums, optimizer.param_groups, strict=True
    ):
        _set_momentum(group, max_m, use_beta1)
        group["max_momentum"] = max_m
        group["base_momentum"] = base_m


class CyclicLR(LRScheduler):
    """Cycle the rate between ``base_lr`` and ``max_lr`` along triangles.

    With cycle c = ⌊1 + t / (up + down)⌋ and x = 1 + t/(up + down) - c (the position in
    the cycle, 0 to 1) and r = up / (up + down)::

        h = x / r if x ≤ r else (x - 1) / (r - 1)        (0 → 1 → 0 over a cycle)
        lr_t = base_lr + (max_lr - base_lr) · h · scale(c or t)

    scale is 1 ('triangular'), 1/2^(c-1) ('triangular2': the height halves each cycle),
    γ^t ('exp_range'), or ``scale_fn`` (of the cycle or of t, by ``scale_mode``). With
    ``cycle_momentum`` the momentum goes max_momentum - (max - base)·h·scale. ("Cyclical
    Learning Rates for Training Neural Networks", Smith, 2017.)

    Args:
        optimizer (Optimizer): wrapped optimizer.
        base_lr (float or list): lower rate (one per group, or shared).
        max_lr (float or list): upper rate.
        step_size_up (int): steps from base_lr up to max_lr (default: 2000).
        step_size_down (int, optional): steps back down (default: step_size_up).
        mode (str): 'triangular', 'triangular2' or 'exp_range' (default: 'triangular').
        gamma (float): γ of 'exp_range' (default: 1.0).
        scale_fn (function, optional): a custom scale of one argument (overrides mode).
        scale_mode (str): 'cycle' or 'iterations', the argument of scale_fn (default 'cycle').
        cycle_momentum (bool): cycle the momentum too (default: True).
        base_momentum (float or list): lower momentum (default: 0.8).
        max_momentum (float or list): upper momentum (default: 0.9).
        last_epoch (int): index of the last batch (default: -1).

    Example::

        scheduler = CyclicLR(optimizer, base_lr=0.01, max_lr=0.1, step_size_up=500)
        for batch in loader:
            train_batch(batch)
            scheduler.step()
    """

    def __init__(
        self,
        optimizer: Optimizer,
        base_lr: float | list[float],
        max_lr: float | list[float],
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: Literal["triangular", "triangular2", "exp_range"] = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[float], float] | None = None,
        scale_mode: Literal["cycle", "iterations"] = "cycle",
        cycle_momentum: bool = True,
        base_momentum: float = 0.8,
        max_momentum: float = 0.9,
        last_epoch: int = -1,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        base_lrs = per_group("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups, strict=True):
                group["lr"] = lr
        self.max_lrs = per_group("max_lr", optimizer, max_lr)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ["triangular", "triangular2", "exp_range"] and scale_fn is None:
            raise ValueError("mode is invalid and scale_fn is None")
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        self._init_scale_fn()
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _momentum_key(optimizer)
            self.base_momentums = per_group("base_momentum", optimizer, base_momentum)
            self.max_momentums = per_group("max_momentum", optimizer, max_momentum)
            if last_epoch == -1:
                _start_momentum(optimizer, self.use_beta1, self.max_momentums, self.base_momentums)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _init_scale_fn(self) -> None:
        if self._scale_fn_custom is None and self.mode in ("triangular", "triangular2"):
            self.scale_mode = "cycle"
        elif self._scale_fn_custom is None:  # exp_range
            self.scale_mode = "iterations"

    def scale_fn(self, x: float) -> float:
        """The height's scale at cycle (or step) x."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma**x

    def get_lr(self) -> list[float]:
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        ratio = self.step_ratio  # rising for x ≤ ratio, falling after
        height = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [
            base_lr + (max_lr - base_lr) * height * scale
            for base_lr, max_lr in zip(self.base_lrs, self.max_lrs, strict=True)
        ]
        if self.cycle_momentum:
            for group, base_m, max_m in zip(
                self.optimizer.param_groups, self.base_momentums, self.max_momentums, strict=True
            ):
                _set_momentum(group, max_m - (max_m - base_m) * height * scale, self.use_beta1)
        return lrs

    def state_dict(self) -> StateDict:
        """The state; a custom scale_fn is saved as LambdaLR saves its functions."""
        state = {
            key: copy.deepcopy(value)
            for key, value in self.__dict__.items()
            if key not in ("optimizer", "_scale_fn_custom")
        }
        fn = self._scale_fn_custom
        custom = fn is not None and not isinstance(fn, types.FunctionType)
        state["_scale_fn_custom"] = fn.__dict__.copy() if custom else None
        return state

    def load_state_dict(self, state_dict: StateDict) -> None:
        state = copy.deepcopy(dict(state_dict))
        saved = state.pop("_scale_fn_custom")
        self.__dict__.update(state)
        if saved is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(saved)
        self._init_scale_fn()


class OneCycleLR(LRScheduler):
    """The 1cycle policy: warm up from max_lr/div_factor to max_lr, then anneal far below.

    Over ``total_steps`` batches, phase 1 (the first pct_start of them) goes from
    ``initial_lr = max_lr / div_factor`` up to ``max_lr``; phase 2 from ``max_lr`` down to
    ``min_lr = initial_lr / final_div_factor``. With ``three_phase`` the second phase
    comes back to initial_lr (as long as the first) and a third anneals to min_lr. Each
    phase follows half a cosine (``anneal_strategy='cos'``)::

        lr = end + (start - end) · (1 + cos(π·pct)) / 2        (pct: 0 → 1 over the phase)

    or a straight line ('linear'). The momentum goes the other way (max → base → max).
    ("Super-Convergence", Smith and Topin, 2018.)

    Args:
        optimizer (Optimizer): wrapped optimizer.
        max_lr (float or list): the peak rate (one per group, or shared).
        total_steps (int, optional): batches in the cycle; or give epochs and
            steps_per_epoch.
        epochs, steps_per_epoch (int, optional): total_steps = epochs · steps_per_epoch.
        pct_start (float): fraction of the cycle spent warming up (default: 0.3).
        anneal_strategy (str): 'cos' or 'linear' (default: 'cos').
        cycle_momentum (bool): cycle the momentum too (default: True).
        base_momentum (float or list): lower momentum (default: 0.85).
        max_momentum (float or list): upper momentum (default: 0.95).
        div_factor (float): initial_lr = max_lr / div_factor (default: 25).
        final_div_factor (float): min_lr = initial_lr / final_div_factor (default: 1e4).
        three_phase (bool): the three-phase variant above (default: False).
        last_epoch (int): index of the last batch (default: -1).

    Example::

        scheduler = OneCycleLR(optimizer, max_lr=0.1, epochs=10, steps_per_epoch=len(loader))
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | list[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: Literal["cos", "linear"] = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.85,
        max_momentum: float | list[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        self.total_steps = _total_steps(total_steps, epochs, steps_per_epoch)
        warm, last = float(pct_start * self.total_steps), self.total_steps - 1
        if three_phase:
            self._schedule_phases = [
                _phase(warm - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                _phase(2 * warm - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                _phase(last, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self._schedule_phases = [
                _phase(warm - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                _phase(last, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        if pct_start < 0 or pct_start > 1 or not isinstance(pct_start, float):
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        self._anneal_func_type = anneal_strategy
        max_lrs = per_group("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, peak in zip(optimizer.param_groups, max_lrs, strict=True):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _momentum_key(optimizer)
            max_momentums = per_group("max_momentum", optimizer, max_momentum)
            base_momentums = per_group("base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                _start_momentum(optimizer, self.use_beta1, max_momentums, base_momentums)
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(
                f"Tried to step {step} times. The specified number of total steps is "
                f"{self.total_steps}"
            )
        lrs = []
        last = len(self._schedule_phases) - 1
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end = float(phase["end_step"])
                if step <= end or i == last:
                    pct = (step - start) / (end - start)
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        momentum = self._anneal(
                            group[phase["start_momentum"]], group[phase["end_momentum"]], pct
                        )
                        _set_momentum(group, momentum, self.use_beta1)
                    break
                start = end
        return lrs


def _total_steps(total_steps: int | None, epochs: int | None, steps_per_epoch: int | None) -> int:
    if total_steps is not None:
        if total_steps <= 0 or not isinstance(total_steps, int):
            raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
        return total_steps
    if epochs is not None and steps_per_epoch is not None:
        if not isinstance(epochs, int) or epochs <= 0:
            raise ValueError(f"Expected positive integer epochs, but got {epochs}")
        if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
            raise ValueError(
                f"Expected positive integer steps_per_epoch, but got {steps_per_epoch}"
            )
        return epochs * steps_per_epoch
    raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")


def _phase(end_step: float, start_lr: str, end_lr: str, start_m: str, end_m: str) -> dict[str, Any]:
    """One phase of the cycle: where it ends and which group keys it goes between."""
    return {
        "end_step": end_step,
        "start_lr": start_lr,
        "end_lr": end_lr,
        "start_momentum": start_m,
        "end_momentum": end_m,
    }
