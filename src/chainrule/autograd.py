"""The engine's heart: the graph node (`Function`) and the backward pass (grad mode lives in
`chainrule.grad_mode`, the entry points grad/backward/gradcheck that upper floors implement
in `chainrule.autograd_api`; both are re-exported here).

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

import contextlib
import inspect
import itertools
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import grad_hooks
from chainrule.autograd_api import backward as backward
from chainrule.autograd_api import grad as grad
from chainrule.autograd_api import gradcheck as gradcheck
from chainrule.autograd_api import gradgradcheck as gradgradcheck
from chainrule.autograd_api import implementation as implementation
from chainrule.autograd_api import register_implementation as register_implementation
from chainrule.grad_hooks import observe_backward as observe_backward
from chainrule.grad_hooks import register_post_backward_hook as register_post_backward_hook
from chainrule.grad_hooks import run_post_accumulate_hooks, run_tensor_hooks
from chainrule.grad_mode import MODE
from chainrule.grad_mode import enable_grad as enable_grad
from chainrule.grad_mode import inference_mode as inference_mode
from chainrule.grad_mode import is_grad_enabled as is_grad_enabled
from chainrule.grad_mode import is_inference_mode_enabled as is_inference_mode_enabled
from chainrule.grad_mode import no_grad as no_grad
from chainrule.grad_mode import set_grad_enabled as set_grad_enabled
from chainrule.types import OpArg, OpOption

if TYPE_CHECKING:
    from chainrule.tensor import Tensor


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


class VersionCounter:
    """How many in-place changes a block of memory has had, shared by every tensor that
    views it (a tensor and its `detach()`, and views made by reshape or basic indexing).

    An op that saves a tensor for backward notes the count it saw; backward compares it
    with the count then, and raises PyTorch's error if the tensor was changed in between.
    Tensors get a counter only on first need (most are never shared or changed in place).
    """

    __slots__ = ("value", "stamp")

    def __init__(self) -> None:
        self.value = 0
        self.stamp = 0  # creation number (see _creation_counter) at the last change


def version_counter(tensor: Tensor) -> VersionCounter:
    """The tensor's version counter, made now if it had none; a view uses its base's."""
    counter = tensor._vc
    if counter is None:
        base = getattr(tensor, "_base", None)
        counter = VersionCounter() if base is None else version_counter(base)
        tensor._vc = counter
    return counter


def bump_version(tensor: Tensor) -> None:
    """Record one in-place change of the tensor's memory, stamped with the graph's clock:
    a node created before the stamp that saved this memory now holds changed values."""
    global _last_change
    counter = tensor._vc
    if counter is None:
        counter = version_counter(tensor)
    counter.value += 1
    counter.stamp = _last_change = next(_creation_counter)


def bump_versions(tensors: Iterable[Tensor]) -> None:
    """`bump_version` of each tensor, in one call and with one stamp for all: a captured
    step's update changes its parameters in place at once. The same counts; no node is
    made between the changes, so one stamp orders them against every node as their own
    stamps would."""
    global _last_change
    _last_change = stamp = next(_creation_counter)
    for tensor in tensors:
        counter = tensor._vc or version_counter(tensor)
        counter.value += 1
        counter.stamp = stamp


_creation_counter = itertools.count(1)  # orders graph tensors (and in-place changes) in time
# the stamp of the latest in-place change anywhere: backward skips the saved-memory checks
# of nodes created after it (the usual case: no in-place op inside the graph)
_last_change = 0
_recorders: list[list[Any]] = []  # the open recordings (see `recording`)


def next_creation_number() -> int:
    """A new number on the graph's clock, later than every graph tensor and in-place change
    so far: for code above the engine that links a node or moves a tensor in the graph
    itself (custom autograd.Functions, in-place ops), as `Function.apply` does."""
    return next(_creation_counter)


def last_change() -> int:
    """The clock's number at the latest in-place change anywhere (0 before any): a node
    created after it saved no changed memory, so backward skips its checks."""
    return _last_change


@contextlib.contextmanager
def recording() -> Iterator[list[tuple[Function, tuple[Tensor, ...], dict[str, Any], Tensor]]]:
    """Record the ops that run inside the block, in order::

        with autograd.recording() as ops:
            output = model(x)
        # ops: one (node, input tensors, options, output tensor) per Function.apply

    The seam `chainrule.compile_step` records a training step through: each entry names
    the op's class (``type(node)``), the tensors it read, the keyword options it ran with
    and what it produced, whether or not grad mode builds a graph. Only the innermost open
    recording receives an op. Custom `autograd.Function`s refuse to run while recording
    (a replay could not run their Python)."""
    ops: list[Any] = []
    _recorders.append(ops)
    try:
        yield ops
    finally:
        _recorders.remove(ops)


def is_recording() -> bool:
    """Whether a `recording()` block is open: what cannot be replayed (a custom
    autograd.Function, an in-place change inside the graph) refuses to run then."""
    return bool(_recorders)


_tensor_hooks = grad_hooks.tensor_hooks  # Tensor.register_hook (empty: nothing to do)
_post_accumulate_hooks = grad_hooks.post_accumulate_hooks
_backward_observers = grad_hooks.backward_observers  # observe_backward (empty: nothing to do)
_post_backward_hooks = grad_hooks.post_backward_hooks  # register_post_backward_hook


def _no_tensor_yet(data: np.ndarray, requires_grad: bool) -> Tensor:
    """Replaced by Tensor._make once tensor.py is imported (it imports this module)."""
    raise RuntimeError("chainrule.tensor is not imported")


def _no_node_yet(data: np.ndarray, fn: Function, seq: int) -> Tensor:
    raise RuntimeError("chainrule.tensor is not imported")


_make_tensor: Callable[[np.ndarray, bool], Tensor] = _no_tensor_yet
_make_node: Callable[[np.ndarray, Function, int], Tensor] = _no_node_yet
_new_object = object.__new__
_data_of = operator.attrgetter("_data")
_requires_grad_of = operator.attrgetter("requires_grad")


def set_tensor_factory(
    make: Callable[[np.ndarray, bool], Tensor],
    make_node: Callable[[np.ndarray, Function, int], Tensor],
) -> None:
    """How the engine wraps an array into a Tensor: ``make(array, requires_grad)`` for a
    tensor outside the graph, ``make_node(array, fn, seq)`` for the output of node `fn`
    created at `seq` on the graph's clock. Set by chainrule.tensor (a floor above, which
    imports this module) when it is imported."""
    global _make_tensor, _make_node
    _make_tensor, _make_node = make, make_node


class Function:
    """One node of the computational graph: an op's forward and backward on ndarrays.

    Subclasses implement `forward(*arrays, **options) -> ndarray` (saving on `self` only
    what backward needs) and `backward(grad) -> gradient per input` (None where an input
    needs no gradient; `self.needs_input_grad[i]` says which do).
    """

    __slots__ = ("inputs", "needs_input_grad", "__dict__")

    inputs: tuple[Tensor, ...] | None
    needs_input_grad: tuple[bool, ...]

    # Which tensors backward reads from memory that forward saved: (input index, condition)
    # pairs, index -1 for the output; a condition j means "only when input j needs a
    # gradient" (a @ b reads b only for a's gradient). Changing one of them in place between
    # forward and backward raises PyTorch's error instead of giving a wrong gradient.
    saved: tuple[tuple[int, int | None], ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass with a static `forward(ctx, ...)` is a user's function written with
        PyTorch's protocol (see chainrule.autograd_function): its `apply` is that one."""
        super().__init_subclass__(**kwargs)
        if isinstance(inspect.getattr_static(cls, "forward"), staticmethod):
            cls.apply = classmethod(_apply_custom)  # type: ignore[assignment]

    def forward(self, *args: OpArg, **kwargs: OpOption) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> Sequence[np.ndarray | None] | np.ndarray | None:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Tensor, **options: OpOption) -> Tensor:
        """Run forward on the inputs' arrays and link the result into the graph.

        Every op of every step passes here, so it is written for its cost: `map` with a C
        attribute getter instead of list comprehensions (each a Python frame in 3.11), no
        Function subclass has a `__new__` of its own (object's is called directly), and a
        graph output is made with its node in one call (`_make_node`)."""
        fn = _new_object(cls)
        out = fn.forward(*map(_data_of, inputs), **options)
        if type(out) is not np.ndarray:  # NumPy returns scalars from 0-d arithmetic
            out = np.asarray(out)
        if MODE.enabled:
            needs = tuple(map(_requires_grad_of, inputs))
            if True in needs:
                fn.inputs = inputs
                fn.needs_input_grad = needs
                result = _make_node(out, fn, next(_creation_counter))
            else:
                result = _make_tensor(out, False)
        else:
            result = _make_tensor(out, False)
        if _recorders:  # chainrule.capture is recording a step
            _recorders[-1].append((fn, inputs, options, result))
        return result

    @property
    def graph_inputs(self) -> tuple[Tensor, ...]:
        """The input Tensors, for a `backward_graph(grad, out)` (chainrule.higher_order): the
        double-backward form of backward, written with Tensor ops on them."""
        assert self.inputs is not None, FREED_GRAPH
        return self.inputs

    @property
    def name(self) -> str:
        """PyTorch-style node name, e.g. 'MulBackward'."""
        return type(self).__name__ + "Backward"

    def saved_values(self) -> dict[str, object]:
        """What forward cached for backward (empty once the graph has been freed)."""
        return dict(self.__dict__)

    def release(self) -> None:
        """Drop the saved values and the links to the inputs: the graph is freed. (The
        backward walk does the same inline, saving a call per node.)"""
        self.__dict__.clear()
        self.inputs = None


