"""F.mse_loss's usual case ('mean' or 'sum', a target Tensor of the input's shape and
dtype, no weight) is one op, ops.MseLoss; the numbers are the composed ops' (x - y, d·d,
mean or sum) bit for bit: the loss, both gradients, double backward; and torch's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule
from chainrule import autograd_api, nn
from chainrule.nn import functional as F


def _composed(x: chainrule.Tensor, y: chainrule.Tensor, reduction: str) -> chainrule.Tensor:
    """What mse_loss computed before it was one op."""
    diff = x - y
    squares = diff * diff
    return squares.mean() if reduction == "mean" else squares.sum()


AFTERS: list[Callable[[Any], Any]] = [
    lambda loss: loss,
    lambda loss: loss * 3.0,
    lambda loss: loss + loss,
    lambda loss: loss * loss,
]
SHAPES = [(64, 1), (7,), (3, 4, 5), (1000,), (), (1, 1)]


def _grads(
    loss_fn: Callable[..., Any], x0: np.ndarray, y0: np.ndarray, reduction: str,
    after: Callable[[Any], Any], target_grad: bool,
) -> list[np.ndarray]:  # fmt: skip
    x = chainrule.tensor(x0, requires_grad=True)
    y = chainrule.tensor(y0, requires_grad=target_grad)
    loss = loss_fn(x, y, reduction)
    after(loss).backward()
    seen = [loss.detach().numpy(), x.grad.detach().numpy()]
    if target_grad:
        seen.append(y.grad.detach().numpy())
    return seen


def _fused(x: Any, y: Any, reduction: str) -> Any:
    return F.mse_loss(x, y, reduction=reduction)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("after", range(len(AFTERS)))
@pytest.mark.parametrize("target_grad", [False, True])
def test_one_op_is_the_composed_ops(shape, dtype, reduction, after, target_grad):
    rng = np.random.default_rng(len(shape) * 7 + after)
    x0 = (rng.standard_normal(shape) * 10 ** rng.uniform(-3, 3)).astype(dtype)
    y0 = (rng.standard_normal(shape) * 10 ** rng.uniform(-3, 3)).astype(dtype)
    args = (x0, y0, reduction, AFTERS[after], target_grad)
    fused, composed = _grads(_fused, *args), _grads(_composed, *args)
    for a, b in zip(fused, composed, strict=True):
        assert a.dtype == np.dtype(dtype) and a.shape == b.shape
        assert np.array_equal(a, b)


def test_the_usual_case_is_one_node_named_as_torch_names_it():
    x = chainrule.tensor(np.ones((4, 1), np.float32), requires_grad=True)
    loss = F.mse_loss(x, chainrule.tensor(np.zeros((4, 1), np.float32)))
    want = torch.nn.functional.mse_loss(torch.ones(4, 1, requires_grad=True), torch.zeros(4, 1))
    assert loss.grad_fn is not None and want.grad_fn is not None
    assert loss.grad_fn.name() == want.grad_fn.name() == "MseLossBackward0"
    assert nn.MSELoss()(x, chainrule.tensor(np.zeros((4, 1), np.float32))).grad_fn is not None


def test_same_tensor_as_input_and_target():
    x0 = np.arange(6.0).reshape(2, 3)
    x = chainrule.tensor(x0, requires_grad=True)
    F.mse_loss(x, x).backward()
    z = chainrule.tensor(x0, requires_grad=True)
    _composed(z, z, "mean").backward()
    assert np.array_equal(x.grad.detach().numpy(), z.grad.detach().numpy())


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_double_backward_is_the_composed_ops(reduction):
    rng = np.random.default_rng(5)
    x0, y0 = rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    results = []
    for loss_fn in (_fused, _composed):
        x = chainrule.tensor(x0, requires_grad=True)
        y = chainrule.tensor(y0, requires_grad=True)
        (gx, gy) = autograd_api.grad(loss_fn(x, y, reduction), (x, y), create_graph=True)
        (hx,) = autograd_api.grad((gx * gx).sum() + gy.sum(), (x,))
        results.append([g.detach().numpy() for g in (gx, gy, hx)])
    for a, b in zip(*results, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_matches_torch(reduction):
    rng = np.random.default_rng(9)
    x0, y0 = rng.standard_normal((64, 1)), rng.standard_normal((64, 1))
    x, y = chainrule.tensor(x0, requires_grad=True), chainrule.tensor(y0, requires_grad=True)
    tx = torch.tensor(x0, requires_grad=True)
    ty = torch.tensor(y0, requires_grad=True)
    loss = F.mse_loss(x, y, reduction=reduction)
    want = torch.nn.functional.mse_loss(tx, ty, reduction=reduction)
    loss.backward()
    want.backward()
    np.testing.assert_allclose(loss.item(), want.item(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.detach().numpy(), tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(y.grad.detach().numpy(), ty.grad.numpy(), rtol=1e-12)


def test_other_targets_keep_the_composed_path_and_its_messages():
    x = chainrule.tensor(np.ones((3, 2), np.float32), requires_grad=True)
    with pytest.raises(ValueError, match="target shape"):
        F.mse_loss(x, chainrule.tensor(np.ones((3, 1), np.float32)))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.mse_loss(x, chainrule.tensor(np.ones((3, 2), np.float32)), reduction="avg")
    cast = F.mse_loss(x, chainrule.tensor(np.zeros((3, 2))))  # float64 target: cast first
    assert cast.dtype == chainrule.float32 and cast.item() == 1.0
    legacy = F.mse_loss(x, chainrule.tensor(np.zeros((3, 2), np.float32)), size_average=False)
    assert legacy.item() == 6.0


@pytest.mark.parametrize("shape", [(64, 1), (3, 4), ()])
@pytest.mark.parametrize("mean", [True, False])
def test_kernels_into_buffers_give_what_they_give_into_new_arrays(shape, mean):
    """ops.loss.mse_forward/mse_backward (which a captured program may call into kept
    buffers) give the same numbers either way."""
    from chainrule.ops import loss as loss_ops

    rng = np.random.default_rng(2)
    x = np.asarray(rng.standard_normal(shape), np.float32)
    y = np.asarray(rng.standard_normal(shape), np.float32)
    seed = np.array(1, np.float32)
    loss, diff = loss_ops.mse_forward(x, y, mean)
    buffers = [np.empty(shape, np.float32) for _ in range(3)]
    kept_loss, kept_diff = loss_ops.mse_forward(x, y, mean, buffers[0], buffers[1])
    assert kept_diff is buffers[0] and kept_loss == loss and np.array_equal(kept_diff, diff)
    grad = loss_ops.mse_backward(diff, seed, mean)
    kept = loss_ops.mse_backward(kept_diff, seed, mean, buffers[2])
    assert kept is buffers[2] and np.array_equal(kept, grad)
