"""create_graph=True: gradients of gradients, against torch 2.13 and finite differences.

Every op of the engine is listed (by walking Function's subclasses, so a new op is
included without editing this file): it either has a differentiable backward
(`backward_graph`; second derivatives checked on every case of op_cases.py against torch)
or its gradient goes through the refusal node, so that differentiating it again raises
"double backward of <op> is not supported" (checked for each such op, and end to end on
the op cases that use one).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import higher_order
from chainrule.autograd import Function
from tests.support.op_cases import ALL_CASES
from tests.support.parity import make_arrays

# what an MLP and its losses use: these must be differentiable twice
MLP_OPS = {
    "Add", "Sub", "Mul", "Div", "Neg", "Pow", "PowScalar", "MatMul", "Linear", "Exp", "Log",
    "Tanh", "Sigmoid", "Relu", "Gelu", "Softplus", "Sum", "Mean", "Reshape", "Permute",
    "GetItem", "Softmax", "LogSoftmax", "CrossEntropyIndex", "Expand", "Clone", "Cast",
}  # fmt: skip
# engine-internal nodes (the table bases, custom functions, the refusal itself)
INTERNAL = {"_Unary", "_Binary", "_Pick", "CustomNode", "DoubleBackwardUnsupported"}


def _engine_ops() -> dict[str, type]:
    found: dict[str, type] = {}
    stack = [Function]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub.__module__.startswith("chainrule.") and sub.__name__ not in found:
                found[sub.__name__] = sub
                stack.append(sub)
    return found


@pytest.mark.parametrize("name", sorted(set(_engine_ops()) - INTERNAL))
def test_every_op_is_differentiable_twice_or_refuses_clearly(name: str) -> None:
    op = _engine_ops()[name]
    if hasattr(op, "backward_graph"):
        return  # its second derivatives: test_double_backward_matches_torch
    node = op.__new__(op)
    x = cr.tensor([0.5, 1.5], dtype=cr.float64, requires_grad=True)
    node.inputs, node.needs_input_grad = (x,), (True,)
    node.backward = lambda grad: grad * 2  # the first gradient: whatever the op computes
    grad = cr.tensor([1.0, 1.0], dtype=cr.float64, requires_grad=True)
    (first,) = higher_order._node_backward(node, grad, x)
    np.testing.assert_allclose(first.detach().numpy(), [2.0, 2.0])
    with pytest.raises(RuntimeError, match=f"double backward of {node.name} is not supported"):
        first.sum().backward()


def test_what_an_mlp_uses_is_differentiable_twice() -> None:
    twice = {name for name, cls in _engine_ops().items() if hasattr(cls, "backward_graph")}
    assert twice >= MLP_OPS, sorted(MLP_OPS - twice)


def _second(lib: Any, fn: Any, arrays: list[np.ndarray], seed: int) -> tuple[list[Any], Any]:
    """First gradients with create_graph, then the gradient of <first, u> w.r.t. inputs."""
    xs = [lib.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*xs)
    out = out[0] if isinstance(out, tuple) else out
    rng = np.random.default_rng(seed)
    v = lib.tensor(rng.standard_normal(tuple(out.shape)))
    firsts = lib.autograd.grad(out, xs, v, create_graph=True, allow_unused=True)
    total = None
    for g in firsts:
        if g is not None and g.requires_grad:
            term = (g * lib.tensor(rng.standard_normal(tuple(g.shape)))).sum()
            total = term if total is None else total + term
    if total is None:
        return [None if g is None else g.detach().numpy() for g in firsts], None
    seconds = lib.autograd.grad(total, xs, allow_unused=True)
    return [None if g is None else g.detach().numpy() for g in firsts], [
        None if g is None else _array(g) for g in seconds
    ]


def _array(g: Any) -> np.ndarray:
    """torch may answer a ZeroTensor (no memory) for a gradient known to be zero."""
    if isinstance(g, torch.Tensor) and g._is_zerotensor():
        return np.zeros(tuple(g.shape))
    return np.asarray(g.detach().numpy())


@pytest.mark.parametrize(("fn", "torch_fn", "inputs", "draw"), ALL_CASES)
def test_double_backward_matches_torch(
    fn: Any, torch_fn: Any, inputs: Any, draw: dict[str, Any]
) -> None:
    arrays = make_arrays(inputs, 0, **draw)
    torch_first, torch_second = _second(torch, torch_fn or fn, arrays, 1)
    try:
        first, second = _second(cr, fn, arrays, 1)
    except RuntimeError as error:
        message = str(error)
        assert "double backward of" in message and "is not supported" in message
        refused = message.split("double backward of ")[1].split(" is not")[0]
        ops = {cls.__name__ + "Backward": cls for cls in _engine_ops().values()}
        assert refused in ops and not hasattr(ops[refused], "backward_graph"), message
        return
    for ours, theirs in zip(first, torch_first, strict=True):
        if theirs is not None:
            np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-9)
    if torch_second is None:
        return
    if second is None:  # our first gradient is a constant: torch's second must be zero
        assert all(s is None or not np.any(s) for s in torch_second)
        return
    for ours, theirs in zip(second, torch_second, strict=True):
        if theirs is None or not np.any(theirs):
            assert ours is None or not np.any(ours)
        else:
            np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-9)


def _mlp(lib: Any, Fn: Any, x: Any, w1: Any, b1: Any, w2: Any, y: Any) -> Any:
    h = Fn.gelu(Fn.linear(x, w1, b1))
    h = h.tanh() + Fn.softplus(h) * h.sigmoid() - Fn.relu(h) / 3
    logits = h @ w2
    return Fn.cross_entropy(logits, y) + Fn.mse_loss(logits.softmax(1), logits.exp() / 9)


def _mlp_arrays() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [rng.standard_normal(s) for s in ((5, 4), (6, 4), (6,), (6, 3))]


def test_gradient_penalty_on_an_mlp_matches_torch() -> None:
    """loss + ||d loss / d x||²: the WGAN-GP pattern, every parameter's gradient."""
    results = []
    for lib, Fn in ((torch, TF), (cr, F)):
        x, w1, b1, w2 = [lib.tensor(a, requires_grad=True) for a in _mlp_arrays()]
        y = lib.tensor([0, 2, 1, 1, 0])
        loss = _mlp(lib, Fn, x, w1, b1, w2, y)
        (gx,) = lib.autograd.grad(loss, x, create_graph=True)
        (loss + (gx**2).sum()).backward()
        results.append([t.grad.numpy() for t in (x, w1, b1, w2)])
    for ours, theirs in zip(results[1], results[0], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-10)