def _apply_custom(cls: type, *args: Any, **kwargs: Any) -> Any:
    return implementation("apply")(cls, *args, **kwargs)


FREED_GRAPH = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward(). Specify retain_graph=True if you need to backward through "
    "the graph a second time."
)


def run_backward(root: Tensor, grad: np.ndarray, retain_graph: bool) -> None:
    """Propagate `grad` (d root / d root) back to every leaf that requires a gradient.

    Nodes run in reverse creation order: every tensor is created after its inputs, so a
    tensor's gradient is complete once every tensor created after it has passed its
    gradient back. A heap keyed by creation number gives that order in one pass, without a
    separate topological sort (and without recursion: a chain of 100,000 ops is fine).
    While the pass runs, each tensor's incoming gradient waits in its `_flow` slot.
    """
    if root._ctx is None:  # backward on a leaf: d leaf / d leaf
        if _tensor_hooks:
            grad = run_tensor_hooks(root, grad)
        accumulate(root, grad, set())
        for hook in tuple(_post_backward_hooks):
            hook((root,))
        return
    run_backward_many([(root, grad)], retain_graph, None)


def run_backward_many(
    seeds: Sequence[tuple[Tensor, Any]],
    retain_graph: bool,
    capture: dict[int, Any] | None,
    create_graph: bool = False,
) -> None:
    """The backward pass from several outputs at once, each with its seed gradient.

    With `capture` (id of tensor -> None), nothing is accumulated into any `.grad`: the
    complete gradient of each listed tensor is stored in `capture` instead (autograd.grad).

    With `create_graph` the same walk records a graph (chainrule.higher_order supplies the
    pieces): grad mode stays on, the seeds and flowing gradients are Tensors, each node steps
    through `node_backward` (its `backward_graph`, written with Tensor ops), broadcast dims
    are summed away by recorded ops, a retained gradient is the flowing Tensor itself, leaves
    accumulate out of place, and no observer or post-backward hook runs. The eager pass pays
    one test of a local flag per node for sharing the walk.
    """
    handed_out: set[int] = set()  # arrays already stored in some .grad
    reduce: Callable[[Any, tuple[int, ...]], Any] = unbroadcast
    if create_graph:
        node_backward = implementation("node_backward")
        reduce = implementation("unbroadcast_graph")
        accumulate_graph = implementation("accumulate_graph")
    pending: list[tuple[int, Tensor]] = []
    leaves: list[Tensor] = []
    for root, seed in seeds:
        if root._flow is not None:  # the same output twice: the seeds add up
            root._flow = root._flow + seed
            continue
        root._flow = seed
        if root._ctx is None:
            leaves.append(root)
        else:
            pending.append((-root._seq, root))
    pending.sort()
    eager = not create_graph
    finished = False
    previous_mode, MODE.enabled = MODE.enabled, create_graph
    try:
        while pending:
            tensor = heappop(pending)[1]
            fn = tensor._ctx
            assert fn is not None  # only graph tensors are queued
            inputs = fn.inputs
            if inputs is None:
                raise RuntimeError(FREED_GRAPH)
            g: Any = tensor._flow  # complete: every later tensor has passed its share back
            tensor._flow = None
            if _tensor_hooks:
                g = run_tensor_hooks(tensor, g)
            if capture is not None:
                if id(tensor) in capture:
                    capture[id(tensor)] = g
            elif tensor._retains_grad:
                if eager:
                    accumulate(tensor, g, handed_out)
                else:
                    tensor.grad = g
            seq = tensor._seq
            if _last_change > seq and fn.saved:
                check_saved(fn, tensor)
            if eager:
                input_grads: Any = fn.backward(g)
                if type(input_grads) is not tuple and type(input_grads) is not list:
                    input_grads = (input_grads,)  # one input: an ndarray, a NumPy scalar or None
                if _backward_observers:
                    for observer in _backward_observers:
                        observer(fn, g, input_grads)
            else:
                input_grads = node_backward(fn, g, tensor)
            for parent, parent_grad, needed in zip(
                inputs, input_grads, fn.needs_input_grad, strict=True
            ):
                if not needed or parent_grad is None:
                    continue
                if parent._seq > seq:  # changed in place after this node used it
                    parent = version_before(parent, seq)
                shape = parent._data.shape
                if parent_grad.shape != shape:
                    parent_grad = reduce(parent_grad, shape)
                previous = parent._flow
                if previous is not None:
                    # the copy (fan-out) gate: a tensor used twice gets the sum of both
                    parent._flow = previous + parent_grad
                elif parent._ctx is None:
                    parent._flow = parent_grad
                    leaves.append(parent)
                else:
                    parent._flow = parent_grad
                    heappush(pending, (-parent._seq, parent))
            if not retain_graph:  # fn.release(), inline: the graph is freed
                fn.__dict__.clear()
                fn.inputs = None
        # the usual leaf, a parameter after zero_grad: no hook, no .grad yet, a gradient of
        # its dtype in an array of its own; `accumulate`'s first case inline (a call per
        # leaf costs more than the tests)
        direct = eager and capture is None and not _tensor_hooks and not _post_accumulate_hooks
        for leaf in leaves:
            g = leaf._flow
            leaf._flow = None
            if (
                direct
                and leaf.grad is None
                and type(g) is np.ndarray
                and g.dtype is leaf._data.dtype
                and g.base is None
                and id(g) not in handed_out
            ):
                handed_out.add(id(g))
                leaf.grad = _make_tensor(g, False)
                continue
            if _tensor_hooks:
                g = run_tensor_hooks(leaf, g)
            if capture is not None:
                if id(leaf) in capture:
                    capture[id(leaf)] = g
            elif eager:
                accumulate(leaf, g, handed_out)
            else:
                accumulate_graph(leaf, g)
        finished = True
    finally:
        MODE.enabled = previous_mode
        if not finished:  # after an error: leave no gradient behind
            for _, waiting in pending:
                waiting._flow = None
            for leaf in leaves:
                leaf._flow = None
    if capture is None and eager and _post_backward_hooks:
        for hook in tuple(_post_backward_hooks):  # after success only: gradients complete
            hook(leaves)


