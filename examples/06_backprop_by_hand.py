"""06 · Backpropagation, node by node: the slides' f(x, w₀, w₁) = 1 + e^(w₀ + w₁x).

Split f into simple nodes: a = w₁·x, u = w₀ + a, e = exp(u), f = 1 + e. Walking back from
f, each node multiplies the gradient arriving from above (upstream) by its own local
derivative and hands the product down (the chain rule):

    ∂f/∂e = 1                        (add: passes it on)
    ∂f/∂u = ∂f/∂e · e^u = e^u        (exp: its own output)
    ∂f/∂w₀ = ∂f/∂u · 1 = e^u         (add: passes it on)
    ∂f/∂a = ∂f/∂u · 1 = e^u
    ∂f/∂w₁ = ∂f/∂a · x = x·e^u       (mul: swaps the inputs)
    ∂f/∂x  = ∂f/∂a · w₁ = w₁·e^u

`chainrule.viz.trace` prints exactly this walk, and the results equal the hand derivation.
Then the four gate rules on tiny graphs: add distributes, mul swaps, max routes, and a
value used twice (copy) adds up the gradients of both uses.

Run: python examples/06_backprop_by_hand.py [--out runs/examples]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import chainrule
from chainrule import viz

X, W0, W1 = 2.0, -1.0, 1.5  # u = w₀ + w₁x = 2


def scalar(value: float) -> chainrule.Tensor:
    return chainrule.tensor(value, dtype=chainrule.float64, requires_grad=True)


def gate(title: str, build: Any, upstream: float = 5.0) -> dict[str, float]:
    """Run one tiny graph's backward with the given upstream gradient, traced."""
    print(f"\n--- {title}")
    a, b = scalar(2.0), scalar(-3.0)
    out = build(a, b)
    viz.trace(out, names={"a": a, "b": b}, gradient=chainrule.tensor(upstream, dtype=out.dtype))
    return {
        "a": float(a.grad) if a.grad is not None else 0.0,
        "b": float(b.grad) if b.grad is not None else 0.0,
    }


def main(out_dir: str | Path = "runs/examples") -> dict[str, Any]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    x, w0, w1 = scalar(X), scalar(W0), scalar(W1)
    names = {"x": x, "w0": w0, "w1": w1}
    f = 1 + (w0 + w1 * x).exp()
    graph = viz.graph(f, names=names)  # before backward, which frees the graph
    print(f"f(x={X}, w0={W0}, w1={W1}) = 1 + e^(w0 + w1·x) = {f.item():.4f}\n")
    trace = viz.trace(f, names=names)

    e_u = math.exp(W0 + W1 * X)
    hand = {"w0": e_u, "w1": X * e_u, "x": W1 * e_u}
    autograd = {name: float(t.grad) for name, t in names.items() if t.grad is not None}
    print(
        f"\nby hand: ∂f/∂w0 = e^u = {hand['w0']:.4f}, ∂f/∂w1 = x·e^u = {hand['w1']:.4f}, "
        f"∂f/∂x = w1·e^u = {hand['x']:.4f}"
    )

    graph_file = out / "06_graph.dot"
    graph_file.write_text(graph.source, encoding="utf-8")  # now with every gradient
    svg = graph.svg()
    if svg is not None:
        (out / "06_graph.svg").write_text(svg, encoding="utf-8")
    print(f"graph: {graph_file}" + (" (and .svg)" if svg else " (install Graphviz for SVG)"))

    gates = {
        "add": gate(
            "add gate: distributes the upstream gradient 5 to both inputs", lambda a, b: a + b
        ),
        "mul": gate("mul gate: each input gets upstream × the other input", lambda a, b: a * b),
        "max": gate(
            "max gate: routes all of the upstream gradient to the larger input",
            lambda a, b: a.maximum(b),
        ),
        "copy": gate(
            "copy gate: a is used twice (3·a + 4·a); its gradients add up",
            lambda a, b: a * 3 + a * 4,
            upstream=1.0,
        ),
    }
    return {
        "f": f.item(),
        "autograd": autograd,
        "hand": hand,
        "steps": [
            (
                g.node,
                float(g.upstream),
                [None if i.downstream is None else float(i.downstream) for i in g.inputs],
            )
            for g in trace.gates
        ],
        "trace_lines": trace.lines,
        "gates": gates,
        "graph_file": graph_file,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/examples", help="folder for the graph files")
    main(parser.parse_args().out)
