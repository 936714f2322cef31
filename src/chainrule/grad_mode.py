"""Grad mode: whether new operations record a graph, and the switches PyTorch has for it.

``no_grad`` (evaluation, weight updates), ``enable_grad`` (recording back on inside it),
``set_grad_enabled(mode)`` (a mode chosen at run time: train/eval phases in one loop) and
``inference_mode`` (no_grad for evaluation). The mode is per thread, as in PyTorch.
Context managers and decorators alike; `chainrule.autograd` re-exports them all.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])


class _GradModeState(threading.local):
    """Whether ops record a graph, per thread as in PyTorch: `no_grad` in one thread does not
    switch recording off in another, and every new thread starts with it on."""

    enabled = True


MODE = _GradModeState()
"""The calling thread's mode: `MODE.enabled`. Public for the engine (autograd reads it on
every op and switches it off for the backward walk); anyone else uses the functions and
context managers below."""


def is_grad_enabled() -> bool:
    """True when new operations record a graph for backward."""
    return MODE.enabled


class _SetGradMode:
    """Context manager and decorator that sets grad mode and restores it afterwards."""

    mode = True

    def __new__(cls, func: Callable[..., Any] | None = None) -> Any:
        """`with no_grad():`, `@no_grad()` and the bare `@no_grad` all work, as in PyTorch."""
        instance = super().__new__(cls)
        return instance if func is None else instance(func)

    def __enter__(self) -> None:
        self._previous = MODE.enabled
        MODE.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        MODE.enabled = self._previous

    def __call__(self, func: _F) -> _F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_SetGradMode):  # PyTorch's name
    """Operations inside record no graph: use it for evaluation and for weight updates.

    Example::

        with chainrule.no_grad():
            w -= lr * w.grad
    """

    mode = False


class enable_grad(_SetGradMode):  # PyTorch's name
    """Turns graph recording back on inside a `no_grad` block."""

    mode = True


class set_grad_enabled:  # PyTorch's name
    """Sets grad mode to `mode` at once; as a context manager it restores the old mode on exit.

    ``torch.set_grad_enabled(False)`` called alone switches recording off until switched on
    again; ``with torch.set_grad_enabled(phase == "train"):`` is the usual form in training
    loops that share code between training and evaluation. As a decorator it leaves the
    current mode alone and sets `mode` only while the function runs (PyTorch's rule).
    """

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled(): mode must be a bool, not {type(mode).__name__}")
        self.mode = mode
        self._previous = MODE.enabled
        MODE.enabled = mode

    def __enter__(self) -> None:
        pass  # already set by __init__, as PyTorch does

    def __exit__(self, *exc: object) -> None:
        MODE.enabled = self._previous

    def __call__(self, func: _F) -> _F:
        MODE.enabled = self._previous  # decorating does not change the current mode
        mode = self.mode

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class _InferenceModeState(threading.local):
    enabled = False


_InferenceMode = _InferenceModeState()


class inference_mode:  # PyTorch's name
    """`no_grad` for evaluation (torch.inference_mode): with mode=False it changes nothing.

    PyTorch's inference mode also marks the tensors made inside as "inference tensors" that
    may never enter a graph later, which lets it skip version counting; chainrule has no such
    tensors (it is no_grad plus `is_inference_mode_enabled()`), so code that obeys PyTorch's
    rule runs the same here.
    """

    def __new__(
        cls, mode: bool | Callable[..., object] = True
    ) -> Any:  # Any: the decorated function
        instance = object.__new__(cls)
        if callable(mode):  # the bare decorator: @inference_mode
            instance.inference = True
            return instance(mode)
        return instance

    def __init__(self, mode: bool | Callable[..., object] = True) -> None:
        self.inference = bool(mode)

    def __enter__(self) -> None:
        self._previous_inference = _InferenceMode.enabled
        self._previous = MODE.enabled
        if self.inference:
            _InferenceMode.enabled = True
            MODE.enabled = False

    def __exit__(self, *exc: object) -> None:
        _InferenceMode.enabled = self._previous_inference
        MODE.enabled = self._previous

    def __call__(self, func: _F) -> _F:
        inference = self.inference

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(inference):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def is_inference_mode_enabled() -> bool:
    """True inside `inference_mode()` (torch.is_inference_mode_enabled)."""
    return _InferenceMode.enabled
