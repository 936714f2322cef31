"""nn.Sequential runs a plain Linear and the ReLU/Sigmoid/Tanh after it as one graph node
(chainrule.nn.modules.fusion, chainrule.ops.linear_activation): the numbers must be the
unfused ones BIT FOR BIT (forward, loss, every .grad, the parameters after steps), on the
compiled path and the NumPy one, float32 and float64; whatever could see the difference
(hooks, subclasses, recording) gets the unfused modules."""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import pytest

import chainrule as cr
from chainrule import autograd, nn, optim
from chainrule.nn import functional as F
from tests.support.numba_paths import numba_path

numba_paths = pytest.mark.parametrize(
    "numba", [False, pytest.param(True, marks=pytest.mark.skipif(
        not __import__("importlib").util.find_spec("numba"), reason="numba is not installed"))],
)  # fmt: skip
FUSED_NODES = ("LinearRelu", "LinearSigmoid", "LinearTanh")


def mlp(sizes: list[int], activation: type[nn.Module], dtype: type, bias: bool = True) -> nn.Module:
    cr.manual_seed(sum(sizes))
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b, bias=bias))
        if i < len(sizes) - 2:
            layers.append(activation())
    model = nn.Sequential(*layers)
    return model.double() if dtype is np.float64 else model


def arr(t: cr.Tensor) -> np.ndarray:
    return t.detach().numpy()


def one_by_one(model: nn.Module, x: cr.Tensor) -> cr.Tensor:
    """The unfused reference: each module called on its own (Module.__call__)."""
    for module in model:
        x = module(x)
    return x


def node_names(output: cr.Tensor) -> list[str]:
    """The engine's node classes behind output (read without unfusing them)."""
    names, stack, seen = [], [output], set()
    while stack:
        t = stack.pop()
        if id(t) in seen or t._ctx is None:
            continue
        seen.add(id(t))
        names.append(type(t._ctx).__name__)
        stack.extend(t._ctx.inputs or ())
    return names


