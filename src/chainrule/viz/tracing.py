"""`trace`: the backward pass printed gate by gate (upstream, local derivative, downstream)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from chainrule import grad_fn as grad_fns
from chainrule.autograd import Function, observe_backward, unbroadcast
from chainrule.tensor import Tensor
from chainrule.viz._common import MAX_SHOWN, Names, _format, _named_tensors

# what each op's backward does: the gate rules of the lectures and the local derivatives
RULES = {
    "Add": "add gate: distributes the upstream gradient unchanged to every input",
    "Sub": "a - b: d/da = 1, d/db = -1",
    "Mul": "mul gate: each input gets upstream × the other input (swap multiplier)",
    "Div": "a / b: d/da = 1/b, d/db = -a/b²",
    "Neg": "-x: local derivative -1",
    "Exp": "eˣ: the local derivative is the saved output eˣ itself",
    "Log": "ln x: local derivative 1/x",
    "Sqrt": "√x: local derivative 1/(2√x)",
    "Abs": "|x|: local derivative sign(x)",
    "PowScalar": "xᵖ: local derivative p·xᵖ⁻¹",
    "Pow": "aᵇ: d/da = b·aᵇ⁻¹, d/db = aᵇ·ln a",
    "Tanh": "tanh x: local derivative 1 - tanh²x",
    "Sigmoid": "σ(x): local derivative σ(x)(1 - σ(x)), at most 1/4",
    "Relu": "max(0, x): a max gate against 0, the gradient passes where x > 0",
    "LeakyRelu": "leaky ReLU: local derivative 1 for x > 0, the slope otherwise",
    "Elu": "ELU: local derivative 1 for x > 0, α·eˣ otherwise",
    "Gelu": "GELU: local derivative Φ(x) + x·φ(x)",
    "Silu": "x·σ(x): local derivative σ(x)(1 + x(1 - σ(x)))",
    "Softplus": "softplus: local derivative σ(βx)",
    "Clamp": "clamp: the gradient passes where low <= x <= high",
    "Maximum": "max gate: routes the whole gradient to the larger input",
    "Minimum": "min gate: routes the whole gradient to the smaller input",
    "Amax": "max gate: routes the gradient to the largest element",
    "Where": "where: routes the gradient to the input that was picked",
    "Sum": "sum: an add gate, every element gets the upstream gradient",
    "Mean": "mean: every element gets 1/N of the upstream gradient",
    "Var": "variance: d/dx = 2(x - mean)/(N - correction)",
    "MatMul": "C = A B: dA = G Bᵀ, dB = Aᵀ G (G: upstream)",
    "Linear": "y = x Wᵀ + b: dx = G W, dW = Gᵀ x, db = Σ G over the rows",
    "Softmax": "softmax s: dx = s ⊙ (G - Σ G ⊙ s)",
    "LogSoftmax": "log-softmax: dx = G - softmax(x) Σ G",
    "CrossEntropyIndex": "cross-entropy of logits: dz = (softmax(z) - onehot(y)) / N",
    "MseLoss": "mean squared error: dx = 2(x - y) / N, dy = -dx",
    "BinaryCrossEntropy": "BCE on probabilities: dp = (p - y) / (p(1 - p)) / N",
    "BinaryCrossEntropyWithLogits": "BCE on logits: dz = (σ(z) - y) / N",
    "Reshape": "reshape: the gradient is reshaped back",
    "Permute": "permute: the gradient goes through the inverse permutation",
    "Expand": "expand (a copy gate): the gradients of all copies add up",
    "GetItem": "indexing: the gradient goes back to the picked elements, zeros elsewhere",
    "Gather": "gather: the gradient goes back to the gathered positions",
    "Cat": "cat: each input gets its slice of the gradient",
    "Stack": "stack: each input gets its slice of the gradient",
    "Clone": "clone: local derivative 1",
    "Cast": "cast: the gradient is cast back to the input's dtype",
}

# ops whose Jacobian is diagonal, so local = downstream / upstream is the derivative
_ELEMENTWISE = {
    "Add", "Sub", "Mul", "Div", "Neg", "Exp", "Log", "Sqrt", "Abs", "PowScalar", "Pow",
    "Tanh", "Sigmoid", "Relu", "LeakyRelu", "Elu", "Gelu", "Silu", "Softplus", "Clamp",
    "Maximum", "Minimum", "Where", "Clone", "Cast",
}  # fmt: skip
_REDUCTIONS = {"Sum", "Mean", "Amax"}  # a scalar upstream: local = downstream / upstream


@dataclass
class GateInput:
    """What one input of a node receives in the backward pass."""

    label: str
    downstream: np.ndarray | None  # the gradient handed to this input (None: not needed)
    local: np.ndarray | None  # downstream / upstream, where that is the local derivative
    summed: bool = False  # True when broadcast copies were summed back to the input's shape


@dataclass
class Gate:
    """One node of the backward pass: the upstream gradient in, one gradient per input out."""

    step: int
    node: str  # e.g. 'MulBackward #3'
    op: str  # e.g. 'Mul'
    rule: str
    upstream: np.ndarray
    inputs: list[GateInput] = field(default_factory=list)


class trace:  # used like a function and as a context manager
    """Print the backward pass gate by gate (and keep it in `.gates`).

    `trace(output)` runs `output.backward()` and prints each node as it runs: the upstream
    gradient, each input's local derivative (downstream / upstream, where the op is
    elementwise) or the op's rule, and the downstream gradient. As a context manager,
    `with trace(): ...` traces every backward run inside the block (an nn.Sequential run
    inside the block shows a gate per layer and activation; one run before it, a gate per
    Linear and its activation, which it ran as one node).

    Args:
        output: run `output.backward(gradient, retain_graph)` now, traced.
        names: labels for tensors, as in `graph()`.
        file: where to print (default: standard output); `verbose=False` prints nothing.

    Attributes: `gates`, a list of `Gate`, and `lines`, the printed text, line by line.
    """

    def __init__(
        self,
        output: Tensor | None = None,
        *,
        names: Names = None,
        gradient: Any = None,
        retain_graph: bool = False,
        file: TextIO | None = None,
        verbose: bool = True,
    ) -> None:
        self.named = _named_tensors(names)
        self.names = {id(tensor): name for name, tensor in self.named}
        self.file, self.verbose = file, verbose
        self.gates: list[Gate] = []
        self.lines: list[str] = []
        self._numbers: dict[int, int] = {}
        self._observing = observe_backward(self._observe)
        if output is not None:
            grad_fns.unfuse_graph(output)  # a gate per op, as unfused (nn.Sequential fuses)
            with self:
                output.backward(gradient, retain_graph=retain_graph)

    def __enter__(self) -> trace:
        self._print("backward pass, gate by gate, from the output back to the inputs")
        self._print("(downstream = upstream × local derivative: the chain rule)")
        self._observing.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._observing.__exit__(*exc)
        grads = [
            f"{name}.grad = {_format(t.grad._data)}" for name, t in self.named if t.grad is not None
        ]
        if grads:
            self._print("result: " + ", ".join(grads))

    def _print(self, line: str) -> None:
        self.lines.append(line)
        if self.verbose:
            print(line, file=self.file or sys.stdout)

    def _node_label(self, fn: Function) -> str:
        number = self._numbers.setdefault(id(fn), len(self._numbers) + 1)
        return f"{fn.name} #{number}"

    def _input_label(self, tensor: Tensor) -> str:
        if id(tensor) in self.names:
            return self.names[id(tensor)]
        if tensor._ctx is not None:
            return self._node_label(tensor._ctx)
        if tensor.requires_grad:
            return f"leaf of shape {tuple(tensor.shape)}"
        shown = _format(tensor._data) if tensor._data.size <= MAX_SHOWN else tuple(tensor.shape)
        return f"constant {shown}"

    def _observe(
        self, fn: Function, upstream: np.ndarray, downstream: Sequence[np.ndarray | None]
    ) -> None:
        op = type(fn).__name__
        gate = Gate(
            step=len(self.gates) + 1,
            node=self._node_label(fn),
            op=op,
            rule=RULES.get(op, "see the op's backward"),
            upstream=np.array(upstream, copy=True),
        )
        assert fn.inputs is not None  # observers run before the node is released
        for tensor, grad, needed in zip(fn.inputs, downstream, fn.needs_input_grad, strict=True):
            label = self._input_label(tensor)
            if not needed or grad is None:
                gate.inputs.append(GateInput(label, None, None))
                continue
            local = _local_derivative(op, upstream, grad)
            reduced = unbroadcast(np.asarray(grad), tensor._data.shape)
            summed = reduced.shape != np.shape(grad)
            gate.inputs.append(GateInput(label, np.array(reduced, copy=True), local, summed))
        self.gates.append(gate)
        self._print_gate(gate)

    def _print_gate(self, gate: Gate) -> None:
        self._print(f"[{gate.step}] {gate.node}: {gate.rule}")
        self._print(f"      upstream {_format(gate.upstream)}")
        for item in gate.inputs:
            if item.downstream is None:
                self._print(f"      -> {item.label}: no gradient needed")
                continue
            line = f"      -> {item.label}: downstream {_format(item.downstream)}"
            if item.local is not None:
                line += f" = upstream × local {_format(item.local)}"
            if item.summed:
                line += " (summed over the broadcast copies)"
            self._print(line)


def _local_derivative(op: str, upstream: np.ndarray, downstream: np.ndarray) -> np.ndarray | None:
    """downstream / upstream, when that ratio is the op's local derivative.

    True for elementwise ops (diagonal Jacobian) and for reductions to a single number;
    unknown where the upstream gradient is 0 (the ratio 0/0 says nothing).
    """
    scalar_upstream = op in _REDUCTIONS and np.size(upstream) == 1
    if not (op in _ELEMENTWISE or scalar_upstream):
        return None
    if not scalar_upstream and np.shape(downstream) != np.shape(upstream):
        return None
    if np.any(upstream == 0):
        return None
    return np.asarray(downstream) / upstream
