"""`tensor.grad_fn` as PyTorch shows it: a node named like torch's (`AddBackward0`,
`MmBackward0`, `NllLossBackward0` ...), with `name()` and `next_functions`.

The engine's nodes are the op classes of chainrule.ops (`Add`, `MatMul`, `Reshape` ...),
one per idea, where torch has one per ATen function and overload: `x @ w` is `MmBackward0`
for matrices and `DotBackward0` for vectors, `x.sum()` is `SumBackward0` and `x.sum(1)`
`SumBackward1`. So `grad_fn` returns a thin view of the node whose class carries torch's
name, chosen from the node's op and what it saved (`torch_name`); everything else (saved
values, inputs) is read through to the engine's node.

A node that stands for several (`chainrule.ops.linear_activation`: a Linear and its
activation run as one by nn.Sequential) has an `unfuse(output)` method that puts the nodes
it stands for in its place; whatever shows the graph (`of`, `next_functions`,
`unfuse_graph` for chainrule.viz) calls it first, so the graph looks as it would unfused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_classes: dict[str, type] = {}


class GradFn:
    """A graph node as `tensor.grad_fn` shows it (the engine's node is `node`)."""

    __slots__ = ("node",)

    def __init__(self, node: Any) -> None:
        self.node = node

    def name(self) -> str:
        return type(self).__name__

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """One (node, 0) per input: its grad_fn, an AccumulateGrad for a leaf that requires
        grad, None for a constant (PyTorch's layout)."""
        inputs = self.node.inputs or ()
        return tuple((_next(t), 0) for t in inputs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.node, name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GradFn) and other.node is self.node

    def __hash__(self) -> int:
        return id(self.node)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {hex(id(self.node))}>"


class AccumulateGrad:
    """The node that adds into a leaf's `.grad` (`variable` is the leaf)."""

    def __init__(self, variable: Any) -> None:
        self.variable = variable
        self.next_functions = ()

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"


def _next(tensor: Any) -> Any:
    if tensor._ctx is not None:
        return view(unfuse(tensor))
    return AccumulateGrad(tensor) if tensor.requires_grad else None


def of(tensor: Any) -> GradFn | None:
    """`tensor.grad_fn`: the view of the node that made it (None for a leaf)."""
    return None if tensor._ctx is None else view(unfuse(tensor))


def unfuse(tensor: Any) -> Any:
    """The node that made `tensor` (not None), after a fused node has put the nodes it
    stands for in its place (its `unfuse(output)`; see the module docstring)."""
    split = getattr(tensor._ctx, "unfuse", None)
    if split is not None:
        split(tensor)
    return tensor._ctx


def unfuse_graph(root: Any) -> None:
    """`unfuse` every node of the graph behind `root` (iteratively: deep graphs are fine)."""
    stack, seen = [root], set()
    while stack:
        tensor = stack.pop()
        if id(tensor) in seen or tensor._ctx is None:
            continue
        seen.add(id(tensor))
        stack.extend(unfuse(tensor).inputs or ())


def view(node: Any) -> GradFn:
    """The node as torch shows it (a class per name, made on first use)."""
    name = torch_name(node)
    cls = _classes.get(name)
    if cls is None:
        cls = _classes[name] = type(name, (GradFn,), {"__slots__": ()})
    return cls(node)


def _is_constant_scalar(t: Any) -> bool:
    return t._ctx is None and not t.requires_grad and t._data.ndim == 0


def torch_name(node: Any) -> str:
    """torch's node name for an engine node (its op and what it saved)."""
    op = type(node).__name__
    rule = _RULES.get(op)
    if rule is not None:
        try:
            return rule(node)
        except (AttributeError, TypeError, IndexError):  # freed by backward: the plain name
            pass
    custom = getattr(node, "function", None)
    if custom is not None:  # a user's autograd.Function: "MyFunctionBackward", as torch
        return str(node.name)
    return op + "Backward0"


def _matmul(node: Any) -> str:
    a, b = node.inputs
    dims = (a.ndim, b.ndim)
    return {(1, 1): "DotBackward0", (2, 2): "MmBackward0", (2, 1): "MvBackward0"}.get(
        dims, "UnsafeViewBackward0" if a.ndim > 2 and b.ndim == 2 else "BmmBackward0"
    )


def _linear(node: Any) -> str:
    x = node.inputs[0]
    if x.ndim != 2:
        return "ViewBackward0"
    return "AddmmBackward0" if len(node.inputs) == 3 else "MmBackward0"


def _reshape(node: Any) -> str:
    """squeeze, unsqueeze and view are one Reshape op here: told apart by the shapes."""
    before, after = list(node.input_shape), list(node.shape)
    if len(after) == len(before) + 1 and [n for n in after] != before:
        for i in range(len(after)):
            if after[i] == 1 and after[:i] + after[i + 1 :] == before:
                return "UnsqueezeBackward0"
    if len(after) < len(before) and [n for n in before if n != 1] == [n for n in after if n != 1]:
        return "SqueezeBackward1" if len(before) - len(after) == 1 else "SqueezeBackward0"
    return "ViewBackward0"


def _getitem(node: Any) -> str:
    index = node.index if isinstance(node.index, tuple) else (node.index,)
    if any(isinstance(p, np.ndarray) for p in index):
        return "IndexBackward0"
    if all(isinstance(p, (int, np.integer)) for p in index):
        return "SelectBackward0"
    return "SliceBackward0"


_RULES: dict[str, Any] = {
    "Sub": lambda n: "RsubBackward1" if _is_constant_scalar(n.inputs[0]) else "SubBackward0",
    "Pow": lambda n: "PowBackward2" if _is_constant_scalar(n.inputs[0]) else "PowBackward1",
    "PowScalar": lambda n: "PowBackward0",
    "MatMul": _matmul,
    "Linear": _linear,
    "Reshape": _reshape,
    "Permute": lambda n: "PermuteBackward0",
    "Sum": lambda n: "SumBackward0" if n.axis is None else "SumBackward1",
    "Mean": lambda n: "MeanBackward0" if n.axis is None else "MeanBackward1",
    "Var": lambda n: "VarBackward0",
    "GetItem": _getitem,
    "Clamp": lambda n: "ClampBackward1",  # torch 2.13: the Scalar? min/max overload
    "Cast": lambda n: "ToCopyBackward0",
    "CrossEntropyIndex": lambda n: "NllLossBackward0",
    "EmbeddingLookup": lambda n: "EmbeddingBackward0",
    "CopyInto": lambda n: "CopyBackwards",
    "SetItem": lambda n: "IndexPutBackward0",
    "ViewScatter": lambda n: "CopySlices",
    "Amax": lambda n: "AmaxBackward0",
    "LeakyRelu": lambda n: "LeakyReluBackward0",
    # a Linear and its activation as one node (ops.linear_activation): the activation made
    # the output (`unfuse` shows the Linear's node behind it)
    "LinearRelu": lambda n: "ReluBackward0",
    "LinearSigmoid": lambda n: "SigmoidBackward0",
    "LinearTanh": lambda n: "TanhBackward0",
    "_Pick": lambda n: n.label,
}
