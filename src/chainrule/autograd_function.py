"""Custom autograd functions with PyTorch's public protocol, and `autograd.grad`.

A user's op is written as in PyTorch, on Tensors::

    class Cube(chainrule.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):              # any arguments; tensors and others
            ctx.save_for_backward(x)
            ctx.scale = scale
            return x ** 3 * scale

        @staticmethod
        def backward(ctx, grad):                 # one gradient per output
            (x,) = ctx.saved_tensors
            return grad * 3 * x ** 2 * ctx.scale, None   # one per forward argument

    y = Cube.apply(x, 2.0)

`Function.__init_subclass__` (in chainrule.autograd) sees the static `forward` and gives the
class this module's `apply`. Forward runs without recording a graph; the outputs are linked
to one engine node, `CustomNode`, whose backward calls the user's backward on Tensors and
checks what comes back (count, shapes), as PyTorch does. Several outputs share the node
through `_Pick` nodes; their gradients travel together as one `_Gradients` value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule import autograd
from chainrule.autograd import Function, no_grad
from chainrule.tensor import Tensor


class FunctionCtx:
    """The `ctx` that forward and backward share: save tensors and any attributes on it.

    Attributes:
        needs_input_grad: one bool per forward argument (False for non-tensors).
    """

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        self._saved: tuple[Any, ...] = ()
        self._saved_at = 0  # creation number of the node: later in-place changes are errors
        self._non_differentiable: set[int] = set()
        self._dirty: set[int] = set()
        self.materialize_grads = True

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep tensors (inputs, outputs or None) for backward; read them back with
        `saved_tensors`, which fails if one was changed in place in between."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"save_for_backward can only save tensors or None, got {type(t).__name__}"
                )
        self._saved = tensors

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        for t in self._saved:
            if t is not None and autograd.version_counter(t).stamp > self._saved_at:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: [{t._data.dtype} tensor of shape "
                    f"{list(t.shape)}] is at version {t._version}; it was saved by "
                    "save_for_backward at an earlier version"
                )
        return self._saved

    def mark_non_differentiable(self, *outputs: Tensor) -> None:
        """These outputs get no gradient (requires_grad=False), e.g. indices of a max."""
        self._non_differentiable.update(id(t) for t in outputs)

    def mark_dirty(self, *tensors: Tensor) -> None:
        """These inputs were changed in place by forward (their version goes up)."""
        self._dirty.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """False: backward gets None (not zeros) for outputs that received no gradient."""
        self.materialize_grads = value


class _Gradients:
    """The gradients of a multi-output node's outputs, one slot each, added slot by slot
    when several reach the node (the engine adds the gradients of a tensor used twice)."""

    shape = ()  # the shape of the hidden tensor that carries it: no unbroadcasting

    def __init__(self, grads: list[np.ndarray | None]) -> None:
        self.grads = grads

    def __add__(self, other: _Gradients) -> _Gradients:
        merged = [
            a if b is None else b if a is None else a + b
            for a, b in zip(self.grads, other.grads, strict=True)
        ]
        return _Gradients(merged)


class _Pick(Function):
    """Output i of a multi-output custom function: its gradient goes in slot i."""

    __slots__ = ("label",)

    label: str
    index: int
    count: int

    @property
    def name(self) -> str:
        return self.label

    def forward(self, hidden: np.ndarray, index: int, count: int) -> np.ndarray:
        raise AssertionError("_Pick nodes are linked by hand, never applied")

    def backward(self, grad: np.ndarray) -> Any:  # a _Gradients, added slot by slot
        slots: list[np.ndarray | None] = [None] * self.count
        slots[self.index] = grad
        return _Gradients(slots)

    def backward_graph(self, grad: Any, out: Any) -> Any:
        return self.backward(grad)  # the slot holds the gradient Tensor as it is


class CustomNode(Function):
    """The graph node of one call of a user's Function: backward runs the user's backward."""

    __slots__ = ("function",)  # a slot: the name outlives release() of the saved values

    function: Any  # the user's Function subclass
    ctx: FunctionCtx
    tensor_positions: list[int]  # where each graph input sits among forward's arguments
    positions_of_args: range
    output_meta: list[tuple[tuple[int, ...], np.dtype]]  # shape and dtype of each output

    def backward(self, grad: Any) -> list[np.ndarray | None]:
        grads = self._user_backward(grad, graph=False)
        return [None if g is None else g._data.astype(t.dtype, copy=False)
                for g, t in zip(grads, self.inputs or (), strict=True)]  # fmt: skip

    def backward_graph(self, grad: Any, out: Any) -> list[Tensor | None]:
        """Under create_graph=True the user's backward runs recorded (it is written with
        Tensor ops), so a custom Function is differentiable twice when its backward is."""
        grads = self._user_backward(grad, graph=True)
        return [None if g is None else g if g.dtype == t.dtype else g.to(t.dtype)
                for g, t in zip(grads, self.inputs or (), strict=True)]  # fmt: skip

    def _user_backward(self, grad: Any, graph: bool) -> list[Tensor | None]:
        grads = grad.grads if isinstance(grad, _Gradients) else [grad]
        ctx: FunctionCtx = self.ctx
        upstream: list[Tensor | None] = []
        for g, (shape, dtype) in zip(grads, self.output_meta, strict=True):
            if g is None and ctx.materialize_grads:
                g = np.zeros(shape, dtype)
            if g is not None and not isinstance(g, Tensor):
                g = Tensor._make(np.asarray(g), False)
            upstream.append(g)
        returned = self.function.backward(ctx, *upstream)
        if not isinstance(returned, tuple):
            returned = (returned,)
        expected = len(self.positions_of_args)
        name = self.name
        if len(returned) < expected or any(g is not None for g in returned[expected:]):
            raise RuntimeError(
                f"function {name} returned an incorrect number of gradients (expected "
                f"{expected}, got {len(returned)})"
            )
        assert self.inputs is not None
        result: list[Tensor | None] = []
        for tensor, position in zip(self.inputs, self.tensor_positions, strict=True):
            g = returned[position]
            if g is None:
                result.append(None)
                continue
            if not isinstance(g, Tensor):
                raise TypeError(
                    f"function {name} returned a gradient of type {type(g).__name__} at index "
                    f"{position}; expected a Tensor or None"
                )
            array = g._data
            if array.shape != tensor.shape:
                try:
                    fits = np.broadcast_shapes(array.shape, tensor.shape) == array.shape
                except ValueError:
                    fits = False
                if not fits:
                    raise RuntimeError(
                        f"Function {name} returned an invalid gradient at index {position} - "
                        f"got {list(array.shape)} but expected shape compatible with "
                        f"{list(tensor.shape)}"
                    )
            result.append(g)
        return result

    @property
    def name(self) -> str:
        return self.function.__name__ + "Backward"


def _check_not_captured(function: type) -> None:
    if autograd.is_recording():
        raise ValueError(
            f"compile_step: the model calls the custom autograd.Function {function.__name__}, "
            "which a replay cannot run; train this model eagerly"
        )


def apply(function: Any, *args: Any, **kwargs: Any) -> Any:
    """`MyFunction.apply(*args)`: forward without a graph, then one node for the outputs."""
    _check_not_captured(function)
    tensor_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    inputs = tuple(args[i] for i in tensor_positions)
    record = autograd.is_grad_enabled() and any(t.requires_grad for t in inputs)
    ctx = FunctionCtx(tuple(record and isinstance(a, Tensor) and a.requires_grad for a in args))
    setup_context = getattr(function, "setup_context", None)
    with no_grad():
        if setup_context is None:
            returned = function.forward(ctx, *args, **kwargs)
        else:  # PyTorch 2's split form: forward(*args) without ctx, then setup_context
            returned = function.forward(*args, **kwargs)
            setup_context(ctx, args, returned)
    single = not isinstance(returned, tuple)
    outputs = list((returned,) if single else returned)
    for i, out in enumerate(outputs):
        if isinstance(out, Tensor):
            if any(out is t for t in inputs):  # an input given back: a new tensor on its memory
                fresh = Tensor._make(out._data, False)
                fresh._vc = autograd.version_counter(out)
                outputs[i] = fresh
            elif out.requires_grad or out._ctx is not None:
                # made by recorded ops inside forward (enable_grad): cut it off as torch does
                outputs[i] = out.detach()
    for t in inputs:
        if id(t) in ctx._dirty:
            autograd.bump_version(t)
    if record:
        _link(function, ctx, inputs, tensor_positions, len(args), outputs)
    return outputs[0] if single else tuple(outputs)


def _link(
    function: Any,
    ctx: FunctionCtx,
    inputs: tuple[Tensor, ...],
    tensor_positions: list[int],
    arg_count: int,
    outputs: list[Any],
) -> None:
    node_class = function.__dict__.get("_node_class")
    if node_class is None:  # type(y.grad_fn).__name__ is "MyFunctionBackward", as in torch
        node_class = type(function.__name__ + "Backward", (CustomNode,), {"__slots__": ()})
        function._node_class = node_class
    node = node_class()
    node.inputs = inputs
    node.needs_input_grad = tuple(t.requires_grad for t in inputs)
    node.function, node.ctx = function, ctx
    node.tensor_positions, node.positions_of_args = tensor_positions, range(arg_count)
    tensors = [(i, out) for i, out in enumerate(outputs) if isinstance(out, Tensor)]
    node.output_meta = [(out.shape, out.dtype) for _, out in tensors]
    differentiable = [
        (slot, out)
        for slot, (_, out) in enumerate(tensors)
        if id(out) not in ctx._non_differentiable and out.dtype.kind == "f"
    ]
    if len(tensors) == 1 and differentiable:
        out = differentiable[0][1]
        out.requires_grad, out._ctx = True, node
        out._seq = ctx._saved_at = autograd.next_creation_number()
        return
    if not differentiable:
        return
    hidden = Tensor._make(np.zeros(()), True)
    hidden._ctx = node
    hidden._seq = ctx._saved_at = autograd.next_creation_number()
    for slot, out in differentiable:
        pick = _Pick()
        pick.inputs, pick.needs_input_grad = (hidden,), (True,)
        pick.index, pick.count, pick.label = slot, len(tensors), node.name
        out.requires_grad, out._ctx = True, pick
        out._seq = autograd.next_creation_number()


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple[Tensor | None, ...]:
    """d(outputs)/d(inputs), returned instead of accumulated into `.grad` (torch.autograd.grad).

    Args:
        outputs: tensors to differentiate; a non-scalar one needs its grad_outputs entry.
        inputs: tensors (leaves or not) to differentiate with respect to.
        grad_outputs: d(loss)/d(output) per output (None: ones for a scalar output).
        retain_graph: keep the graph for another backward (default: create_graph).
        create_graph: record the backward pass (chainrule.higher_order): the gradients are
            in the graph and can be differentiated again.
        allow_unused: None for an input that the outputs do not depend on, instead of an
            error (materialize_grads=True gives zeros instead).
    """
    if is_grads_batched:
        raise RuntimeError("chainrule does not support is_grads_batched=True")
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not ins:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outs) if grad_outputs is None else [grad_outputs]
    if len(grad_outputs) != len(outs):
        raise RuntimeError(
            f"grad requires one grad_output per output: got {len(grad_outputs)} for "
            f"{len(outs)} outputs"
        )
    if allow_unused is None:
        allow_unused = materialize_grads
    for t in ins:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    seeds: list[Any] = []
    for i, (out, g) in enumerate(zip(outs, grad_outputs, strict=True)):
        if not out.requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )
        if g is None:
            if out._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            seed = np.ones_like(out._data)
        elif create_graph and isinstance(g, Tensor):
            if g.shape != out.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {list(g.shape)} "
                    f"and output[{i}] has a shape of {list(out.shape)}"
                )
            seeds.append((out, g if g.dtype == out.dtype else g.to(out.dtype)))
            continue
        else:
            seed = np.array(g._data if isinstance(g, Tensor) else g, dtype=out.dtype)
            if seed.shape != out.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {list(seed.shape)} "
                    f"and output[{i}] has a shape of {list(out.shape)}"
                )
        seeds.append((out, Tensor._make(seed, False) if create_graph else seed))
    captured: dict[int, Any] = {id(t): None for t in ins}
    keep = create_graph if retain_graph is None else retain_graph
    if create_graph:
        autograd.implementation("backward_graph")(seeds, keep, captured)
    else:
        autograd.run_backward_many(seeds, keep, captured)
    result: list[Tensor | None] = []
    for t in ins:
        g = captured[id(t)]
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the "
                    "graph. Set allow_unused=True if this is the desired behavior."
                )
            zeros = Tensor._make(np.zeros_like(t._data), False)
            result.append(zeros if materialize_grads else None)
            continue
        if create_graph:  # a Tensor in the graph
            result.append(g if g.dtype == t.dtype else g.to(t.dtype))
            continue
        array = np.array(g, dtype=t.dtype)  # its own array, never one the graph still holds
        result.append(Tensor._make(array, False))
    return tuple(result)


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Any = None,
) -> None:
    """Accumulate d(Σ_i <grad_tensors[i], tensors[i]>)/d(leaf) into every leaf's `.grad`.

    One backward pass from several outputs at once (torch.autograd.backward): a tensor two
    outputs share gets the sum of both contributions, and the graph is walked once.

    Args:
        tensors: the outputs, one tensor or a sequence.
        grad_tensors: d(loss)/d(output) per output; None (or a None entry) for a scalar
            output means 1.
        retain_graph, create_graph, inputs: as in Tensor.backward.
    """
    outs = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grads = [grad_tensors] * len(outs) if grad_tensors is None else [grad_tensors]
    else:
        grads = list(grad_tensors)
    if len(grads) < len(outs):  # extra gradients are ignored, as torch does
        raise RuntimeError(f"got {len(outs)} tensors and {len(grads)} gradients")
    grads = grads[: len(outs)]
    for i, out in enumerate(outs):
        if not out.requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )
    if create_graph or inputs is not None:
        # the weighted sum has exactly these gradients (d<g, t>/dt = g); Tensor.backward
        # already knows create_graph and inputs=
        total: Any = None
        for out, g in zip(outs, grads, strict=True):
            term = out if g is None else (out * g).sum()
            total = term if total is None else total + term
        total.backward(retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)
        return
    seeds = []
    for i, (out, g) in enumerate(zip(outs, grads, strict=True)):
        if g is None:
            if out._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            seed = np.ones_like(out._data)
        else:
            seed = np.array(g._data if isinstance(g, Tensor) else g, dtype=out.dtype)
            if seed.shape != out.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_tensors[{i}] has a shape of {list(seed.shape)} "
                    f"and tensors[{i}] has a shape of {list(out.shape)}"
                )
        seeds.append((out, seed))
    autograd.run_backward_many(seeds, bool(retain_graph), None)


autograd.register_implementation(apply=apply, grad=grad, backward=backward)
