"""Hooks around `Optimizer.step`, with PyTorch's API (torch.optim.Optimizer's
``register_step_pre_hook``/``register_step_post_hook`` and the global
``torch.optim.optimizer.register_optimizer_step_pre_hook``/``..._post_hook``).

- pre-hook: ``hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs)`` before the
  step; ``args`` starts with the optimizer itself, as in torch (the step's ``self``), and
  a returned pair replaces what the step is called with.
- post-hook: ``hook(optimizer, args, kwargs)`` after the step.

Order, as torch: global pre-hooks, then the optimizer's own; after the step, the
optimizer's own post-hooks, then the global ones. Every `register_*` returns a handle with
``remove()``.

`hooked(step)` wraps a class's ``step`` once, when the class is made (Optimizer's
``__init_subclass__``): without hooks it costs a dict lookup and a call. A step that calls
``super().step()`` runs the hooks once, not once per level.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeAlias, TypeVar

from chainrule.grad_hooks import RemovableHandle, new_arguments, register

__all__ = [
    "StepHooks",
    "has_step_hooks",
    "hooked",
    "register_optimizer_step_post_hook",
    "register_optimizer_step_pre_hook",
]

StepHook = Callable[..., Any]
F = TypeVar("F", bound=Callable[..., Any])

_global_pre: dict[int, StepHook] = {}
_global_post: dict[int, StepHook] = {}


def register_optimizer_step_pre_hook(hook: StepHook) -> RemovableHandle:
    """A pre-hook for the step of every optimizer (see the module docstring)."""
    return register(_global_pre, hook)


def register_optimizer_step_post_hook(hook: StepHook) -> RemovableHandle:
    """A post-hook for the step of every optimizer (see the module docstring)."""
    return register(_global_post, hook)


class StepHooks:
    """The per-optimizer registries (made on first use, kept in the instance's __dict__)."""

    # the hooks' types, where torch.optim.Optimizer names them
    OptimizerPreHook: TypeAlias = Callable[..., "tuple[tuple[Any, ...], dict[str, Any]] | None"]
    OptimizerPostHook: TypeAlias = Callable[..., None]

    def _step_hooks(self) -> tuple[dict[int, StepHook], dict[int, StepHook]]:
        return self.__dict__.setdefault("_step_hook_tables", ({}, {}))

    def register_step_pre_hook(self, hook: StepHook) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` before each step; it may return
        ``(new_args, new_kwargs)`` to replace the step's arguments."""
        return register(self._step_hooks()[0], hook)

    def register_step_post_hook(self, hook: StepHook) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` after each step."""
        return register(self._step_hooks()[1], hook)


def has_step_hooks(optimizer: Any) -> bool:
    """Whether a step of this optimizer runs any hook (its own or a global one): the
    captured training step then calls ``optimizer.step()`` instead of its written-out
    update, so the hooks run."""
    tables = optimizer.__dict__.get("_step_hook_tables")
    return bool(_global_pre or _global_post or (tables and (tables[0] or tables[1])))


def hooked(step: F) -> F:
    """``step`` running the step hooks around itself (once per call, however many levels of
    hooked steps a ``super().step()`` chain goes through)."""

    @functools.wraps(step)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        state = self.__dict__
        if not (_global_pre or _global_post or "_step_hook_tables" in state):
            return step(self, *args, **kwargs)
        if state.get("_in_hooked_step"):  # an inner level of super().step()
            return step(self, *args, **kwargs)
        return _run(step, self, args, kwargs)

    return wrapper  # type: ignore[return-value]


def _run(step: Callable[..., Any], optimizer: Any, args: tuple[Any, ...], kwargs: Any) -> Any:
    own_pre, own_post = optimizer.__dict__.get("_step_hook_tables", ({}, {}))
    full: tuple[Any, ...] = (optimizer, *args)  # torch's hooks see the step's self first
    for hook in (*_global_pre.values(), *own_pre.values()):
        result = hook(optimizer, full, kwargs)
        if result is not None:
            full, kwargs = new_arguments(result, step)
    optimizer.__dict__["_in_hooked_step"] = True
    try:
        out = step(*full, **kwargs)
    finally:
        optimizer.__dict__["_in_hooked_step"] = False
    for hook in (*own_post.values(), *_global_post.values()):
        hook(optimizer, full, kwargs)
    return out
