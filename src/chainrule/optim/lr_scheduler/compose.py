"""Schedulers made of schedulers: ChainedScheduler (all at once, their factors multiply)
and SequentialLR (one after the other, switching at milestone epochs)."""

from __future__ import annotations

import copy
from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

from chainrule.optim.lr_scheduler.base import LRScheduler, current_lrs
from chainrule.optim.lr_scheduler.plateau import ReduceLROnPlateau
from chainrule.optim.optimizer import Optimizer
from chainrule.types import StateDict

__all__ = ["ChainedScheduler", "SequentialLR"]


def _check_members(kind: str, schedulers: Sequence[Any], optimizer: Optimizer) -> None:
    for i, scheduler in enumerate(schedulers):
        if not hasattr(scheduler, "optimizer"):
            raise TypeError(f"{kind} at index {i} should have `optimizer` as its attribute.")
        if isinstance(scheduler, ReduceLROnPlateau):
            raise ValueError(
                f"{kind} does not support `ReduceLROnPlateau` scheduler as it requires "
                "additional kwargs to be specified when calling `step`, but got one at index "
                f"{i} in the given schedulers sequence."
            )
        if optimizer is not scheduler.optimizer:
            raise ValueError(
                f"{kind} expects all schedulers to belong to the same optimizer, but got "
                f"scheduler {type(scheduler).__name__} at index {i} has "
                f"{scheduler.optimizer}, which is different from {type(optimizer).__name__}."
            )


class _Composite(LRScheduler):
    """State of a composite: its own attributes plus each member's state_dict."""

    _schedulers: list[LRScheduler]

    def state_dict(self) -> StateDict:
        state = {
            key: copy.deepcopy(value)
            for key, value in self.__dict__.items()
            if key not in ("optimizer", "_schedulers")
        }
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: StateDict) -> None:
        state = copy.deepcopy(dict(state_dict))
        members = state.pop("_schedulers")
        self.__dict__.update(state)
        for scheduler, saved in zip(self._schedulers, members, strict=True):
            scheduler.load_state_dict(saved)


class ChainedScheduler(_Composite):
    """Step several schedulers together: each ``step()`` steps them all, in order, so
    their chainable factors multiply (e.g. a ConstantLR warm-up on top of an ExponentialLR).

    Args:
        schedulers (sequence): the schedulers, all of the same optimizer.
        optimizer (Optimizer, optional): that optimizer (default: the first one's).

    Example::

        warmup = ConstantLR(optimizer, factor=0.1, total_iters=2)
        decay = ExponentialLR(optimizer, gamma=0.9)
        scheduler = ChainedScheduler([warmup, decay])
    """

    def __init__(
        self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None
    ) -> None:
        if len(schedulers) < 1:
            raise ValueError(
                "ChainedScheduler expects at least one scheduler to be chained, but got no "
                "scheduler."
            )
        optimizer = optimizer or schedulers[0].optimizer
        _check_members(type(self).__name__, schedulers, optimizer)
        self._schedulers = list(schedulers)
        self.optimizer = optimizer
        self._last_lr = current_lrs(self._schedulers[-1].optimizer)

    def step(self) -> None:  # type: ignore[override]
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = current_lrs(self._schedulers[-1].optimizer)


class SequentialLR(_Composite):
    """Run schedulers one after another: ``schedulers[i]`` from ``milestones[i-1]`` on.

    At a milestone the next scheduler starts from its epoch 0 (its closed form, at the
    base rates), as in torch.

    Args:
        optimizer (Optimizer): wrapped optimizer.
        schedulers (list): the schedulers, all of this optimizer.
        milestones (list): the epochs where the next scheduler takes over (one fewer).
        last_epoch (int): index of the last epoch (default: -1).

    Example::

        warmup = LinearLR(optimizer, start_factor=0.1, total_iters=5)
        cosine = CosineAnnealingLR(optimizer, T_max=95)
        scheduler = SequentialLR(optimizer, [warmup, cosine], milestones=[5])
    """

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: list[LRScheduler],
        milestones: list[int],
        last_epoch: int = -1,
    ) -> None:
        if len(schedulers) < 1:
            raise ValueError("SequentialLR expects at least one scheduler, but got no scheduler.")
        _check_members(type(self).__name__, schedulers, optimizer)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided to be one more "
                f"than the number of milestone points, but got number of schedulers "
                f"{len(schedulers)} and the number of milestones to be equal to "
                f"{len(milestones)}"
            )
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        # building each member took a step: undo them, then start the first one again
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self._undo(self)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def _undo(self, scheduler: Any) -> None:
        """Move every member (members of nested composites too) back one epoch."""
        if hasattr(scheduler, "_schedulers"):
            for member in scheduler._schedulers:
                self._undo(member)
        elif hasattr(scheduler, "last_epoch"):
            scheduler.last_epoch -= 1

    def step(self) -> None:  # type: ignore[override]
        self.last_epoch += 1
        index = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._update_lr(0)  # a fresh start at the milestone
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()
