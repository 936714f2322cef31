"""`graph(y)`: the computational graph behind a result, as Graphviz DOT text (or SVG when
the `dot` program is installed); also Jupyter's `Tensor._repr_svg_`."""

from __future__ import annotations

import shutil
import subprocess

from chainrule import grad_fn as grad_fns
from chainrule import tensor as _tensor_module
from chainrule.autograd import Function
from chainrule.tensor import Tensor
from chainrule.viz._common import MAX_SHOWN, Names, _format, _name_table

_FREED = (
    "the graph behind this tensor has been freed by backward(): call viz.graph() before "
    "backward, or run backward(retain_graph=True)"
)


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
        fn = None if tensor._ctx is None else grad_fns.unfuse(tensor)  # the nodes it stands for
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
