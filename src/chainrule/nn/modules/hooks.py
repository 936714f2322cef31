"""Module hooks with PyTorch's API: forward pre-hooks, forward hooks, full backward hooks.

- `register_forward_pre_hook(hook)`: ``hook(module, args)`` before forward; returning a
  value replaces the positional arguments (a tuple, or one value for one argument). With
  ``with_kwargs=True``: ``hook(module, args, kwargs)``, returning None or
  ``(new_args, new_kwargs)``.
- `register_forward_hook(hook)`: ``hook(module, args, output)`` after forward; returning a
  value replaces the output. With ``with_kwargs=True``: ``hook(module, args, kwargs,
  output)``; with ``always_call=True`` it runs even when forward (or an earlier forward
  hook) raises, seeing output None, and an error of its own is only a warning.
- `register_full_backward_hook(hook)`: ``hook(module, grad_input, grad_output)`` once the
  gradients with respect to the module's tensor inputs are computed (None for an input that
  needs none); returning a tuple replaces grad_input. Built on tensor hooks: each tensor
  input and output passes through an identity view whose gradient is observed. The hooks
  run when the last input's gradient arrives, so with several tensor inputs a replacement
  applies to that input only (PyTorch gathers them in one node).
- `register_full_backward_pre_hook(hook)`: ``hook(module, grad_output)`` once the gradients
  with respect to the module's outputs are known, before any of its inputs' is computed;
  returning a tuple replaces grad_output. It runs when the last output that needs a
  gradient gets one (with one output, the usual case, exactly PyTorch's), so with several
  outputs a replacement applies to that output only; an output whose gradient never comes
  (unused in the loss) keeps the hooks from running.

Each `register_*` returns a handle with `remove()`. A module without hooks pays one dict
lookup per call. `ever_registered()` tells whether any module got a hook in this process:
`compile_step` scans its model for hooks only then.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chainrule.grad_hooks import RemovableHandle, new_arguments, register
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule.types import (
        ForwardHook,
        ForwardHookWithKwargs,
        ForwardPreHook,
        ForwardPreHookWithKwargs,
        FullBackwardHook,
        FullBackwardPreHook,
    )

_registrations = [0]  # module hooks registered in this process (never counts down)


def ever_registered() -> bool:
    """Whether any module has been given a hook (removed ones count: this is a cheap
    first test, a scan of the modules says whether one still has any)."""
    return _registrations[0] > 0


def has_hooks(module: Any) -> bool:
    """Whether the module has a hook now (not only tables emptied by removed handles)."""
    tables = module.__dict__.get("_module_hooks")
    return tables is not None and any(tables.values())


class ModuleHooks:
    """The hook registries of a Module (kept in its __dict__, made on first use)."""

    def _hook_table(self, kind: str) -> dict[int, Callable[..., Any]]:
        tables = self.__dict__.setdefault("_module_hooks", {})
        return tables.setdefault(kind, {})

    def _add_hook(self, kind: str, hook: Callable[..., Any], prepend: bool) -> RemovableHandle:
        _registrations[0] += 1
        return register(self._hook_table(kind), hook, prepend)

    def register_forward_pre_hook(
        self,
        hook: ForwardPreHook | ForwardPreHookWithKwargs,
        *,
        prepend: bool = False,
        with_kwargs: bool = False,
    ) -> RemovableHandle:
        """``hook(module, args)``, or with ``with_kwargs`` ``hook(module, args, kwargs) ->
        None or (new_args, new_kwargs)``, before forward."""
        entry: Any = _Flagged(hook, True) if with_kwargs else hook  # call_with_hooks tells them
        return self._add_hook("forward_pre", entry, prepend)

    def register_forward_hook(
        self,
        hook: ForwardHook | ForwardHookWithKwargs,
        *,
        prepend: bool = False,
        with_kwargs: bool = False,
        always_call: bool = False,
    ) -> RemovableHandle:
        """``hook(module, args, output)``, or with ``with_kwargs`` ``hook(module, args,
        kwargs, output)``, after forward; ``always_call``: also when forward raises (with
        output None; an error of the hook is then a warning, forward's error is raised)."""
        flagged = with_kwargs or always_call
        entry: Any = _Flagged(hook, with_kwargs, always_call) if flagged else hook
        return self._add_hook("forward", entry, prepend)

    def register_full_backward_hook(
        self, hook: FullBackwardHook, prepend: bool = False
    ) -> RemovableHandle:
        return self._add_hook("backward", hook, prepend)

    def register_full_backward_pre_hook(
        self, hook: FullBackwardPreHook, prepend: bool = False
    ) -> RemovableHandle:
        return self._add_hook("backward_pre", hook, prepend)


class _Flagged:
    """A forward (pre-)hook registered with ``with_kwargs`` or ``always_call``."""

    def __init__(
        self, hook: Callable[..., Any], with_kwargs: bool, always_call: bool = False
    ) -> None:
        self.hook, self.with_kwargs, self.always_call = hook, with_kwargs, always_call

    def after(self, module: Any, args: Any, kwargs: Any, output: Any) -> Any:
        if self.with_kwargs:
            return self.hook(module, args, kwargs, output)
        return self.hook(module, args, output)


def call_with_hooks(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Module.__call__ when the module has hooks."""
    tables = module.__dict__.get("_module_hooks", {})
    for hook in tuple(tables.get("forward_pre", {}).values()):
        if type(hook) is _Flagged:
            replaced = hook.hook(module, args, kwargs)
            if replaced is not None:
                args, kwargs = new_arguments(replaced, "forward pre-hook")
            continue
        replaced = hook(module, args)
        if replaced is not None:
            args = replaced if isinstance(replaced, tuple) else (replaced,)
    backward = tuple(tables.get("backward", {}).values())
    before = tuple(tables.get("backward_pre", {}).values())
    call = _BackwardCall(backward, before) if backward or before else None
    if call is not None and backward:
        args = _watch_inputs(module, call, args)
    after = tuple(tables.get("forward", {}).values())
    started = 0  # forward hooks called so far (one that raises counts as called, as torch)
    output = None
    try:
        output = module.forward(*args, **kwargs)
        for hook in after:
            started += 1
            if type(hook) is _Flagged:
                replaced = hook.after(module, args, kwargs, output)
            else:
                replaced = hook(module, args, output)
            if replaced is not None:
                output = replaced
    except Exception:
        _always_call(module, after[started:], args, kwargs, output)
        raise
    if call is not None:
        output = _watch_outputs(module, call, output)
    return output


def _always_call(module: Any, hooks: tuple[Any, ...], args: Any, kwargs: Any, output: Any) -> None:
    """After forward (or a forward hook) raised: the ``always_call`` ones of the forward
    hooks not called yet, an error of theirs only a warning (torch's), so that forward's
    error is the one raised."""
    for hook in hooks:
        if type(hook) is not _Flagged or not hook.always_call:
            continue
        try:
            replaced = hook.after(module, args, kwargs, output)
        except Exception as error:
            warnings.warn(
                "module forward hook with ``always_call=True`` raised an exception that was "
                f"silenced as another error was raised in forward: {error}",
                stacklevel=3,
            )
            continue
        if replaced is not None:
            output = replaced


class _BackwardCall:
    """One forward call's bookkeeping for the full backward (pre-)hooks."""

    def __init__(
        self, hooks: tuple[Callable[..., Any], ...], before: tuple[Callable[..., Any], ...]
    ) -> None:
        self.hooks = hooks
        self.before = before  # the backward pre-hooks
        self.grad_input: list[Any] = []
        self.waiting = 0  # tensor inputs whose gradient has not arrived yet
        self.grad_output: tuple[Any, ...] = ()
        self.expected = 0  # outputs that need a gradient (the pre-hooks wait for them all)
        self.fired = False

    def fire(self, module: Any) -> tuple[Any, ...]:
        self.fired = True
        grads = tuple(self.grad_input)
        for hook in self.hooks:
            replaced = hook(module, grads, self.grad_output)
            if replaced is not None:
                grads = tuple(replaced)
        return grads

    def fire_before(self, module: Any) -> None:
        """The pre-hooks, on the complete grad_output (replaced by a non-None result)."""
        grads = self.grad_output
        for hook in self.before:
            replaced = hook(module, grads)
            if replaced is not None:
                grads = tuple(replaced)
        self.grad_output = grads


def _watch_inputs(module: Any, call: _BackwardCall, args: tuple[Any, ...]) -> tuple[Any, ...]:
    call.grad_input = [None] * sum(isinstance(a, Tensor) for a in args)
    watched = []
    slot = 0
    for a in args:
        if isinstance(a, Tensor):
            if a.requires_grad:
                a = a.view_as(a)  # an identity in the graph whose gradient we can observe
                a.register_hook(_input_hook(module, call, slot))
                call.waiting += 1
            slot += 1
        watched.append(a)
    return tuple(watched)


def _input_hook(module: Any, call: _BackwardCall, slot: int) -> Callable[[Tensor], Any]:
    def hook(grad: Tensor) -> Any:
        call.grad_input[slot] = grad
        call.waiting -= 1
        if call.waiting:
            return None  # the hooks run with the last tensor input's gradient
        grads = call.fire(module)
        return grads[slot]

    return hook


def _watch_outputs(module: Any, call: _BackwardCall, output: Any) -> Any:
    outputs = output if isinstance(output, tuple) else (output,)
    grads: list[Any] = [None] * len(outputs)
    watched = []
    for i, out in enumerate(outputs):
        if isinstance(out, Tensor) and out.requires_grad:
            out = out.view_as(out)
            call.expected += 1

            def seen(grad: Tensor, i: int = i) -> Any:
                grads[i] = grad
                call.grad_output = tuple(grads)
                call.expected -= 1
                if call.before and call.expected == 0:
                    call.fire_before(module)
                    grad = call.grad_output[i]
                if call.hooks and call.waiting == 0 and not call.fired:
                    call.fire(module)  # no input needs a gradient
                return grad

            out.register_hook(seen)
        watched.append(out)
    return tuple(watched) if isinstance(output, tuple) else watched[0]
