"""Look inside autodiff: the computational graph behind a result, and the backward pass
gate by gate.

`graph(y)` draws the graph that produced `y` (Graphviz DOT text, or SVG when the `dot`
program is installed): a box per tensor (name, shape, value, gradient) and an ellipse per op::

    g = viz.graph(loss, names=model)     # parameter names from the model
    loss.backward()
    print(g.source)                      # the DOT text, now with every gradient
    g.svg()                              # SVG text, or None without Graphviz

`trace` prints the backward pass node by node: the upstream gradient arriving at each node,
its local derivative and the downstream gradient it hands to each input (the chain rule,
downstream = upstream × local)::

    viz.trace(f, names={"x": x, "w0": w0, "w1": w1})     # runs f.backward() and prints
    with viz.trace():                                   # or around any backward call
        loss.backward()

Backward frees the graph (unless `retain_graph=True`), so call `graph()` *before* backward:
it remembers the structure and shows the gradients once they exist.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

import numpy as np

from chainrule import tensor as _tensor_module
from chainrule.autograd import Function, observe_backward, unbroadcast
from chainrule.tensor import Tensor

__all__ = ["Gate", "GateInput", "Graph", "graph", "nodes", "repr_svg", "to_svg", "trace"]

MAX_SHOWN = 6  # tensors with at most this many elements show their values

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

_FREED = (
    "the graph behind this tensor has been freed by backward(): call viz.graph() before "
    "backward, or run backward(retain_graph=True)"
)


class _HasParameters(Protocol):
    def named_parameters(self) -> Iterable[tuple[str, Tensor]]: ...


Names = Mapping[str, Tensor] | Iterable[tuple[str, Tensor]] | _HasParameters | None


def _named_tensors(names: Names) -> list[tuple[str, Tensor]]:
    """(name, tensor) pairs from a dict, an iterable of pairs or a model's named_parameters."""
    if names is None:
        return []
    if hasattr(names, "named_parameters"):
        return list(names.named_parameters())
    if isinstance(names, Mapping):
        return list(names.items())
    return list(names)


def _name_table(names: Names) -> dict[int, str]:
    return {id(tensor): name for name, tensor in _named_tensors(names)}


def _format(array: np.ndarray | None) -> str:
    """Small arrays in full on one line, larger ones as their shape and norm."""
    if array is None:
        return "-"
    array = np.asarray(array)
    if array.size > MAX_SHOWN:
        return f"<{array.shape} array, norm {float(np.linalg.norm(array)):.4g}>"
    if array.ndim == 0:
        return f"{array.item():.4g}" if array.dtype.kind == "f" else str(array.item())
    if array.dtype.kind == "f":
        text = np.array2string(array, separator=", ", formatter={"float_kind": "{:.4g}".format})
    else:
        text = np.array2string(array, separator=", ")
    return " ".join(text.split())


