"""Hooks on tensors' gradients (PyTorch's `Tensor.register_hook` and
`register_post_accumulate_grad_hook`), and the handle that removes a hook.

The registries are keyed weakly by tensor, so a hook never keeps its tensor alive, and the
backward walk (chainrule.autograd) looks at them only when one is non-empty: tensors without
hooks cost nothing.

- `register_hook(hook)`: ``hook(grad) -> Tensor or None`` runs when the tensor's gradient is
  complete, before it is stored in `.grad` (leaves, `retain_grad()` tensors) or passed on to
  the ops that made the tensor; returning a Tensor replaces the gradient. Several hooks run
  in registration order, each seeing the previous one's result.
- `register_post_accumulate_grad_hook(hook)`: ``hook(tensor)`` runs on a leaf after its
  `.grad` was updated (an optimizer can step in it).

And two on the whole pass (re-exported by chainrule.autograd): `observe_backward(observer)`
sees every node as it runs (teaching tools), `register_post_backward_hook(hook)` runs after
each successful backward (DistributedDataParallel's gradient averaging).
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import numpy as np

    from chainrule.autograd import Function
    from chainrule.tensor import Tensor

G = TypeVar("G", "np.ndarray", "Tensor")  # a gradient as the walk carries it (see below)

_ids = itertools.count()


class _Registry(dict[int, tuple[Any, dict[int, Callable[..., Any]]]]):
    """id(tensor) -> (weak reference, hooks by handle id). Keyed by identity, not by a
    WeakKeyDictionary, since `==` on tensors is elementwise; an entry goes with its tensor."""

    def hooks(self, tensor: Any) -> dict[int, Callable[..., Any]] | None:
        entry = self.get(id(tensor))
        return entry[1] if entry is not None and entry[0]() is tensor else None

    def add(self, tensor: Any) -> dict[int, Callable[..., Any]]:
        hooks = self.hooks(tensor)
        if hooks is None:
            key = id(tensor)
            hooks = {}
            self[key] = (weakref.ref(tensor, lambda _: self.pop(key, None)), hooks)
        return hooks


tensor_hooks = _Registry()
post_accumulate_hooks = _Registry()


class RemovableHandle:
    """What a `register_*hook` call returns (torch.utils.hooks.RemovableHandle): `remove()`
    unregisters the hook; usable as a context manager that removes it on exit."""

    def __init__(self, registry: dict[int, Any]) -> None:
        self.id = next(_ids)
        self._registry = registry  # the hooks of one tensor (not the tensor itself)

    def remove(self) -> None:
        self._registry.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def register(
    table: dict[int, Callable[..., Any]], hook: Callable[..., Any], prepend: bool = False
) -> RemovableHandle:
    """Put ``hook`` in ``table`` (hooks run in the table's order), last or with ``prepend``
    first; the handle removes it."""
    handle = RemovableHandle(table)
    if prepend:
        items = list(table.items())
        table.clear()
        table[handle.id] = hook
        table.update(items)
    else:
        table[handle.id] = hook
    return handle


def new_arguments(result: Any, who: object) -> tuple[Any, Any]:
    """A hook's ``(new_args, new_kwargs)`` result (a forward pre-hook with kwargs, an
    optimizer step pre-hook), or torch's error naming ``who`` for anything else."""
    if not (isinstance(result, tuple) and len(result) == 2):
        raise RuntimeError(
            f"{who} must return None or a tuple of (new_args, new_kwargs), but got {result}."
        )
    return result


def add(registry: _Registry, tensor: Any, hook: Callable[..., Any]) -> RemovableHandle:
    """Register hook for tensor in one of the two registries."""
    hooks = registry.add(tensor)
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


def run_tensor_hooks(tensor: Tensor, grad: G) -> G:
    """The gradient after tensor's hooks (grad as the walk carries it: an ndarray in the
    ordinary pass, a Tensor under create_graph; the hooks always see a Tensor)."""
    hooks = tensor_hooks.hooks(tensor)
    if not hooks:
        return grad
    carried: Any = grad  # an ndarray or a Tensor, told apart by duck typing below
    as_array = not hasattr(carried, "_data")
    value: Any = tensor._make(carried, False) if as_array else carried  # hooks see a Tensor
    for hook in tuple(hooks.values()):
        replaced = hook(value)
        if replaced is not None:
            if not hasattr(replaced, "_data"):
                raise TypeError(
                    f"a tensor hook must return a Tensor or None, got {type(replaced).__name__}"
                )
            if tuple(replaced.shape) != tuple(value.shape):
                raise RuntimeError(
                    f"hook returned a gradient of shape {list(replaced.shape)}; expected "
                    f"{list(value.shape)}"
                )
            value = replaced
    return value._data if as_array else value


def run_post_accumulate_hooks(tensor: Tensor) -> None:
    for hook in tuple((post_accumulate_hooks.hooks(tensor) or {}).values()):
        hook(tensor)


BackwardObserver = Callable[["Function", "np.ndarray", Sequence["np.ndarray | None"]], None]
backward_observers: list[BackwardObserver] = []


class observe_backward:  # used like no_grad
    """Within this block, every node that runs backward calls `observer(node, upstream,
    downstream_per_input)` (before reduction to the input shapes): the backward pass, gate
    by gate, for teaching tools such as `chainrule.viz.trace`."""

    def __init__(self, observer: BackwardObserver) -> None:
        self.observer = observer

    def __enter__(self) -> None:
        backward_observers.append(self.observer)

    def __exit__(self, *exc: object) -> None:
        backward_observers.remove(self.observer)


PostBackwardHook = Callable[[Sequence["Tensor"]], None]
post_backward_hooks: list[PostBackwardHook] = []


class PostBackwardHandle:
    """What `register_post_backward_hook` returns: ``handle.remove()`` unregisters."""

    def __init__(self, hook: PostBackwardHook) -> None:
        self.hook = hook

    def remove(self) -> None:
        if self.hook in post_backward_hooks:
            post_backward_hooks.remove(self.hook)


def register_post_backward_hook(hook: PostBackwardHook) -> PostBackwardHandle:
    """Call ``hook(leaves)`` after every successful backward pass, with the leaf tensors
    that received a gradient in it (in the spirit of PyTorch's engine callbacks).

    `DistributedDataParallel` uses it to average gradients across processes once backward
    has finished; hooks run in registration order, in the thread that ran backward.
    """
    post_backward_hooks.append(hook)
    return PostBackwardHandle(hook)
