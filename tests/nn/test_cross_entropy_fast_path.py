"""F.cross_entropy's usual case (2-D logits, int64 classes, 'mean' or 'sum', no weights)
takes one compiled pass (ops.loss.cross_entropy_reduced): the reduced loss summed in the
loop, and the gradient for an upstream 1 written ahead in the same pass. Against the NumPy
steps the op takes without numba (the unoptimized path), bit for bit: the loss, the
logits' gradient and what flows on, for every upstream gradient and backward pattern."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule
from chainrule import kernels, nn
from chainrule.nn import functional as F
from chainrule.ops import loss as loss_ops
from tests.support.numba_paths import needs_numba, numba_path

SHAPES = [(1, 1), (1, 5), (2, 2), (7, 3), (8, 2), (9, 2), (32, 2), (64, 10), (127, 4),
          (128, 3), (129, 3), (300, 7), (1030, 2)]  # fmt: skip


def _data(n: int, classes: int, dtype: Any, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((n, classes)) * 10 ** rng.uniform(-2, 1.5)).astype(dtype)
    return logits, rng.integers(0, classes, n)


def _loss_and_grad(
    logits: np.ndarray, target: np.ndarray, reduction: str, after: Callable[[Any], Any]
) -> tuple[np.ndarray, np.ndarray]:
    z = chainrule.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(z, chainrule.tensor(target), reduction=reduction)
    after(loss).backward()
    assert z.grad is not None
    return loss.detach().numpy().copy(), z.grad.detach().numpy().copy()


AFTERS: list[Callable[[Any], Any]] = [
    lambda loss: loss,  # the seed 1: the gradient written ahead
    lambda loss: loss * 3.0,  # another upstream gradient: backward's own kernel
    lambda loss: loss + loss,  # 2 arriving as the sum of two ones
    lambda loss: loss * 0.0,
]


@needs_numba
@pytest.mark.parametrize(("n", "classes"), SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("after", range(len(AFTERS)))
def test_one_pass_is_the_numpy_steps(n, classes, dtype, reduction, after):
    logits, target = _data(n, classes, dtype, seed=n * classes)
    with numba_path(True):
        fast = _loss_and_grad(logits, target, reduction, AFTERS[after])
    with numba_path(False):
        slow = _loss_and_grad(logits, target, reduction, AFTERS[after])
    for a, b in zip(fast, slow, strict=True):
        assert a.dtype == np.dtype(dtype) and a.shape == b.shape
        assert np.array_equal(a, b)


@pytest.mark.parametrize("n", [*range(1, 300), 1000, 4099])
def test_loop_total_is_numpy_sum_then_division(n):
    """The loop's Σ losses (NumPy's pairwise order) and Σ / N (rounded in the dtype) are
    ``losses.sum()`` and ``losses.sum() / float(N)``, for every length up to 300."""
    if not kernels.numba_enabled():
        pytest.skip("numba (the fast extra) is not installed")
    for dtype in (np.float32, np.float64):
        logits, target = _data(n, 3, dtype, seed=n)
        for reduction in ("mean", "sum"):
            total, softmax, ahead = loss_ops.cross_entropy_reduced(logits, target, reduction, True)
            rows = np.arange(n)
            losses, want_softmax = loss_ops.cross_entropy_forward(logits, target, rows)
            want = losses.sum() / float(n) if reduction == "mean" else losses.sum()
            assert total.shape == () and total.dtype == np.dtype(dtype)
            assert total == want, (n, dtype, reduction)
            assert np.array_equal(softmax, want_softmax)
            one = np.array(1, dtype)
            scale = one / float(n) if reduction == "mean" else one
            want_grad = loss_ops.cross_entropy_backward(want_softmax, rows, target, scale)
            assert ahead is not None and np.array_equal(ahead, want_grad)


@pytest.mark.parametrize("compiled", [True, False], ids=["numba", "numpy"])
def test_retained_graph_and_leaf_gradients_accumulate_as_before(compiled):
    """The gradient written ahead is handed out once: a second backward through a retained
    graph makes its own array, so the first, stored in a leaf's .grad and accumulated
    into, is never the node's."""
    logits, target = _data(16, 4, np.float32)
    with numba_path(compiled):
        z = chainrule.tensor(logits, requires_grad=True)
        loss = F.cross_entropy(z, chainrule.tensor(target))
        loss.backward(retain_graph=True)
        first = z.grad.detach().numpy().copy()
        loss.backward(retain_graph=True)
        loss.backward()
        assert z.grad is not None
        assert np.array_equal(z.grad.detach().numpy(), first + first + first)
    with numba_path(False):
        w = chainrule.tensor(logits, requires_grad=True)
        F.cross_entropy(w, chainrule.tensor(target)).backward()
        assert np.array_equal(w.grad.detach().numpy(), first)


@pytest.mark.parametrize("compiled", [True, False], ids=["numba", "numpy"])
def test_no_grad_and_frozen_logits_write_nothing_ahead(compiled):
    logits, target = _data(8, 3, np.float32)
    with numba_path(compiled):
        with chainrule.no_grad():
            z = chainrule.tensor(logits, requires_grad=True)
            out = F.cross_entropy(z, chainrule.tensor(target))
        assert not out.requires_grad
        frozen = F.cross_entropy(chainrule.tensor(logits), chainrule.tensor(target))
        assert not frozen.requires_grad
        assert out.item() == frozen.item()


@pytest.mark.parametrize("compiled", [True, False], ids=["numba", "numpy"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_model_step_matches_torch(compiled, reduction):
    """A small MLP's loss and gradients against torch 2.13 (float64: to rounding)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 2))
    y = rng.integers(0, 2, 8)
    chainrule.manual_seed(0)
    ours = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2)).double()
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    theirs = theirs.double()
    with torch.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
            q.copy_(torch.from_numpy(p.detach().numpy().copy()))
    with numba_path(compiled):
        loss = F.cross_entropy(ours(chainrule.tensor(x)), chainrule.tensor(y), reduction=reduction)
        loss.backward()
    want = torch.nn.functional.cross_entropy(
        theirs(torch.from_numpy(x)), torch.from_numpy(y), reduction=reduction
    )
    want.backward()
    np.testing.assert_allclose(loss.item(), want.item(), rtol=1e-12)
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert p.grad is not None and q.grad is not None
        np.testing.assert_allclose(p.grad.detach().numpy(), q.grad.numpy(), rtol=1e-10, atol=1e-12)