def test_double_backward_agrees_with_finite_differences() -> None:
    """d/dθ <d loss/d x, u> by double backward against central differences (float64) of
    the ordinary first gradient, for every element of every parameter θ."""
    arrays = _mlp_arrays()
    y = cr.tensor([0, 2, 1, 1, 0])
    u = np.random.default_rng(5).standard_normal(arrays[0].shape)

    def penalty(values: list[np.ndarray], graph: bool) -> Any:
        xs = [cr.tensor(a, requires_grad=True) for a in values]
        loss = _mlp(cr, F, *xs, y)
        (gx,) = cr.autograd.grad(loss, xs[0], create_graph=graph)
        return xs, (gx * cr.tensor(u)).sum()

    xs, p = penalty(arrays, graph=True)
    analytic = [g.numpy() for g in cr.autograd.grad(p, xs)]
    eps = 1e-6
    for k, array in enumerate(arrays):
        numeric = np.zeros_like(array)
        for i in np.ndindex(array.shape):
            up = [a.copy() for a in arrays]
            down = [a.copy() for a in arrays]
            up[k][i] += eps
            down[k][i] -= eps
            numeric[i] = (penalty(up, False)[1].item() - penalty(down, False)[1].item()) / (2 * eps)
        np.testing.assert_allclose(analytic[k], numeric, rtol=1e-5, atol=1e-7)


def test_hessian_vector_product_of_a_quadratic_form() -> None:
    """f(x) = ½ xᵀAx has Hessian (A + Aᵀ)/2·2 = A + Aᵀ... with A symmetric, H v = A v."""
    rng = np.random.default_rng(0)
    m = rng.standard_normal((4, 4))
    a = cr.tensor(m + m.T)
    x = cr.tensor(rng.standard_normal(4), requires_grad=True)
    v = cr.tensor(rng.standard_normal(4))
    f = 0.5 * (x @ (a @ x))
    (g,) = cr.autograd.grad(f, x, create_graph=True)
    (hv,) = cr.autograd.grad(g, x, v)
    np.testing.assert_allclose(hv.numpy(), (m + m.T) @ v.numpy(), rtol=1e-12)


def test_grad_of_grad_of_a_cubic_and_third_order() -> None:
    x = cr.tensor([1.0, -2.0, 0.5], dtype=cr.float64, requires_grad=True)
    (g,) = cr.autograd.grad((x**3).sum(), x, create_graph=True)
    (h,) = cr.autograd.grad(g.sum(), x, create_graph=True)
    (t,) = cr.autograd.grad(h.sum(), x)
    np.testing.assert_allclose(g.detach().numpy(), 3 * x.detach().numpy() ** 2)
    np.testing.assert_allclose(h.detach().numpy(), 6 * x.detach().numpy())
    np.testing.assert_allclose(t.numpy(), [6.0, 6.0, 6.0])


def test_backward_create_graph_makes_grad_differentiable() -> None:
    for lib in (torch, cr):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        (x**3).sum().backward(create_graph=True)
        assert x.grad.requires_grad
        grad_once = x.grad
        x.grad = None
        grad_once.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])


def test_a_once_differentiable_op_raises_only_when_differentiated_twice() -> None:
    x = cr.tensor([0.5, 1.0], dtype=cr.float64, requires_grad=True)
    (g,) = cr.autograd.grad(x.sin().sum(), x, create_graph=True)  # the first gradient works
    np.testing.assert_allclose(g.detach().numpy(), np.cos([0.5, 1.0]))
    with pytest.raises(RuntimeError, match="double backward of SinBackward is not supported"):
        g.sum().backward()


def test_custom_function_with_a_tensor_backward_is_differentiable_twice() -> None:
    class Cube(cr.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: cr.Tensor) -> cr.Tensor:
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx: Any, grad: cr.Tensor) -> cr.Tensor:
            (x,) = ctx.saved_tensors
            return grad * 3 * x**2

    x = cr.tensor([2.0], dtype=cr.float64, requires_grad=True)
    (g,) = cr.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    (h,) = cr.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), [12.0])
