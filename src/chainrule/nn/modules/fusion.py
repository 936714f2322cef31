"""How `nn.Sequential` runs its layers: in order, a plain `nn.Linear` followed by
`nn.ReLU`, `nn.Sigmoid` or `nn.Tanh` as ONE graph node (`chainrule.ops.linear_activation`):

    y = f(x Wᵀ + b)      x (N, in), W (out, in), b (out,) -> y (N, out)

the same numbers as the two modules called one after the other, half the graph nodes (on
small layers a node's Python costs more than its arithmetic). The pair runs as two modules,
as before, whenever one node could be seen or could differ:

- either module has a forward, forward pre- or backward hook (they see the tensor between
  the two), a `forward` of its own set on the instance (`train.summary` records shapes
  so), or is a subclass (its forward may do something else: LazyLinear, a quantized or
  parametrized Linear), or the Linear's weight or bias is not a plain Parameter;
- `compile_step` is recording the step (it captures the ops themselves and fuses in its
  own program) or a backward observer is open (`viz.trace`, the playground: a gate per op);
- the input is not a Tensor of the weight's dtype, float32 or float64, with the Linear's
  in_features last (the two modules give the error or the promotion they give), or the bias
  is not of the weight's dtype and (out,) shape.

Grad mode does not matter (under no_grad the pair still makes one Tensor instead of two).
`inplace=True` on ReLU changes nothing: chainrule's activations always return a new tensor.
"""

from __future__ import annotations

from typing import Any

from chainrule import autograd, grad_hooks
from chainrule.kernels import FLOAT_DTYPES
from chainrule.nn.modules.activation import ReLU, Sigmoid, Tanh
from chainrule.nn.modules.hooks import has_hooks
from chainrule.nn.modules.linear import Linear
from chainrule.nn.modules.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.ops.linear_activation import LinearRelu, LinearSigmoid, LinearTanh
from chainrule.tensor import Tensor

__all__ = ["plan", "run"]

# the activation module (its exact class) -> the node that runs a Linear and it as one
FUSED: dict[type, Any] = {ReLU: LinearRelu, Sigmoid: LinearSigmoid, Tanh: LinearTanh}

Step = tuple[Module, Module | None, Any]  # (module, the activation after it or None, node)


def plan(modules: tuple[Module | None, ...]) -> list[Step]:
    """The modules in order, each plain Linear paired with a fusable activation after it:
    (linear, activation, its fused node) for a pair, (module, None, None) otherwise."""
    steps: list[Step] = []
    i = 0
    while i < len(modules):
        module = modules[i]
        assert module is not None
        after = modules[i + 1] if i + 1 < len(modules) else None
        fused = FUSED.get(type(after)) if type(module) is Linear else None
        if fused is not None:
            steps.append((module, after, fused))
            i += 2
        else:
            steps.append((module, None, None))
            i += 1
    return steps


def run(steps: list[Step], x: Any) -> Any:
    """Apply the planned steps to x in order (see the module docstring)."""
    fuse = not (grad_hooks.backward_observers or autograd.is_recording())
    for module, activation, fused in steps:
        if activation is None:
            x = _call(module, x)
            continue
        inputs = _fusable(module, activation, x) if fuse else None
        x = _call(activation, _call(module, x)) if inputs is None else fused.apply(*inputs)
    return x


def _call(module: Module, x: Any) -> Any:
    """module(x): its forward directly, one frame shorter, unless it has hooks."""
    if "_module_hooks" in module.__dict__:
        return module(x)
    return module.forward(x)


def _fusable(linear: Module, activation: Module, x: Any) -> tuple[Tensor, ...] | None:
    """The fused node's inputs (x, W, b) or (x, W), or None when the pair must run as two
    modules (see the module docstring)."""
    own, its = linear.__dict__, activation.__dict__  # parameters are mirrored in own
    if "forward" in own or "forward" in its:  # a forward set on the instance (train.summary)
        return None
    if "_module_hooks" in own and has_hooks(linear):
        return None
    if "_module_hooks" in its and has_hooks(activation):
        return None
    weight, bias = own.get("weight"), own.get("bias", False)  # no bias attribute: not fused
    if type(weight) is not Parameter or not isinstance(x, Tensor):
        return None
    data, w = x._data, weight._data
    kind = w.dtype
    if (data.dtype is not kind and data.dtype != kind) or kind not in FLOAT_DTYPES:
        return None
    if data.shape[-1:] != w.shape[1:]:
        return None
    if bias is None:
        return (x, weight)
    if type(bias) is not Parameter:
        return None
    b = bias._data
    if (b.dtype is not kind and b.dtype != kind) or b.shape != w.shape[:1]:
        return None
    return (x, weight, bias)
