"""Hooks around `Optimizer.state_dict` and `Optimizer.load_state_dict`, with PyTorch's API
(torch.optim.Optimizer's four ``register_*state_dict*_hook`` methods):

- ``register_state_dict_pre_hook(hook)``: ``hook(optimizer)`` before the state is packed.
- ``register_state_dict_post_hook(hook)``: ``hook(optimizer, state_dict)`` after; it may
  edit the dict in place or return a new one, which is then the result.
- ``register_load_state_dict_pre_hook(hook)``: ``hook(optimizer, state_dict)`` before
  loading, on a shallow copy of what was given; a returned dict is loaded instead (how a
  checkpoint of an older layout is adapted).
- ``register_load_state_dict_post_hook(hook)``: ``hook(optimizer)`` after loading.

Each takes ``prepend=True`` to run before the hooks already there, and returns a handle
with ``remove()``. `saving` / `loading` wrap a class's method once (Optimizer's
``__init_subclass__``), so an override that calls ``super()`` runs the hooks once, around
the whole of it (AdamW's ``load_state_dict`` fixes its groups before the post-hooks see
them).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from chainrule.grad_hooks import RemovableHandle, register

__all__ = ["StateDictHooks", "loading", "saving"]

F = TypeVar("F", bound=Callable[..., Any])
Hook = Callable[..., Any]


class StateDictHooks:
    """The per-optimizer registries (made on first use, in the instance's __dict__)."""

    def _state_dict_hooks(self, kind: str) -> dict[int, Hook]:
        tables = self.__dict__.setdefault("_state_dict_hook_tables", {})
        return tables.setdefault(kind, {})

    def register_state_dict_pre_hook(self, hook: Hook, prepend: bool = False) -> RemovableHandle:
        """``hook(optimizer)`` before `state_dict` packs the state."""
        return register(self._state_dict_hooks("save_pre"), hook, prepend)

    def register_state_dict_post_hook(self, hook: Hook, prepend: bool = False) -> RemovableHandle:
        """``hook(optimizer, state_dict) -> state_dict or None`` after `state_dict`."""
        return register(self._state_dict_hooks("save_post"), hook, prepend)

    def register_load_state_dict_pre_hook(
        self, hook: Hook, prepend: bool = False
    ) -> RemovableHandle:
        """``hook(optimizer, state_dict) -> state_dict or None`` before `load_state_dict`."""
        return register(self._state_dict_hooks("load_pre"), hook, prepend)

    def register_load_state_dict_post_hook(
        self, hook: Hook, prepend: bool = False
    ) -> RemovableHandle:
        """``hook(optimizer)`` after `load_state_dict`."""
        return register(self._state_dict_hooks("load_post"), hook, prepend)


def _hooks(optimizer: Any, kind: str) -> tuple[Hook, ...]:
    tables = optimizer.__dict__.get("_state_dict_hook_tables")
    return tuple(tables[kind].values()) if tables and kind in tables else ()


def _outermost(method: F, flag: str, around: Callable[..., Any]) -> F:
    """``method`` calling ``around(method, self, *args)`` at the outermost level of a
    ``super()`` chain, and itself plainly inside one (``flag`` marks the chain)."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        state = self.__dict__
        if "_state_dict_hook_tables" not in state or state.get(flag):
            return method(self, *args, **kwargs)
        state[flag] = True
        try:
            return around(method, self, *args, **kwargs)
        finally:
            state[flag] = False

    return wrapper  # type: ignore[return-value]


def _save(method: Callable[..., Any], optimizer: Any) -> Any:
    for hook in _hooks(optimizer, "save_pre"):
        hook(optimizer)
    state_dict = method(optimizer)
    for hook in _hooks(optimizer, "save_post"):
        result = hook(optimizer, state_dict)
        if result is not None:
            state_dict = result
    return state_dict


def _load(method: Callable[..., Any], optimizer: Any, state_dict: Any) -> None:
    state_dict = state_dict.copy()  # shallow, as torch: a hook may edit its copy
    for hook in _hooks(optimizer, "load_pre"):
        result = hook(optimizer, state_dict)
        if result is not None:
            state_dict = result
    method(optimizer, state_dict)
    for hook in _hooks(optimizer, "load_post"):
        hook(optimizer)


def saving(method: F) -> F:
    """``state_dict`` running its pre- and post-hooks around itself, once."""
    return _outermost(method, "_in_hooked_state_dict", _save)


def loading(method: F) -> F:
    """``load_state_dict`` running its pre- and post-hooks around itself, once."""
    return _outermost(method, "_in_hooked_load_state_dict", _load)
