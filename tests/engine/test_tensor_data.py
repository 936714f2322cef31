"""`Tensor.data` as in PyTorch: a Tensor sharing memory, cut off from the graph, whose in-place
changes reach the original and are not seen by autograd. Each case runs the same code on
torch and on chainrule and compares values, gradients and flags."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

START = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
GRAD = np.array([[0.1, 0.2, -0.3], [0.4, -0.5, 0.6]])


def both(step: Callable[[Any, Any], Any]) -> tuple[np.ndarray, np.ndarray]:
    """Run `step(lib, p)` on a float64 leaf p (with p.grad set) in torch and in chainrule;
    return p's values afterwards in each."""
    out = []
    for lib in (torch, cr):
        p = lib.tensor(START.copy(), dtype=lib.float64, requires_grad=True)
        p.grad = lib.tensor(GRAD.copy(), dtype=lib.float64)
        step(lib, p)
        out.append(p.detach().numpy().copy())
    return out[0], out[1]


UPDATES: dict[str, Callable[[Any, Any], Any]] = {
    "iadd": lambda lib, p: p.data.__iadd__(-0.1 * p.grad),
    "augmented -=": lambda lib, p: exec("p.data -= 0.1 * p.grad", {"p": p}),  # noqa: S102 - a statement in a lambda
    "augmented *=": lambda lib, p: exec("p.data *= 2", {"p": p}),  # noqa: S102
    "add_ alpha": lambda lib, p: p.data.add_(p.grad, alpha=-0.5),
    "sub_": lambda lib, p: p.data.sub_(p.grad),
    "mul_": lambda lib, p: p.data.mul_(3.0),
    "div_": lambda lib, p: p.data.div_(4.0),
    "zero_": lambda lib, p: p.data.zero_(),
    "fill_": lambda lib, p: p.data.fill_(7.0),
    "copy_": lambda lib, p: p.data.copy_(lib.ones(2, 3, dtype=lib.float64)),
    "setitem": lambda lib, p: p.data.__setitem__((0, 1), 9.0),
    "assign": lambda lib, p: setattr(p, "data", lib.zeros(2, 3, dtype=lib.float64)),
}


@pytest.mark.parametrize("name", list(UPDATES))
def test_in_place_updates_through_data_change_the_original_as_in_torch(name: str) -> None:
    expected, got = both(UPDATES[name])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-15)
    assert not np.array_equal(got, START)  # the update did reach the parameter


def test_data_is_a_detached_tensor_sharing_memory() -> None:
    for lib in (torch, cr):
        p = lib.tensor([1.0, 2.0], requires_grad=True)
        d = p.data
        assert isinstance(d, lib.Tensor)
        assert d.requires_grad is False and d.grad_fn is None and d.is_leaf
        d[0] = 5.0
        assert p.tolist() == [5.0, 2.0]
    p = cr.tensor([1.0, 2.0], requires_grad=True)
    assert np.shares_memory(p.data.numpy(), p.detach().numpy())


def test_data_of_a_graph_tensor_is_detached() -> None:
    for lib in (torch, cr):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 3
        assert y.data.requires_grad is False and y.data.grad_fn is None
        assert y.data.tolist() == [3.0, 6.0]


def test_a_hand_written_sgd_loop_matches_torch() -> None:
    """The loop of every lecture: forward, backward, `p.data += -lr * p.grad`, zero grads."""
    rng = np.random.default_rng(0)
    x_np, y_np = rng.standard_normal((16, 3)), rng.standard_normal((16, 1))
    w_np, b_np = rng.standard_normal((3, 1)), np.zeros(1)
    losses = {}
    for lib in (torch, cr):
        x, y = lib.tensor(x_np), lib.tensor(y_np)
        w = lib.tensor(w_np.copy(), requires_grad=True)
        b = lib.tensor(b_np.copy(), requires_grad=True)
        history = []
        for _ in range(20):
            loss = ((x @ w + b - y) ** 2).mean()
            for p in (w, b):
                p.grad = None
            loss.backward()
            for p in (w, b):
                p.data += -0.1 * p.grad
            history.append(loss.item())
        losses[lib.__name__] = history
    np.testing.assert_allclose(losses["chainrule"], losses["torch"], rtol=1e-12)
    assert losses["chainrule"][-1] < losses["chainrule"][0] / 2  # it did learn


def test_changes_through_data_are_not_seen_by_autograd() -> None:
    """Unlike detach(), .data has its own version counter: torch raises no error here, and
    the backward uses the changed values."""
    grads = []
    for lib in (torch, cr):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        y = x.exp()
        y.data.mul_(2.0)  # ExpBackward saved y: the changed y is what it multiplies by
        y.sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0])


def test_setting_data_to_a_non_tensor_is_a_type_error() -> None:
    p = cr.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="Tensor"):
        p.data = np.zeros(2)  # type: ignore[assignment]
    with pytest.raises(TypeError):
        torch.tensor([1.0, 2.0]).data = np.zeros(2)  # type: ignore[assignment]


def test_assigning_data_of_another_shape_and_dtype() -> None:
    for lib in (torch, cr):
        p = lib.tensor([1.0, 2.0], requires_grad=True)
        p.data = lib.zeros(3, 2, dtype=lib.float64)
        assert tuple(p.shape) == (3, 2) and p.dtype == lib.float64 and p.requires_grad


def test_numpy_of_data_shares_memory_with_the_parameter() -> None:
    p = cr.nn.Linear(3, 2).weight
    array = p.data.numpy()
    array[0, 0] = 42.0
    assert p[0, 0].item() == 42.0