def version_before(tensor: Tensor, seq: int) -> Tensor:
    """The version of a tensor that a node created at `seq` used: an in-place op gives the
    tensor a new place in the graph and keeps the one before in `_prev`."""
    while tensor._seq > seq:
        tensor = tensor._prev
    return tensor


def _describe(tensor: Tensor, fn: Function | None) -> str:
    where = f", which is output 0 of {fn.name}," if fn is not None else ""
    return f"[{tensor._data.dtype} tensor of shape {list(tensor._data.shape)}]{where}"


def check_saved(fn: Function, output: Tensor) -> None:
    """Raise PyTorch's error if memory that `fn` saved in forward was changed in place since
    (a stamp later than the node's creation number)."""
    inputs = fn.inputs
    assert inputs is not None
    seq = output._seq
    for index, condition in fn.saved:
        if index >= len(inputs) or (condition is not None and not fn.needs_input_grad[condition]):
            continue
        tensor = output if index < 0 else inputs[index]
        counter = version_counter(tensor)
        if counter.stamp > seq:
            owner = fn if index < 0 else tensor._ctx
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by "
                f"an inplace operation: {_describe(tensor, owner)} is at version "
                f"{counter.value}; it was saved for {fn.name} at an earlier version. Hint: "
                "compute a new tensor instead (x = x + 1, not x += 1), or clone() it "
                "before the in-place change."
            )


def accumulate(tensor: Tensor, g: Any, handed_out: set[int]) -> None:
    """Add g into tensor.grad (cast to its dtype); never let two .grad tensors share one
    array (`handed_out`: the ids of the arrays already stored in some .grad this pass)."""
    if g.dtype != tensor._data.dtype:
        g = g.astype(tensor._data.dtype)
    if tensor.grad is not None:
        tensor.grad._data = tensor.grad._data + g
    else:
        if type(g) is not np.ndarray or g.base is not None or id(g) in handed_out:
            g = np.array(g)  # a view or a shared array: .grad gets an array of its own
        handed_out.add(id(g))
        tensor.grad = _make_tensor(g, False)
    if _post_accumulate_hooks:
        run_post_accumulate_hooks(tensor)
