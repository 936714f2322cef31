"""Tensor.register_hook, register_post_accumulate_grad_hook, retain_grad/retains_grad,
backward(inputs=...) and autograd.grad's allow_unused/retain_graph: the same code on
torch 2.13 and chainrule, comparing values, gradients and errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

LIBS = [pytest.param(torch, id="torch"), pytest.param(cr, id="chainrule")]
X = np.array([1.0, -2.0, 3.0])


def _x(lib: Any) -> Any:
    return lib.tensor(X, requires_grad=True)


def both(run: Any) -> None:
    """run(lib) on both; the results (lists of arrays/None/values) must agree."""
    ours, theirs = run(cr), run(torch)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        if b is None:
            assert a is None
        elif isinstance(b, (bool, int, float, str)):
            assert a == b
        else:
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12)


def _np(t: Any) -> Any:
    return None if t is None else t.detach().numpy().copy()


def test_hook_on_a_leaf_sees_and_replaces_the_gradient() -> None:
    def run(lib: Any) -> list[Any]:
        x = _x(lib)
        seen = []
        x.register_hook(lambda g: seen.append(_np(g)))
        x.register_hook(lambda g: g * 10)
        (x * x).sum().backward()
        return [seen[0], _np(x.grad)]

    both(run)


def test_hook_on_a_non_leaf_changes_what_flows_on_and_what_retain_grad_keeps() -> None:
    def run(lib: Any) -> list[Any]:
        x = _x(lib)
        h = x * 2
        h.retain_grad()
        h.register_hook(lambda g: g + 1)
        (h**2).sum().backward()
        return [_np(h.grad), _np(x.grad), h.retains_grad, x.retains_grad, h.is_leaf]

    both(run)


def test_removed_hook_does_not_run() -> None:
    def run(lib: Any) -> list[Any]:
        x = _x(lib)
        handle = x.register_hook(lambda g: g * 0)
        handle.remove()
        x.sum().backward()
        return [_np(x.grad)]

    both(run)


def test_hook_on_a_tensor_without_grad_raises_like_torch() -> None:
    for lib in (torch, cr):
        with pytest.raises(RuntimeError, match="doesn't require gradient"):
            lib.tensor([1.0]).register_hook(lambda g: g)


def test_post_accumulate_grad_hook_sees_the_accumulated_grad() -> None:
    def run(lib: Any) -> list[Any]:
        x = _x(lib)
        seen = []
        x.register_post_accumulate_grad_hook(lambda t: seen.append(_np(t.grad)))
        (x * 3).sum().backward()
        (x * 3).sum().backward()
        return [seen[0], seen[1]]

    both(run)
    for lib in (torch, cr):
        with pytest.raises(RuntimeError, match="non-leaf"):
            (_x(lib) * 2).register_post_accumulate_grad_hook(lambda t: None)


def test_backward_inputs_accumulates_only_into_the_given_tensors() -> None:
    def run(lib: Any) -> list[Any]:
        x, w = _x(lib), lib.tensor([0.5, 0.5, 2.0], requires_grad=True)
        h = x * w
        (h.exp()).sum().backward(inputs=[w, h])
        return [_np(x.grad), _np(w.grad), _np(h.grad)]

    both(run)
    for lib in (torch, cr):
        x = _x(lib)
        with pytest.raises(RuntimeError, match="cannot be empty"):
            x.sum().backward(inputs=[])


def test_grad_allow_unused_and_materialize() -> None:
    def run(lib: Any) -> list[Any]:
        x, unused = _x(lib), lib.tensor([1.0], requires_grad=True)
        y = (x * x).sum()
        dx, du = lib.autograd.grad(y, [x, unused], allow_unused=True, retain_graph=True)
        mx, mu = lib.autograd.grad(y, [x, unused], materialize_grads=True)
        return [_np(dx), du, _np(mx), _np(mu)]

    both(run)
    for lib in (torch, cr):
        x, unused = _x(lib), lib.tensor([1.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="not have been used in the graph"):
            lib.autograd.grad((x * 2).sum(), [x, unused])


def test_grad_without_retain_graph_frees_the_graph() -> None:
    for lib in (torch, cr):
        x = _x(lib)
        y = (x.exp()).sum()
        lib.autograd.grad(y, x)
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            lib.autograd.grad(y, x)
        z = (x.exp()).sum()
        lib.autograd.grad(z, x, retain_graph=True)
        lib.autograd.grad(z, x)  # kept once: works


def test_create_graph_retains_the_graph_by_default() -> None:
    for lib in (torch, cr):
        x = _x(lib)
        y = (x.exp()).sum()
        lib.autograd.grad(y, x, create_graph=True)
        lib.autograd.grad(y, x)  # create_graph implies retain_graph
