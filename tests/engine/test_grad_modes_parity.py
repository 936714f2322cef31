"""Grad-mode switches and one-pass backward against torch 2.13: set_grad_enabled (call,
context manager, decorator), inference_mode, torch.autograd.backward, Tensor.detach_,
torch.autograd.gradgradcheck."""

import numpy as np
import pytest
import torch

import chainrule


@pytest.mark.parametrize("lib", [torch, chainrule], ids=["torch", "chainrule"])
def test_set_grad_enabled_acts_at_once_and_restores_as_a_context(lib):
    x = lib.ones(2, requires_grad=True)
    seen = []
    lib.set_grad_enabled(False)  # called alone: switches recording off until switched back
    seen.append((lib.is_grad_enabled(), (x * 2).requires_grad))
    lib.set_grad_enabled(True)
    with lib.set_grad_enabled(False):
        seen.append((lib.is_grad_enabled(), (x * 2).requires_grad))
    seen.append(lib.is_grad_enabled())
    with lib.no_grad(), lib.set_grad_enabled(True):
        seen.append((x * 2).requires_grad)

    @lib.set_grad_enabled(False)
    def evaluate():
        return (x * 2).requires_grad

    seen.append((lib.is_grad_enabled(), evaluate(), lib.is_grad_enabled()))
    assert seen == [(False, False), (False, False), True, True, (True, False, True)]


def test_set_grad_enabled_same_as_torch_in_a_shared_train_eval_loop():
    results = {}
    for lib in (torch, chainrule):
        x = lib.ones(3, requires_grad=True)
        flags = []
        for phase in ("train", "eval", "train"):
            with lib.set_grad_enabled(phase == "train"):
                flags.append((x * 3).requires_grad)
        results[lib.__name__] = flags
    assert results["torch"] == results["chainrule"] == [True, False, True]


@pytest.mark.parametrize("lib", [torch, chainrule], ids=["torch", "chainrule"])
def test_inference_mode_forms(lib):
    x = lib.ones(2, requires_grad=True)
    with lib.inference_mode():
        inside = (lib.is_inference_mode_enabled(), (x * 2).requires_grad)
    with lib.inference_mode(False):
        off = (lib.is_inference_mode_enabled(), (x * 2).requires_grad)

    @lib.inference_mode()
    def called():
        return (x * 2).requires_grad

    @lib.inference_mode
    def bare():
        return (x * 2).requires_grad

    assert inside == (True, False)
    assert off == (False, True)
    assert (called(), bare(), lib.is_inference_mode_enabled(), lib.is_grad_enabled()) == (
        False,
        False,
        False,
        True,
    )


def _backward_many(lib, create_graph, inputs):
    x = lib.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    w = lib.tensor(np.array([1.5, 0.25, -0.75]), requires_grad=True)
    a = (x * w).tanh().sum()  # a scalar: no gradient needed
    b = x**3 * w  # a vector: its gradient is given
    g = lib.tensor(np.array([1.0, -2.0, 0.5]))
    lib.autograd.backward(
        [a, b], [None, g], create_graph=create_graph, inputs=None if inputs is None else [x]
    )
    return x.grad.detach().numpy(), None if w.grad is None else w.grad.detach().numpy()


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("inputs", [None, "x"])
def test_autograd_backward_many_outputs_as_torch(create_graph, inputs):
    ours = _backward_many(chainrule, create_graph, inputs)
    theirs = _backward_many(torch, create_graph, inputs)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)
    if theirs[1] is None:
        assert ours[1] is None
    else:
        np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)


@pytest.mark.parametrize("lib", [torch, chainrule], ids=["torch", "chainrule"])
def test_autograd_backward_errors(lib):
    x = lib.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        lib.autograd.backward([lib.ones(2).sum()])
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        lib.autograd.backward([x * 2])
    with pytest.raises(RuntimeError, match="got 2 tensors and 1 gradients"):
        lib.autograd.backward([(x * 2).sum(), (x * 3).sum()], [None])


@pytest.mark.parametrize("lib", [torch, chainrule], ids=["torch", "chainrule"])
def test_detach_in_place_makes_a_leaf(lib):
    x = lib.ones(2, requires_grad=True)
    y = x * 3
    assert y.detach_() is y
    assert (y.requires_grad, y.grad_fn, y.is_leaf) == (False, None, True)
    (x * 2).sum().backward()  # the graph before y is untouched
    assert x.grad.tolist() == [2.0, 2.0]


class _Cube(chainrule.autograd.Function):
    """x³ whose backward is right once but, detached, has no second derivative."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x.detach() ** 2


def test_gradgradcheck_passes_twice_differentiable_functions_and_catches_a_detached_backward():
    t = chainrule.tensor(np.array([0.5, 1.5, -0.7]), requires_grad=True)
    assert chainrule.autograd.gradgradcheck(lambda v: (v.tanh() ** 3).sum(), [t])
    assert chainrule.autograd.gradgradcheck(lambda v: v.sigmoid() * v, [t])
    assert chainrule.autograd.gradcheck(lambda v: _Cube.apply(v).sum(), [t])
    assert not chainrule.autograd.gradgradcheck(
        lambda v: _Cube.apply(v).sum(), [t], raise_exception=False
    )
    with pytest.raises(AssertionError, match="gradient of input 0"):
        chainrule.autograd.gradgradcheck(lambda v: _Cube.apply(v).sum(), [t])
    # torch agrees on both verdicts for its own versions of the two functions
    tt = torch.tensor([0.5, 1.5, -0.7], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda v: (v.tanh() ** 3).sum(), [tt])
