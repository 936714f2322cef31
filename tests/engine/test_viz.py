"""chainrule.viz: the DOT graph of a computation and the gate-by-gate backward trace."""

from __future__ import annotations

import io
import math
import shutil

import numpy as np
import pytest

import chainrule
from chainrule import nn, viz

X, W0, W1 = 2.0, -1.0, 1.5
E_U = math.exp(W0 + W1 * X)


def slide_example():
    """f(x, w₀, w₁) = 1 + e^(w₀ + w₁x), the lectures' backprop example."""
    x, w0, w1 = (
        chainrule.tensor(v, dtype=chainrule.float64, requires_grad=True) for v in (X, W0, W1)
    )
    return 1 + (w0 + w1 * x).exp(), {"x": x, "w0": w0, "w1": w1}


# ---------------------------------------------------------------------- graph
def test_graph_shows_ops_shapes_values_and_gradients():
    f, names = slide_example()
    graph = viz.graph(f, names=names)
    before = graph.source
    assert before.startswith("digraph chainrule {") and before.rstrip().endswith("}")
    for op in ("Add", "Exp", "Mul"):
        assert f'label="{op}"' in before
    assert before.count("shape=ellipse") == 4  # Mul, Add, Exp, Add
    assert '"w0\\nshape ()\\nvalue -1"' in before
    assert "constant\\nshape ()\\nvalue 1" in before
    assert "grad" not in before
    f.backward()
    after = graph.source  # the same Graph, rendered again, now shows the gradients
    assert "w1\\nshape ()\\nvalue 1.5\\ngrad 14.78" in after
    assert "x\\nshape ()\\nvalue 2\\ngrad 11.08" in after
    assert "output\\nshape ()\\nvalue 8.389\\ngrad 1" in after
    assert "value 7.389\\ngrad 1" in after  # the intermediate e^u kept its gradient
    assert after.count(" -> ") == 3 + 3 + 2 + 3  # every op: its inputs in, its output out
    assert repr(graph) == "<Graph: 4 ops, 8 tensors>"
    assert str(graph) == after


def test_graph_of_a_model_uses_parameter_names_and_hides_big_values():
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    loss = model(chainrule.randn(5, 3)).mean()
    graph = viz.graph(loss, names=model)
    loss.backward()
    source = graph.source
    assert "0.weight\\nshape (4, 3)\\ngrad <(4, 3) array, norm" in source
    assert "2.bias\\nshape (1,)\\nvalue [" in source
    for op in ("Linear", "Relu", "Mean"):
        assert f'label="{op}"' in source
    assert 'label="constant\\nshape (5, 3)"' in source  # the input batch: values not shown


def test_graph_needs_the_graph_alive():
    f, _ = slide_example()
    f.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        viz.graph(f)
    with pytest.raises(RuntimeError, match="before backward"):
        viz.nodes(f)
    g, _ = slide_example()
    g.backward(retain_graph=True)
    assert "grad" in viz.graph(g).source  # leaves have their gradients already


def test_graph_of_a_leaf_and_label_escaping():
    leaf = chainrule.tensor([1.0, 2.0], requires_grad=True)
    source = viz.graph(leaf, names={'say "hi"\\': leaf}).source
    assert 'label="say \\"hi\\"\\\\\\nshape (2,)\\nvalue [1, 2]"' in source
    assert "->" not in source


