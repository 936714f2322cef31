"""Shape-changing in-place ops (unsqueeze_, squeeze_, t_, transpose_, swapaxes_,
swapdims_, resize_, resize_as_) against torch 2.13: shapes, values, shared memory,
versions, gradients through them inside the graph, and torch's errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

OPS = [
    ("unsqueeze_", lambda t: t.unsqueeze_(1)),
    ("unsqueeze_-neg", lambda t: t.unsqueeze_(-1)),
    ("squeeze_", lambda t: t.unsqueeze_(0).squeeze_()),
    ("squeeze_-dim", lambda t: t.unsqueeze_(2).squeeze_(2)),
    ("t_", lambda t: t.t_()),
    ("transpose_", lambda t: t.transpose_(0, 1)),
    ("swapaxes_", lambda t: t.swapaxes_(1, 0)),
    ("swapdims_", lambda t: t.swapdims_(0, 1)),
]
VALUES = np.arange(6.0).reshape(2, 3)


@pytest.mark.parametrize(("name", "op"), OPS, ids=[n for n, _ in OPS])
def test_outside_the_graph(name: str, op: Any) -> None:
    results = []
    for lib in (torch, cr):
        t = lib.tensor(VALUES)
        out = op(t)
        assert out is t
        results.append((tuple(t.shape), t.numpy().copy(), t._version))
    assert results[1][0] == results[0][0]
    np.testing.assert_array_equal(results[1][1], results[0][1])
    assert results[1][2] == results[0][2]


@pytest.mark.parametrize(("name", "op"), OPS, ids=[n for n, _ in OPS])
def test_inside_the_graph_gradients_reach_the_inputs(name: str, op: Any) -> None:
    grads = []
    for lib in (torch, cr):
        x = lib.tensor(VALUES, requires_grad=True)
        y = x * 2
        op(y)
        weights = lib.tensor(np.arange(1.0, 7.0).reshape(tuple(y.shape)))
        (y * weights).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[1], grads[0])


def test_on_a_leaf_that_requires_grad_raises_like_torch() -> None:
    for lib in (torch, cr):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            lib.ones(3, requires_grad=True).unsqueeze_(0)


def test_memory_is_shared_with_a_detached_alias() -> None:
    for lib in (torch, cr):
        t = lib.tensor(VALUES)
        alias = t.view(-1)
        t.t_()
        t[0, 1] = 100.0  # t is (3, 2) now: element (0, 1) is alias[3]
        assert alias[3].item() == 100.0


def test_resize_shrinks_and_grows_like_torch_on_the_kept_values() -> None:
    for lib in (torch, cr):  # tolist, not numpy: a numpy() view pins torch's storage
        c = lib.arange(6.0)
        c.resize_(2, 3)
        np.testing.assert_array_equal(np.array(c.tolist()), VALUES)
        assert c._version == 1
        c.resize_((4,))
        np.testing.assert_array_equal(np.array(c.tolist()), [0.0, 1.0, 2.0, 3.0])
        c.resize_as_(lib.ones(2, 4))
        assert tuple(c.shape) == (2, 4)
        np.testing.assert_array_equal(np.array(c.tolist()).reshape(-1)[:4], [0.0, 1.0, 2.0, 3.0])
    grown = cr.arange(2.0)
    grown.resize_(4)
    np.testing.assert_array_equal(grown.numpy(), [0.0, 1.0, 0.0, 0.0])  # zeros, not garbage


def test_resize_of_a_tensor_that_requires_grad_raises_like_torch() -> None:
    for lib in (torch, cr):
        with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
            (lib.ones(2, 2, requires_grad=True) * 1).resize_(4)
