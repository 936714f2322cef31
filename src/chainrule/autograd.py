"""The engine's heart: the graph node (`Function`), grad mode, and the backward pass.

A forward op is a `Function` subclass with two methods on ndarrays::

    class Mul(Function):
        def forward(self, a, b):          # runs once, saves what backward needs on `self`
            self.a, self.b = a, b
            return a * b

        def backward(self, grad):         # returns one gradient (or None) per input
            return grad * self.b, grad * self.a     # the mul gate swaps its inputs

`Function.apply` wraps the ndarray result in a Tensor and, when a gradient is needed, links
the output to this node. `run_backward` walks the nodes in reverse topological order,
multiplying local derivatives by the upstream gradient (the chain rule) and summing the
gradients of a tensor used in several places (the copy gate adds). Gradients of broadcast
inputs are reduced back to each input's shape here, once, so no op has to.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:
    from chainrule.tensor import Tensor

_F = TypeVar("_F", bound=Callable[..., Any])


class _GradMode:
    enabled = True


def is_grad_enabled() -> bool:
    """True when new operations record a graph for backward."""
    return _GradMode.enabled


class _SetGradMode:
    """Context manager and decorator that sets grad mode and restores it afterwards."""

    mode = True

    def __new__(cls, func: Callable[..., Any] | None = None) -> Any:
        """`with no_grad():`, `@no_grad()` and the bare `@no_grad` all work, as in PyTorch."""
        instance = super().__new__(cls)
        return instance if func is None else instance(func)

    def __enter__(self) -> None:
        self._previous = _GradMode.enabled
        _GradMode.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        _GradMode.enabled = self._previous

    def __call__(self, func: _F) -> _F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_SetGradMode):  # noqa: N801 - PyTorch's name
    """Operations inside record no graph: use it for evaluation and for weight updates.

    Example::

        with chainrule.no_grad():
            w -= lr * w.grad
    """

    mode = False


class enable_grad(_SetGradMode):  # noqa: N801 - PyTorch's name
    """Turns graph recording back on inside a `no_grad` block."""

    mode = True


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum `grad` down to `shape`, undoing NumPy broadcasting.

    Broadcasting copies an input along new leading axes and along axes of size 1; the copy
    gate's rule says the gradients of all copies add up, so we sum over exactly those axes.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


class Function:
    """One node of the computational graph: an op's forward and backward on ndarrays.

    Subclasses implement `forward(*arrays, **options) -> ndarray` (saving on `self` only
    what backward needs) and `backward(grad) -> gradient per input` (None where an input
    needs no gradient; `self.needs_input_grad[i]` says which do).
    """

    __slots__ = ("inputs", "needs_input_grad", "__dict__")

    inputs: tuple[Tensor, ...] | None
    needs_input_grad: tuple[bool, ...]

    def forward(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> Sequence[np.ndarray | None] | np.ndarray | None:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Tensor, **options: Any) -> Tensor:
        """Run forward on the inputs' arrays and link the result into the graph."""
        from chainrule.tensor import Tensor  # noqa: PLC0415 - tensor.py imports this module

        fn = cls()
        out = fn.forward(*[t.data for t in inputs], **options)
        if type(out) is not np.ndarray:  # NumPy returns scalars from 0-d arithmetic
            out = np.asarray(out)
        requires_grad = False
        if _GradMode.enabled:
            needs = tuple(t.requires_grad for t in inputs)
            requires_grad = True in needs
        result = Tensor._make(out, requires_grad)
        if requires_grad:
            fn.inputs = inputs
            fn.needs_input_grad = needs
            result._ctx = fn
        return result

    @property
    def name(self) -> str:
        """PyTorch-style node name, e.g. 'MulBackward'."""
        return type(self).__name__ + "Backward"

    def saved_values(self) -> dict[str, Any]:
        """What forward cached for backward (empty once the graph has been freed)."""
        return dict(self.__dict__)

    def release(self) -> None:
        """Drop the saved values and the links to the inputs: the graph is freed."""
        self.__dict__.clear()
        self.inputs = None


BackwardObserver = Callable[["Function", np.ndarray, Sequence["np.ndarray | None"]], None]
_backward_observers: list[BackwardObserver] = []


class observe_backward:  # noqa: N801 - used like no_grad
    """Within this block, every node that runs backward calls `observer(node, upstream,
    downstream_per_input)` (before reduction to the input shapes): the backward pass, gate
    by gate, for teaching tools such as `chainrule.viz.trace`."""

    def __init__(self, observer: BackwardObserver) -> None:
        self.observer = observer

    def __enter__(self) -> None:
        _backward_observers.append(self.observer)

    def __exit__(self, *exc: object) -> None:
        _backward_observers.remove(self.observer)


def _topological_order(root: Tensor) -> list[Tensor]:
    """Tensors reachable from `root` through graph nodes, each after all its inputs.

    Iterative depth-first search: a chain of 100,000 ops must not hit the recursion limit.
    A tensor is marked visited when it is expanded, not when it is pushed: in x * (x * 2)
    the x pushed first must wait until x * 2, which also needs it, has been expanded.
    """
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        tensor, inputs_done = stack.pop()
        if inputs_done:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        fn = tensor._ctx
        if fn is None:
            continue
        if fn.inputs is None:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the "
                "graph are freed when you call .backward(). Specify retain_graph=True if you "
                "need to backward through the graph a second time."
            )
        for parent in fn.inputs:
            if parent.requires_grad and id(parent) not in visited:
                stack.append((parent, False))
    return order


def run_backward(root: Tensor, grad: np.ndarray, retain_graph: bool) -> None:
    """Propagate `grad` (d root / d root) back to every leaf that requires a gradient."""
    from chainrule.tensor import Tensor  # noqa: PLC0415

    order = _topological_order(root)
    grads: dict[int, np.ndarray] = {id(root): grad}
    handed_out: set[int] = set()  # arrays already stored in some .grad: never alias two
    with no_grad():
        for tensor in reversed(order):
            g = grads.pop(id(tensor), None)
            if g is None:
                continue
            fn = tensor._ctx
            if fn is None or tensor._retains_grad:
                if g.dtype != tensor.data.dtype:
                    g = g.astype(tensor.data.dtype)
                if tensor.grad is None:
                    if not g.flags.owndata or not g.flags.writeable or id(g) in handed_out:
                        g = g.copy()
                    handed_out.add(id(g))
                    tensor.grad = Tensor._make(np.asarray(g), False)
                else:
                    tensor.grad.data = tensor.grad.data + g
                if fn is None:
                    continue
            assert fn.inputs is not None
            input_grads: Any = fn.backward(g)
            if not isinstance(input_grads, (tuple, list)):
                input_grads = (input_grads,)  # one input: an ndarray, a NumPy scalar or None
            for observer in _backward_observers:
                observer(fn, g, input_grads)
            for parent, parent_grad, needed in zip(
                fn.inputs, input_grads, fn.needs_input_grad, strict=True
            ):
                if not needed or parent_grad is None:
                    continue
                if parent_grad.shape != parent.data.shape:
                    parent_grad = unbroadcast(parent_grad, parent.data.shape)
                key = id(parent)
                previous = grads.get(key)
                # the copy (fan-out) gate: a tensor used twice gets the sum of both gradients
                grads[key] = parent_grad if previous is None else previous + parent_grad
            if not retain_graph:
                fn.release()