# ---------------------------------------------------------------------- the graph
class Graph:
    """The computational graph behind a tensor, recorded when `graph()` is called.

    The structure is copied at once, so it survives backward freeing the graph; labels are
    rendered on every access of `source`, so gradients computed later show up.
    """

    def __init__(self, root: Tensor, names: Names = None, retain_grads: bool = True) -> None:
        self.root = root
        self.names = _name_table(names)
        self.tensors = _forward_order(root)  # every tensor, each after its inputs
        self.ops: list[tuple[str, Tensor, tuple[Tensor, ...]]] = []  # (op, output, inputs)
        for tensor in self.tensors:
            fn = tensor._ctx
            if fn is None or fn.inputs is None:
                continue
            self.ops.append((type(fn).__name__, tensor, fn.inputs))
            if retain_grads:  # so a later backward stores this intermediate's gradient too
                tensor.retain_grad()

    def _label(self, tensor: Tensor) -> str:
        lines = []
        if id(tensor) in self.names:
            lines.append(self.names[id(tensor)])
        elif tensor is self.root:
            lines.append("output")
        elif not tensor.requires_grad:
            lines.append("constant")
        lines.append(f"shape {tuple(tensor.shape)}")
        if tensor._data.size <= MAX_SHOWN:
            lines.append(f"value {_format(tensor._data)}")
        if tensor.grad is not None:
            lines.append(f"grad {_format(tensor.grad._data)}")
        return "\n".join(lines)

    def _style(self, tensor: Tensor) -> str:
        if tensor is self.root:
            return 'style="filled,bold", fillcolor="#fde2c8"'
        if tensor._ctx is None and tensor.requires_grad:  # a leaf we differentiate by
            return 'style=filled, fillcolor="#d8e8fb"'
        if not tensor.requires_grad:  # a constant
            return 'style=dashed, color="#888888", fontcolor="#555555"'
        return 'style=filled, fillcolor="#ffffff"'

    @property
    def source(self) -> str:
        """The graph as Graphviz DOT text (render it with `dot -Tsvg` or `svg()`)."""
        index = {id(t): i for i, t in enumerate(self.tensors)}
        lines = [
            "digraph chainrule {",
            "  rankdir=LR;",
            '  node [fontname="Helvetica", fontsize=10];',
            '  edge [color="#555555"];',
        ]
        for i, tensor in enumerate(self.tensors):
            label = _quote(self._label(tensor))
            lines.append(f"  t{i} [shape=box, label={label}, {self._style(tensor)}];")
        for k, (op, output, inputs) in enumerate(self.ops):
            style = 'style=filled, fillcolor="#eeeeee"'
            lines.append(f"  op{k} [shape=ellipse, label={_quote(op)}, {style}];")
            for tensor in inputs:
                lines.append(f"  t{index[id(tensor)]} -> op{k};")
            lines.append(f"  op{k} -> t{index[id(output)]};")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def svg(self) -> str | None:
        """The graph as SVG text, or None when Graphviz's `dot` program is not installed."""
        return to_svg(self.source)

    def _repr_svg_(self) -> str | None:  # Jupyter draws the graph (None: falls back to text)
        return self.svg()

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return f"<Graph: {len(self.ops)} ops, {len(self.tensors)} tensors>"


def graph(tensor: Tensor, names: Names = None, retain_grads: bool = True) -> Graph:
    """The computational graph that produced `tensor`, as a `Graph` (`.source`, `.svg()`).

    Args:
        tensor: the result, usually a loss. Call this before `backward()` (which frees the
            graph) or after `backward(retain_graph=True)`.
        names: labels for tensors: a dict {'w0': w0}, (name, tensor) pairs, or a model
            (its `named_parameters()`).
        retain_grads: make the intermediate tensors keep their gradients (`retain_grad()`),
            so after backward every box shows one, not only the leaves.

    Each tensor box shows its name, shape, value (for at most 6 elements) and gradient
    (once backward has run); each ellipse is an op.
    """
    return Graph(tensor, names, retain_grads)


def nodes(tensor: Tensor) -> list[Function]:
    """The graph's nodes (ops) behind `tensor`, in the order forward ran them.

    Each node's `saved_values()` is what its forward cached for backward (empty once backward
    has freed the graph).
    """
    return [t._ctx for t in _forward_order(tensor) if t._ctx is not None]


def _forward_order(root: Tensor) -> list[Tensor]:
    """Every tensor the graph behind `root` reaches, each after its inputs.

    An iterative depth-first search (deep graphs must not hit the recursion limit): a
    tensor is listed once all its inputs are, so the order is one forward could have run.
    """
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        tensor, inputs_listed = stack.pop()
        if inputs_listed:
            order.append(tensor)
            continue
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        stack.append((tensor, True))
        fn = tensor._ctx
        if fn is not None:
            if fn.inputs is None:
                raise RuntimeError(_FREED)
            stack.extend((t, False) for t in reversed(fn.inputs) if id(t) not in seen)
    return order


def to_svg(dot: str, timeout: float = 30.0) -> str | None:
    """Render DOT text to SVG with Graphviz's `dot` program; None when it is not installed."""
    program = shutil.which("dot")
    if program is None:
        return None
    result = subprocess.run(
        [program, "-Tsvg"], input=dot, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"dot failed: {result.stderr.strip()}")
    return result.stdout


def repr_svg(tensor: Tensor) -> str | None:
    """SVG of the graph behind `tensor` for Jupyter's `_repr_svg_`; None (so the notebook
    shows the text repr) for a leaf, a freed graph, or without Graphviz."""
    if tensor._ctx is None or tensor._ctx.inputs is None or shutil.which("dot") is None:
        return None
    return Graph(tensor, retain_grads=False).svg()


# Jupyter asks Tensor._repr_svg_, which draws through this hook (tensor.py cannot import viz)
_tensor_module.draw_svg = repr_svg


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


# ---------------------------------------------------------------------- the trace
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
    `with trace(): ...` traces every backward run inside the block.

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
