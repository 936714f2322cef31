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

from chainrule.viz._common import MAX_SHOWN
from chainrule.viz.drawing import Graph, graph, nodes, repr_svg, to_svg
from chainrule.viz.tracing import RULES, Gate, GateInput, trace

__all__ = ["Gate", "GateInput", "Graph", "graph", "nodes", "repr_svg", "to_svg", "trace"]
