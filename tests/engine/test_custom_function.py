"""Custom autograd functions with PyTorch's protocol (`class F(autograd.Function)` with static
forward/backward, ctx.save_for_backward, saved_tensors, needs_input_grad,
mark_non_differentiable, F.apply), `autograd.grad`, and cross_entropy's gradient with
respect to probability targets. The same code runs on torch 2.13 and on chainrule; finite
differences (float64) check the custom functions' gradients."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

rng = np.random.default_rng(3)
X = rng.standard_normal((3, 4))
Y = rng.standard_normal((3, 4))


def define(lib: Any) -> dict[str, Any]:
    """The same custom functions, subclassing lib.autograd.Function."""

    class ScaledCube(lib.autograd.Function):
        """y = scale·x³ with a non-tensor argument."""

        @staticmethod
        def forward(ctx: Any, x: Any, scale: float) -> Any:
            ctx.save_for_backward(x)
            ctx.scale = scale
            return x**3 * scale

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            (x,) = ctx.saved_tensors
            return grad * 3 * x**2 * ctx.scale, None

    class MulAdd(lib.autograd.Function):
        """(a·b + c): gradients only where ctx.needs_input_grad asks."""

        @staticmethod
        def forward(ctx: Any, a: Any, b: Any, c: Any) -> Any:
            ctx.save_for_backward(a, b)
            return a * b + c

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            a, b = ctx.saved_tensors
            need_a, need_b, need_c = ctx.needs_input_grad
            return (
                grad * b if need_a else None,
                grad * a if need_b else None,
                grad if need_c else None,
            )

    class ExpSavingOutput(lib.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            out = x.exp()
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            (out,) = ctx.saved_tensors
            return grad * out

    class MaxWithIndex(lib.autograd.Function):
        """Two outputs: the row max (differentiable) and its index (not)."""

        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            index = x.argmax(1)
            ctx.mark_non_differentiable(index)
            ctx.save_for_backward(index)
            ctx.shape = x.shape
            return x.amax(1), index

        @staticmethod
        def backward(ctx: Any, grad_value: Any, grad_index: Any) -> Any:
            (index,) = ctx.saved_tensors
            full = lib.zeros(ctx.shape, dtype=grad_value.dtype)
            full[range(ctx.shape[0]), index] = grad_value
            return full

    class SinCos(lib.autograd.Function):
        """Two differentiable outputs; backward gets zeros for an unused one."""

        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            return x.tanh(), x * x

        @staticmethod
        def backward(ctx: Any, g_tanh: Any, g_square: Any) -> Any:
            (x,) = ctx.saved_tensors
            return g_tanh * (1 - x.tanh() ** 2) + g_square * 2 * x

    class TooFewGradients(lib.autograd.Function):
        @staticmethod
        def forward(ctx: Any, a: Any, b: Any) -> Any:
            return a + b

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            return grad

    class WrongShape(lib.autograd.Function):
        @staticmethod
        def forward(ctx: Any, a: Any) -> Any:
            return a * 2

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            return grad.sum(0)[:2]

    return {k: v for k, v in locals().items() if k != "lib"}


TORCH, OURS = define(torch), define(cr)


def leaves(lib: Any, *arrays: np.ndarray) -> list[Any]:
    return [lib.tensor(a.copy(), dtype=lib.float64, requires_grad=True) for a in arrays]


def grads_of(tensors: list[Any]) -> list[np.ndarray | None]:
    return [None if t.grad is None else t.grad.detach().numpy() for t in tensors]


def assert_same_grads(ours: list[Any], theirs: list[Any]) -> None:
    for a, b in zip(grads_of(ours), grads_of(theirs), strict=True):
        assert (a is None) == (b is None)
        if b is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_a_custom_function_with_a_non_tensor_argument_matches_torch() -> None:
    results = {}
    for lib, fns in ((torch, TORCH), (cr, OURS)):
        (x,) = leaves(lib, X)
        y = fns["ScaledCube"].apply(x, 0.5)
        assert y.requires_grad and not y.is_leaf
        assert type(y.grad_fn).__name__ == "ScaledCubeBackward"
        (y * y).sum().backward()
        results[lib.__name__] = (y.detach().numpy(), [x])
    np.testing.assert_allclose(results["chainrule"][0], results["torch"][0], rtol=1e-12)
    assert_same_grads(results["chainrule"][1], results["torch"][1])
    assert "ScaledCubeBackward" in repr(OURS["ScaledCube"].apply(leaves(cr, X)[0], 1.0))


@pytest.mark.parametrize("needs", [(True, True, True), (True, False, True), (False, True, False)])
def test_needs_input_grad_and_gradients_match_torch(needs: tuple[bool, ...]) -> None:
    seen, tensors = {}, {}
    for lib, fns in ((torch, TORCH), (cr, OURS)):
        ts = [
            lib.tensor(a.copy(), dtype=lib.float64, requires_grad=n)
            for a, n in zip((X, Y, X * Y), needs, strict=True)
        ]
        flags: list[tuple[bool, ...]] = []

        class Spy(fns["MulAdd"]):  # type: ignore[misc, valid-type]
            @staticmethod
            def backward(ctx: Any, grad: Any, flags: Any = flags, fns: Any = fns) -> Any:
                flags.append(tuple(ctx.needs_input_grad))
                return fns["MulAdd"].backward(ctx, grad)

        Spy.apply(*ts).sum().backward()
        seen[lib.__name__], tensors[lib.__name__] = flags, ts
    assert seen["chainrule"] == seen["torch"] == [needs]
    assert_same_grads(tensors["chainrule"], tensors["torch"])


def test_multiple_outputs_and_non_differentiable_ones_match_torch() -> None:
    out = {}
    for lib, fns in ((torch, TORCH), (cr, OURS)):
        (x,) = leaves(lib, X)
        value, index = fns["MaxWithIndex"].apply(x)
        assert value.requires_grad and not index.requires_grad
        (value * value).sum().backward()
        t, s = leaves(lib, X), None
        tanh, s = fns["SinCos"].apply(t[0])
        s.sum().backward()  # tanh unused: backward receives zeros for it
        out[lib.__name__] = ([x], index.numpy(), t)
    np.testing.assert_array_equal(out["chainrule"][1], out["torch"][1])
    assert_same_grads(out["chainrule"][0], out["torch"][0])
    assert_same_grads(out["chainrule"][2], out["torch"][2])


def test_both_outputs_used_add_their_gradients() -> None:
    results = []
    for lib, fns in ((torch, TORCH), (cr, OURS)):
        (x,) = leaves(lib, X)
        a, b = fns["SinCos"].apply(x)
        (a * 3 + b * a).sum().backward()
        results.append([x])
    assert_same_grads(results[1], results[0])


def test_gradcheck_of_custom_functions() -> None:
    a, b, c = leaves(cr, X, Y, X - Y)
    assert cr.gradcheck(lambda x: OURS["ScaledCube"].apply(x, 1.5), [a])
    assert cr.gradcheck(lambda x, y, z: OURS["MulAdd"].apply(x, y, z), [a, b, c])
    assert cr.gradcheck(lambda x: OURS["MaxWithIndex"].apply(x)[0], [a])
    assert cr.gradcheck(lambda x: sum(o * o for o in OURS["SinCos"].apply(x)), [a])


def test_gradcheck_catches_a_wrong_custom_backward() -> None:
    class WrongCube(cr.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            (x,) = ctx.saved_tensors
            return grad * 2 * x**2  # should be 3x²

    with pytest.raises(cr.GradcheckError):
        cr.gradcheck(WrongCube.apply, leaves(cr, X))


def test_changing_a_saved_tensor_in_place_fails_as_in_torch() -> None:
    for lib, fns in ((torch, TORCH), (cr, OURS)):
        (x,) = leaves(lib, X)
        y = fns["ExpSavingOutput"].apply(x)
        y.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("TooFewGradients", "returned an incorrect number of gradients"),
        ("WrongShape", "returned an invalid gradient at index 0"),
    ],
)
def test_a_backward_that_returns_the_wrong_gradients_fails_as_in_torch(
    name: str, message: str
) -> None:
    for lib, fns in ((torch, TORCH), (cr, OURS)):
        tensors = leaves(lib, X, Y)
        args = tensors if name == "TooFewGradients" else tensors[:1]
        with pytest.raises(RuntimeError, match=message):
            fns[name].apply(*args).sum().backward()


def test_apply_without_grad_records_nothing() -> None:
    for lib, fns in ((torch, TORCH), (cr, OURS)):
        (x,) = leaves(lib, X)
        with lib.no_grad():
            y = fns["ScaledCube"].apply(x, 2.0)
        assert not y.requires_grad and y.grad_fn is None
        z = fns["ScaledCube"].apply(lib.tensor(X), 2.0)
        assert not z.requires_grad


def test_backward_twice_through_a_custom_function_needs_retain_graph() -> None:
    (x,) = leaves(cr, X)
    y = OURS["ScaledCube"].apply(x, 1.0).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 3 * X**2)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


# ------------------------------------------------------------------ autograd.grad
def test_autograd_grad_matches_torch_and_leaves_grad_alone() -> None:
    got = {}
    for lib in (torch, cr):
        x, w = leaves(lib, X, Y)
        h = x * w
        loss = (h.tanh() * x).sum()
        gx, gh = lib.autograd.grad(loss, [x, h], retain_graph=True)
        assert x.grad is None and w.grad is None  # nothing accumulated
        (gw,) = lib.autograd.grad(loss, w, grad_outputs=lib.tensor(2.0, dtype=lib.float64))
        got[lib.__name__] = [g.detach().numpy() for g in (gx, gh, gw)]
    for ours, theirs in zip(got["chainrule"], got["torch"], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_autograd_grad_of_several_outputs_sums_them() -> None:
    got = []
    for lib in (torch, cr):
        (x,) = leaves(lib, X)
        a, b = x.exp(), x * 3
        (g,) = lib.autograd.grad([a, b], x, grad_outputs=[lib.ones_like(a), lib.ones_like(b)])
        got.append(g.numpy())
    np.testing.assert_allclose(got[1], got[0], rtol=1e-12)


def test_autograd_grad_errors_and_allow_unused_match_torch() -> None:
    for lib in (torch, cr):
        x, unused = leaves(lib, X, Y)
        loss = (x * x).sum()
        with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
            lib.autograd.grad(loss, [x, unused], retain_graph=True)
        gx, gu = lib.autograd.grad(loss, [x, unused], allow_unused=True, retain_graph=True)
        assert gu is None and gx is not None
        (gz,) = lib.autograd.grad(
            loss, [unused], allow_unused=True, materialize_grads=True, retain_graph=True
        )
        assert gz is not None and not gz.numpy().any()
        with pytest.raises(RuntimeError, match="does not require grad"):
            lib.autograd.grad(loss, [lib.tensor(X)])
        with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
            lib.autograd.grad(x * 2, x)
        with pytest.raises(RuntimeError, match="argument to `grad\\(\\)` cannot be empty"):
            lib.autograd.grad((leaves(lib, X)[0] ** 2).sum(), [], create_graph=True)


def test_autograd_grad_through_a_custom_function() -> None:
    got = []
    for lib, fns in ((torch, TORCH), (cr, OURS)):
        (x,) = leaves(lib, X)
        (g,) = lib.autograd.grad(fns["ScaledCube"].apply(x, 2.0).sum(), x)
        got.append(g.numpy())
    np.testing.assert_allclose(got[1], got[0], rtol=1e-12)


# ------------------------------------------------------------------ cross_entropy targets
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_gives_the_gradient_of_probability_targets(
    label_smoothing: float, reduction: str
) -> None:
    q = np.abs(Y) / np.abs(Y).sum(1, keepdims=True)
    weight = np.array([1.0, 2.0, 0.5, 1.5])
    results = []
    for lib in (torch, cr):
        z, p = leaves(lib, X, q)
        loss = lib.nn.functional.cross_entropy(
            z,
            p,
            weight=lib.tensor(weight, dtype=lib.float64),
            reduction=reduction,
            label_smoothing=label_smoothing,
        )
        (loss * lib.tensor(np.arange(1.0, loss.numel() + 1).reshape(loss.shape))).sum().backward()
        results.append((loss.detach().numpy(), [z, p]))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-12)
    assert_same_grads(results[1][1], results[0][1])
    z, p = leaves(cr, X, q)
    assert cr.gradcheck(
        lambda a, b: cr.nn.functional.cross_entropy(a, b, label_smoothing=label_smoothing),
        [z, p],
    )


def test_the_split_form_with_setup_context_matches_torch() -> None:
    """PyTorch 2's form: forward(*args) without ctx, and setup_context(ctx, inputs, output)."""
    got = []
    for lib in (torch, cr):

        class Square(lib.autograd.Function):
            @staticmethod
            def forward(x: Any, scale: float) -> Any:
                return x * x * scale

            @staticmethod
            def setup_context(ctx: Any, inputs: Any, output: Any) -> None:
                x, scale = inputs
                ctx.save_for_backward(x)
                ctx.scale = scale

            @staticmethod
            def backward(ctx: Any, grad: Any) -> Any:
                (x,) = ctx.saved_tensors
                return grad * 2 * x * ctx.scale, None

        (x,) = leaves(lib, X)
        Square.apply(x, 3.0).sum().backward()
        got.append(x.grad.numpy())
        assert lib.autograd.gradcheck(lambda t, f=Square: f.apply(t, 3.0), leaves(lib, X))
    np.testing.assert_allclose(got[1], got[0], rtol=1e-12)
