"""The backward pass that records a graph (`create_graph=True`): gradients of gradients.

The ordinary pass (`chainrule.autograd.run_backward_many`) multiplies ndarrays and records
nothing: fast, but its gradients are constants. With `create_graph=True` the same walk (one
function, given the pieces this module registers) runs with grad mode on and with Tensors as
the flowing gradients, and each node contributes its
`backward_graph(grad, out)`: the same chain-rule step written with Tensor ops (so it is
recorded, and differentiable again), reading the node's inputs (`node.inputs`) and its
output `out` as Tensors. That gives gradient penalties, `grad(grad(y, x,
create_graph=True), x)` and Hessian-vector products.

An op without `backward_graph` still gives its (first) gradient: its ndarray backward runs
and the result is linked to a `DoubleBackwardUnsupported` node, which raises "double
backward of <op> is not supported" only if a later backward actually reaches it — the
gradient itself is right, only differentiating it again is refused, as PyTorch does for its
once-differentiable functions. tests/engine/test_double_backward.py lists every op.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule import autograd, grad_hooks
from chainrule.autograd import Function
from chainrule.tensor import Tensor


class DoubleBackwardUnsupported(Function):
    """The gradient an op without `backward_graph` gave under create_graph=True: a value,
    linked to the upstream gradient and the op's inputs so that differentiating it again
    raises instead of silently giving zero."""

    __slots__ = ("op_name",)

    op_name: str

    def forward(self, *arrays: np.ndarray, value: np.ndarray) -> np.ndarray:
        return value

    def backward(self, grad: np.ndarray) -> Any:
        raise RuntimeError(
            f"double backward of {self.op_name} is not supported: chainrule computes its "
            "gradient but cannot differentiate that gradient again"
        )

    @property
    def name(self) -> str:
        return "NotImplemented"


def _unsupported(fn: Function, grad: Tensor, value: Any) -> Tensor | None:
    """Wrap the array gradient of an op that has no `backward_graph`."""
    if value is None:
        return None
    assert fn.inputs is not None
    links = (grad, *fn.inputs)
    out = DoubleBackwardUnsupported.apply(*links, value=np.asarray(value))
    if out._ctx is not None:
        out._ctx.op_name = fn.name  # type: ignore[attr-defined]
    return out


def unbroadcast_graph(grad: Tensor, shape: tuple[int, ...]) -> Tensor:
    """`autograd.unbroadcast` with recorded ops: sum the broadcast dims of grad away."""
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(stretched, keepdim=True)
    return grad


def _node_backward(fn: Function, grad: Any, out: Tensor) -> Any:
    differentiable = getattr(fn, "backward_graph", None)
    if differentiable is not None:
        result = differentiable(grad, out)
        return result if type(result) is tuple or type(result) is list else (result,)
    arrays: Any = fn.backward(grad._data if isinstance(grad, Tensor) else grad)
    if type(arrays) is not tuple and type(arrays) is not list:
        arrays = (arrays,)
    return tuple(_unsupported(fn, grad, a) for a in arrays)


def run_backward_graph(
    seeds: Sequence[tuple[Tensor, Any]],
    retain_graph: bool,
    capture: dict[int, Any] | None,
) -> None:
    """The backward pass from `seeds` (output, d loss/d output as a Tensor), recorded: the
    engine's one walk (`autograd.run_backward_many`) with create_graph, through the pieces
    below. With `capture`, gradients of the listed tensors are stored there instead of being
    accumulated into `.grad`."""
    autograd.run_backward_many(seeds, retain_graph, capture, create_graph=True)


def accumulate_graph(leaf: Tensor, g: Tensor) -> None:
    """leaf.grad += g out of place (the sum stays in the graph), as PyTorch does under
    create_graph=True; a gradient of a different dtype is cast (recorded)."""
    if g.dtype != leaf.dtype:
        g = g.to(leaf.dtype)
    if not isinstance(g, Tensor):
        g = Tensor._make(np.asarray(g), False)
    leaf.grad = g.clone() if leaf.grad is None else leaf.grad + g
    if grad_hooks.post_accumulate_hooks:
        grad_hooks.run_post_accumulate_hooks(leaf)


autograd.register_implementation(
    backward_graph=run_backward_graph,
    node_backward=_node_backward,
    unbroadcast_graph=unbroadcast_graph,
    accumulate_graph=accumulate_graph,
)