def train(
    model: nn.Module,
    forward: Callable[[nn.Module, cr.Tensor], cr.Tensor],
    batches: list[tuple[np.ndarray, np.ndarray]],
    loss_name: str,
    adam: bool,
) -> list[list[np.ndarray]]:
    """A few eager steps; every step's output, loss, grads and parameters, copied."""
    opt = optim.Adam(model.parameters(), lr=1e-3) if adam else optim.SGD(model.parameters(), 0.1)
    record: list[list[np.ndarray]] = []
    for xb, yb in batches:
        out = forward(model, cr.tensor(xb))
        loss = (
            F.cross_entropy(out, cr.tensor(yb))
            if loss_name == "ce"
            else F.mse_loss(out, cr.tensor(yb))
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        record.append([arr(out).copy(), arr(loss).copy()])
        record[-1] += [p.grad.numpy().copy() for p in model.parameters()]
        record[-1] += [arr(p).copy() for p in model.parameters()]
    return record


def batches_for(sizes: list[int], rows: int, dtype: type, loss: str, count: int = 3) -> list:
    rng = np.random.default_rng(rows + len(sizes))
    out = []
    for _ in range(count):
        xb = rng.standard_normal((rows, sizes[0])).astype(dtype)
        if loss == "ce":
            yb = rng.integers(0, sizes[-1], rows)
        else:
            yb = rng.standard_normal((rows, sizes[-1])).astype(dtype)
        out.append((xb, yb))
    return out


CASES = [  # sizes, batch rows, activation, loss, Adam
    ([2, 16, 16, 2], 32, nn.ReLU, "ce", False),  # W3
    ([2, 8, 8, 2], 8, nn.ReLU, "ce", False),  # W4: a short batch (column-major layers)
    ([32] + [32] * 9 + [10], 64, nn.Tanh, "ce", False),  # deep narrow
    ([100, 512, 512, 1], 64, nn.ReLU, "mse", True),  # wide: short, ReLU's compiled loop
    ([3, 5, 4], 7, nn.Sigmoid, "ce", False),
    ([3, 40, 2], 6, nn.Sigmoid, "mse", True),  # short sigmoid layer
    ([4, 6, 3], 1, nn.Tanh, "mse", False),  # one row
]


@numba_paths
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sizes,rows,activation,loss,adam", CASES)
def test_fused_training_is_bitwise_the_unfused(numba, dtype, sizes, rows, activation, loss, adam):
    with numba_path(numba):
        fused, unfused = mlp(sizes, activation, dtype), None
        unfused = copy.deepcopy(fused)
        data = batches_for(sizes, rows, dtype, loss)
        probe = fused(cr.tensor(data[0][0]))
        assert sum(n in FUSED_NODES for n in node_names(probe)) == len(sizes) - 2
        ours = train(fused, lambda m, x: m(x), data, loss, adam)
        reference = train(unfused, one_by_one, data, loss, adam)
    for step, (a, b) in enumerate(zip(ours, reference, strict=True)):
        for i, (u, v) in enumerate(zip(a, b, strict=True)):
            assert u.dtype == v.dtype and u.shape == v.shape
            assert np.array_equal(u, v, equal_nan=True), f"step {step}, value {i}"


@numba_paths
@pytest.mark.parametrize("activation", [nn.ReLU, nn.Sigmoid, nn.Tanh])
@pytest.mark.parametrize(
    "shape,bias,frozen",
    [((5, 3), False, ""), ((2, 5, 3), True, ""), ((3,), True, ""), ((0, 3), True, ""),
     ((6, 3), True, "bias"), ((6, 3), True, "weight"), ((1, 3), True, "")],
)  # fmt: skip
def test_other_inputs_and_frozen_parameters(numba, activation, shape, bias, frozen):
    """N-D and 1-D inputs, no bias, an empty batch, frozen parameters, an input that
    wants its gradient: the same numbers (the node composes the two ops' kernels)."""
    with numba_path(numba):
        fused = mlp([3, 4, 2], activation, np.float64, bias=bias)
        for name, p in fused.named_parameters():
            if frozen and name.endswith(frozen) and name.startswith("0."):
                p.requires_grad_(False)
        unfused = copy.deepcopy(fused)
        x_data = np.random.default_rng(3).standard_normal(shape)
        results = []
        for model, forward in ((fused, lambda m, x: m(x)), (unfused, one_by_one)):
            x = cr.tensor(x_data, requires_grad=True)
            out = forward(model, x)
            (out * out).sum().backward()
            grads = [p.grad for p in model.parameters() if p.requires_grad]
            results.append([arr(out), x.grad.numpy()] + [arr(g) for g in grads])
    for u, v in zip(*results, strict=True):
        assert np.array_equal(u, v)


def test_no_grad_and_dtypes_the_kernels_do_not_take():
    model = mlp([3, 4, 2], nn.ReLU, np.float64)
    x = cr.tensor(np.random.default_rng(0).standard_normal((5, 3)))
    with cr.no_grad():
        out = model(x)
    assert out._ctx is None and np.array_equal(arr(out), arr(one_by_one(model, x)))
    half = mlp([3, 4, 2], nn.ReLU, np.float64).to(cr.float16)
    h = cr.tensor(arr(x), dtype=cr.float16)
    assert np.array_equal(arr(half(h)), arr(one_by_one(half, h)))
    with pytest.raises(Exception) as fused_error:  # float32 input, float64 layer
        model(cr.tensor(arr(x).astype(np.float32)))
    with pytest.raises(Exception) as plain_error:
        one_by_one(model, cr.tensor(arr(x).astype(np.float32)))
    assert str(fused_error.value) == str(plain_error.value)


# ---------------------------------------------------------------- what sees two nodes
def test_grad_fn_and_next_functions_show_the_two_nodes():
    model = mlp([3, 4, 4, 2], nn.Tanh, np.float32)[:4]  # ends in an activation
    x = cr.randn(5, 3)
    out, reference = model(x), one_by_one(model, x)
    assert type(out._ctx).__name__ == "LinearTanh"
    assert repr(out).endswith("grad_fn=<TanhBackward0>)")
    chain, plain = [], []
    for start, names in ((out.grad_fn, chain), (reference.grad_fn, plain)):
        stack = [start]
        while stack:
            fn = stack.pop()
            if fn is None:
                continue
            names.append(fn.name())
            stack.extend(f for f, _ in fn.next_functions)
    assert chain == plain
    assert chain[:4] == ["TanhBackward0", "AddmmBackward0", "torch::autograd::AccumulateGrad",
                         "torch::autograd::AccumulateGrad"]  # fmt: skip
    assert out.grad_fn.next_functions[0][0] == out.grad_fn.next_functions[0][0]
    out.sum().backward()  # the unfused nodes give the same numbers
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    reference.sum().backward()
    for g, p in zip(grads, model.parameters(), strict=True):
        assert np.array_equal(g, p.grad.numpy())


def test_the_graph_viewer_and_trace_see_the_unfused_graph():
    from chainrule import viz

    model = mlp([3, 4, 2], nn.ReLU, np.float32)
    x, target = cr.randn(5, 3), cr.tensor([0, 1, 1, 0, 1])
    sources, nodes, gates = [], [], []
    for forward in (lambda m, x: m(x), one_by_one):
        model.zero_grad()
        loss = F.cross_entropy(forward(model, x), target)
        sources.append(viz.graph(loss, names=model).source)
        nodes.append([n.name for n in viz.nodes(loss)])
        model.zero_grad()
        loss = F.cross_entropy(forward(model, x), target)
        gates.append([g.node for g in viz.trace(loss, verbose=False).gates])
    assert sources[0] == sources[1] and nodes[0] == nodes[1] and gates[0] == gates[1]
    assert nodes[0] == ["LinearBackward", "ReluBackward", "LinearBackward",
                        "CrossEntropyIndexBackward"]  # fmt: skip
    with viz.trace(verbose=False) as trace:  # an observer open at forward: not fused
        F.cross_entropy(model(x), target).backward()
    assert [g.node for g in trace.gates] == gates[1]


def test_backward_twice_and_retain_graph():
    model = mlp([3, 4, 2], nn.Sigmoid, np.float64)
    x = cr.randn(5, 3, dtype=cr.float64)
    loss = model(x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()
    grads = []
    for forward in (lambda m, x: m(x), one_by_one):
        model.zero_grad()
        loss = forward(model, x).sum()
        loss.backward(retain_graph=True)
        loss.backward()
        grads.append([p.grad.numpy().copy() for p in model.parameters()])
    assert all(np.array_equal(a, b) for a, b in zip(*grads, strict=True))


@pytest.mark.parametrize("change", ["input", "weight", "output"])
def test_in_place_changes_raise_as_unfused(change):
    messages = []
    for forward in (lambda m, x: m(x), one_by_one):
        model = mlp([3, 4, 2], nn.ReLU, np.float64)[:2]
        leaf = cr.randn(5, 3, dtype=cr.float64, requires_grad=True)
        x = leaf * 1
        out = forward(model, x)
        loss = (out * out).sum()
        with cr.no_grad():
            {"input": x, "weight": model[0].weight, "output": out}[change].add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation") as error:
            loss.backward()
        messages.append(str(error.value).split(";")[0])
    assert messages[0] == messages[1]


@numba_paths
@pytest.mark.parametrize("activation", [nn.Tanh, nn.Sigmoid, nn.ReLU])
def test_double_backward_physics_informed(numba, activation):
    """u(x) by a small net, du/dx with create_graph, a loss of it, backward: the same
    numbers as unfused (the node composes the two ops' backward_graph)."""
    results = []
    with numba_path(numba):
        model = mlp([2, 8, 8, 1], activation, np.float64)
        points = np.random.default_rng(5).standard_normal((6, 2))
        for forward in (lambda m, x: m(x), one_by_one):
            model.zero_grad()
            x = cr.tensor(points, requires_grad=True)
            u = forward(model, x)
            (du,) = autograd.grad(u.sum(), x, create_graph=True)
            residual = (du * du).sum() + (u * u).mean()
            residual.backward()
            results.append([arr(du)] + [p.grad.numpy().copy() for p in model.parameters()])
    assert all(np.array_equal(a, b) for a, b in zip(*results, strict=True))


# ---------------------------------------------------------------- when it does not fuse
class LoudReLU(nn.ReLU):
    def forward(self, x):
        return super().forward(x) * 2


def test_subclasses_hooks_and_recording_run_the_modules():
    x = cr.randn(5, 3)
    model = nn.Sequential(nn.Linear(3, 4), LoudReLU())
    assert "LinearRelu" not in node_names(model(x))
    assert np.array_equal(arr(model(x)), arr(one_by_one(model, x)))
    subclass = nn.modules.attention.NonDynamicallyQuantizableLinear
    quantizable = nn.Sequential(subclass(3, 4), nn.ReLU())
    assert "LinearRelu" not in node_names(quantizable(x))

    model = mlp([3, 4, 2], nn.ReLU, np.float32)
    seen = []
    handle = model[0].register_forward_hook(lambda m, args, out: seen.append(out))
    out = model(x)
    assert len(seen) == 1 and np.array_equal(arr(seen[0]), arr(model[0](x)))
    assert "LinearRelu" not in node_names(out)
    handle.remove()
    assert "LinearRelu" in node_names(model(x))  # a removed hook: fused again
    handle = model[1].register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    assert np.array_equal(arr(model(x)), arr(model[2](model[0](x) * 0 * 0)))
    handle.remove()
    with autograd.recording() as ops:
        model(x)
    assert [type(op).__name__ for op, *_ in ops] == ["Linear", "Relu", "Linear"]

    model[1].forward = lambda x: x * 3  # a forward set on the instance is called
    assert np.array_equal(arr(model(x)), arr(model[2](model[0](x) * 3)))
    del model[1].forward
    model[0].weight = nn.Parameter(model[0].weight.detach().clone())  # still fused
    assert "LinearRelu" in node_names(model(x))
    del model[0].weight
    model[0].weight = cr.randn(4, 3)  # a plain tensor (as functional_call does)
    assert "LinearRelu" not in node_names(model(x))
    assert np.array_equal(arr(model(x)), arr(one_by_one(model, x)))


def test_changing_the_layers_changes_the_plan():
    model = mlp([3, 4, 2], nn.ReLU, np.float32)
    x = cr.randn(5, 3)
    model(x)
    model[1] = nn.Tanh()
    assert "LinearTanh" in node_names(model(x))
    model.append(nn.Sigmoid())
    assert node_names(model(x))[0] == "LinearSigmoid"  # the last Linear and it
    del model._modules["2"]
    model._modules["2"] = nn.Identity()
    assert np.array_equal(arr(model(x)), arr(one_by_one(model, x)))


# ---------------------------------------------------------------- against PyTorch 2.13
def torch_twin(model: nn.Module):
    import torch

    kinds = {nn.Linear: None, nn.ReLU: torch.nn.ReLU, nn.Sigmoid: torch.nn.Sigmoid}
    kinds[nn.Tanh] = torch.nn.Tanh
    layers = []
    for m in model:
        if type(m) is nn.Linear:
            layer = torch.nn.Linear(m.in_features, m.out_features).double()
            with torch.no_grad():
                layer.weight.copy_(torch.from_numpy(arr(m.weight).astype(np.float64)))
                layer.bias.copy_(torch.from_numpy(arr(m.bias).astype(np.float64)))
            layers.append(layer)
        else:
            layers.append(kinds[type(m)]())
    return torch.nn.Sequential(*layers)


@pytest.mark.parametrize("activation", [nn.ReLU, nn.Sigmoid, nn.Tanh])
def test_parity_with_torch_names_values_and_hooks(activation):
    import torch

    model = mlp([3, 6, 5, 2], activation, np.float64)[:4]  # ends in the activation
    theirs = torch_twin(model)
    points = np.random.default_rng(2).standard_normal((7, 3))
    x, tx = cr.tensor(points, requires_grad=True), torch.tensor(points, requires_grad=True)
    out, tout = model(x), theirs(tx)
    assert out.grad_fn.name() == tout.grad_fn.name()  # e.g. ReluBackward0
    inner, tinner = out.grad_fn.next_functions[0][0], tout.grad_fn.next_functions[0][0]
    assert inner.name() == tinner.name() == "AddmmBackward0"
    (out * out).sum().backward()
    (tout * tout).sum().backward()
    np.testing.assert_allclose(arr(out), tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    for p, q in zip(model.parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, atol=1e-12)

    # a hook on a layer inside the Sequential runs, with torch's arguments
    seen: dict[str, list] = {"cr": [], "torch": []}
    model[0].register_full_backward_hook(lambda m, gi, go: seen["cr"].append(go[0]))
    theirs[0].register_full_backward_hook(lambda m, gi, go: seen["torch"].append(go[0]))
    model[1].register_forward_hook(lambda m, args, o: seen["cr"].append(args[0]))
    theirs[1].register_forward_hook(lambda m, args, o: seen["torch"].append(args[0]))
    model(x).sum().backward()
    theirs(tx).sum().backward()
    assert len(seen["cr"]) == len(seen["torch"]) == 2
    for ours, their in zip(seen["cr"], seen["torch"], strict=True):
        np.testing.assert_allclose(arr(ours), their.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_double_backward_parity_with_torch():
    """A physics-informed residual (du/dx by create_graph, then backward) as torch has it."""
    import torch

    model = mlp([2, 8, 8, 1], nn.Tanh, np.float64)
    theirs = torch_twin(model)
    points = np.random.default_rng(6).standard_normal((6, 2))
    x, tx = cr.tensor(points, requires_grad=True), torch.tensor(points, requires_grad=True)
    u, tu = model(x), theirs(tx)
    (du,) = autograd.grad(u.sum(), x, create_graph=True)
    (tdu,) = torch.autograd.grad(tu.sum(), tx, create_graph=True)
    ((du * du).sum() + (u * u).mean()).backward()
    ((tdu * tdu).sum() + (tu * tu).mean()).backward()
    np.testing.assert_allclose(arr(du), tdu.detach().numpy(), rtol=1e-10, atol=1e-12)
    for p, q in zip(model.parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-9, atol=1e-12)