def test_to_svg_without_graphviz_returns_none(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    f, _ = slide_example()
    graph = viz.graph(f)
    assert viz.to_svg(graph.source) is None
    assert graph.svg() is None
    assert graph._repr_svg_() is None
    assert viz.repr_svg(f) is None


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_to_svg_with_graphviz():
    f, names = slide_example()
    svg = viz.graph(f, names=names).svg()
    assert svg is not None and "<svg" in svg and "Exp" in svg
    assert viz.repr_svg(f) is not None
    assert viz.repr_svg(names["x"]) is None  # a leaf: the notebook shows its text repr
    with pytest.raises(RuntimeError, match="dot failed"):
        viz.to_svg("digraph { this is not dot")


def test_nodes_in_forward_order_with_their_cache():
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = chainrule.randn(5, 3)
    loss = chainrule.nn.functional.cross_entropy(model(x), chainrule.tensor([0, 1, 1, 0, 1]))
    nodes = viz.nodes(loss)
    assert [n.name for n in nodes] == [
        "LinearBackward",
        "ReluBackward",
        "LinearBackward",
        "CrossEntropyIndexBackward",
    ]
    assert sorted(nodes[0].saved_values()) == ["weight", "x"]
    assert nodes[0].saved_values()["x"] is x.detach().numpy()
    loss.backward()
    assert all(not n.saved_values() for n in nodes)


# ---------------------------------------------------------------------- trace
def test_trace_of_the_slide_example(capsys):
    f, names = slide_example()
    trace = viz.trace(f, names=names)
    printed = capsys.readouterr().out
    assert printed.splitlines() == trace.lines
    assert trace.lines[2:] == [
        "[1] AddBackward #1: add gate: distributes the upstream gradient unchanged to every input",
        "      upstream 1",
        "      -> constant 1: no gradient needed",
        "      -> ExpBackward #2: downstream 1 = upstream × local 1",
        "[2] ExpBackward #2: eˣ: the local derivative is the saved output eˣ itself",
        "      upstream 1",
        "      -> AddBackward #3: downstream 7.389 = upstream × local 7.389",
        "[3] AddBackward #3: add gate: distributes the upstream gradient unchanged to every input",
        "      upstream 7.389",
        "      -> w0: downstream 7.389 = upstream × local 1",
        "      -> MulBackward #4: downstream 7.389 = upstream × local 1",
        "[4] MulBackward #4: mul gate: each input gets upstream × the other input "
        "(swap multiplier)",
        "      upstream 7.389",
        "      -> w1: downstream 14.78 = upstream × local 2",
        "      -> x: downstream 11.08 = upstream × local 1.5",
        "result: x.grad = 11.08, w0.grad = 7.389, w1.grad = 14.78",
    ]
    # the recorded numbers, node by node, are the hand-derived ones
    exp_gate, mul_gate = trace.gates[1], trace.gates[3]
    assert exp_gate.op == "Exp" and float(exp_gate.inputs[0].downstream) == pytest.approx(E_U)
    assert float(exp_gate.inputs[0].local) == pytest.approx(E_U)  # d eᵘ/du = eᵘ
    assert float(mul_gate.upstream) == pytest.approx(E_U)
    assert float(mul_gate.inputs[0].downstream) == pytest.approx(X * E_U)  # ∂f/∂w₁
    assert float(mul_gate.inputs[1].downstream) == pytest.approx(W1 * E_U)  # ∂f/∂x
    assert trace.gates[0].inputs[0].downstream is None  # the constant 1
    assert float(names["w0"].grad) == pytest.approx(E_U)


def test_trace_as_context_manager_quiet_and_to_a_file():
    f, names = slide_example()
    with viz.trace(names=names, verbose=False) as trace:
        f.backward()
    assert len(trace.gates) == 4 and trace.lines[-1].startswith("result: x.grad")
    g, _ = slide_example()
    buffer = io.StringIO()
    viz.trace(g, file=buffer)
    assert "[4] MulBackward #4" in buffer.getvalue()
    h, _ = slide_example()
    h.backward()  # no trace any more: the observer was removed on exit
    assert len(trace.gates) == 4


def test_trace_of_broadcasting_and_matrix_ops():
    x = chainrule.tensor(np.ones((4, 3)), requires_grad=True)
    w = chainrule.tensor(np.full((3, 2), 0.5), requires_grad=True)
    b = chainrule.tensor([1.0, 2.0], dtype=chainrule.float64, requires_grad=True)
    loss = ((x @ w) + b).sum()
    trace = viz.trace(loss, names={"x": x, "w": w, "b": b}, verbose=False)
    ops = [g.op for g in trace.gates]
    assert ops == ["Sum", "Add", "MatMul"]
    add = trace.gates[1]
    bias = add.inputs[1]
    assert bias.label == "b" and bias.summed  # 4 rows of copies summed back to shape (2,)
    np.testing.assert_array_equal(bias.downstream, [4.0, 4.0])
    expected = (
        "-> b: downstream [4, 4] = upstream × local <(4, 2) array, norm 2.828> "
        "(summed over the broadcast copies)"
    )
    assert expected in [line.strip() for line in trace.lines]
    matmul = trace.gates[2]
    assert matmul.inputs[0].local is None  # not elementwise: the rule says it instead
    assert "dA = G Bᵀ" in matmul.rule
    np.testing.assert_array_equal(matmul.inputs[1].downstream, np.full((3, 2), 4.0))
    np.testing.assert_array_equal(w.grad.numpy(), np.full((3, 2), 4.0))


def test_trace_gate_rules():
    def run(build, upstream=5.0):
        a = chainrule.tensor(2.0, dtype=chainrule.float64, requires_grad=True)
        b = chainrule.tensor(-3.0, dtype=chainrule.float64, requires_grad=True)
        out = build(a, b)
        viz.trace(out, gradient=np.array(upstream), verbose=False)
        return [None if t.grad is None else float(t.grad) for t in (a, b)]

    assert run(lambda a, b: a + b) == [5.0, 5.0]  # add: distributes
    assert run(lambda a, b: a * b) == [-15.0, 10.0]  # mul: swaps
    assert run(lambda a, b: a.maximum(b)) == [5.0, 0.0]  # max: routes
    assert run(lambda a, b: a * 3 + a * 4, upstream=1.0) == [7.0, None]  # copy: adds
