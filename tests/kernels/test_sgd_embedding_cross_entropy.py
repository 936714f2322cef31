"""Plain SGD's update, the embedding table's gradient and the cross-entropy loops: the
compiled loops give the NumPy expressions' numbers, bit for bit."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from chainrule.kernels import cross_entropy, embedding, fma, sgd
from chainrule.kernels.axpy import AXPY_MIN
from chainrule.ops import loss as loss_ops
from tests.support.exact_fma import exact_fma


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(64, 32), (7,), (1, 1), (2, 3, 4)])
@pytest.mark.parametrize("lr", [0.01, 0.1, 1 / 3, 1e-7])
def test_sgd_plain_is_param_minus_lr_times_grad_rounded_once(path, dtype, shape, lr):
    rng = np.random.default_rng(0)
    param = rng.standard_normal(shape).astype(dtype)
    grad = (rng.standard_normal(shape) * 10 ** rng.uniform(-3, 3, shape)).astype(dtype)
    want = exact_fma(grad, -dtype(lr), param)  # torch's param.add_(grad, alpha=-lr)
    got = param.copy()
    sgd.sgd_plain(got, grad, lr)
    assert np.array_equal(got, want)
    scratch = np.empty_like(param)
    other = param.copy()
    sgd.sgd_plain(other, grad, lr, scratch)
    assert np.array_equal(other, want)
    assert sgd.sgd_fits(param, grad) == (path == "numba")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [AXPY_MIN - 1, AXPY_MIN, 235_146])
def test_sgd_plain_long_arrays_round_once(path, dtype, size):
    """Either side of AXPY_MIN (BLAS's axpy from there on, where it is verified): the
    emulated fma's numbers, itself tested against exact fractions (tests/kernels/test_fma)."""
    rng = np.random.default_rng(size)
    param = rng.standard_normal(size).astype(dtype)
    grad = rng.standard_normal(size).astype(dtype)
    want = fma.fma_emulated(grad, -dtype(0.1), param, np.empty_like(param))
    twice = param - dtype(0.1) * grad
    assert not np.array_equal(want, twice)  # the probe can tell one rounding from two
    got = param.copy()
    sgd.sgd_plain(got, grad, 0.1)
    assert np.array_equal(got, want)


def test_sgd_updates_strided_arrays(path):
    rng = np.random.default_rng(3)
    base = rng.standard_normal((8, 6)).astype(np.float32)
    param, grad = base[:, ::2], rng.standard_normal((8, 3)).astype(np.float32)
    want = exact_fma(grad, np.float32(-0.1), param)
    assert not sgd.sgd_fits(param, grad)  # NumPy's, which writes through the view
    sgd.sgd_plain(param, grad, 0.1)
    assert np.array_equal(base[:, ::2], want)
    contiguous = base.copy()
    strided_grad = rng.standard_normal((6, 8)).astype(np.float32).T  # F-ordered: read in C order
    want = exact_fma(strided_grad, np.float32(-0.1), contiguous)
    sgd.sgd_plain(contiguous, strided_grad, 0.1)
    assert np.array_equal(contiguous, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("rows", "width", "count"), [(27, 10, 192), (5, 2, 4), (1000, 64, 10_000)])
@pytest.mark.parametrize("padding", [None, 3])
def test_embedding_grad_is_add_at(path, dtype, rows, width, count, padding):
    rng = np.random.default_rng(0)
    index = rng.integers(0, rows, count)
    grad_rows = rng.standard_normal((count, width)) * 10 ** rng.uniform(-3, 3, (count, 1))
    grad_rows = grad_rows.astype(dtype)
    got = np.full((rows, width), np.nan, dtype)  # whatever it held is overwritten
    embedding.embedding_grad(got, index, grad_rows, padding)
    want = np.zeros((rows, width), dtype)
    np.add.at(want, index, grad_rows)
    if padding is not None:
        want[padding] = 0
    assert np.array_equal(got, want)


@pytest.mark.parametrize(("n", "classes"), [(64, 10), (64, 27), (32, 2), (1, 5), (300, 130)])
@pytest.mark.parametrize("order", ["C", "F"])
def test_cross_entropy_kernels_are_the_numpy_sequence(path, n, classes, order):
    """ops.loss's kernels (compiled loops around NumPy's exp and log when numba is on)
    against the NumPy steps the eager op took before them."""
    rng = np.random.default_rng(0)
    logits = np.asarray((rng.standard_normal((n, classes)) * 4).astype(np.float32), order=order)
    target, rows = rng.integers(0, classes, n), np.arange(n)
    scale = np.ones((), np.float32) / float(n)
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    sum_exp = exp.sum(axis=1, keepdims=True)
    want_losses = np.log(sum_exp[:, 0]) - shifted[rows, target]
    exp /= sum_exp
    want_grad = exp * scale
    want_grad[rows, target] -= scale
    losses, softmax = loss_ops.cross_entropy_forward(logits, target, rows)
    assert np.array_equal(losses, want_losses) and np.array_equal(softmax, exp)
    assert np.array_equal(loss_ops.cross_entropy_backward(softmax, rows, target, scale), want_grad)
    assert cross_entropy.fits(logits, target) == (path == "numba")


@pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="numba not installed")
def test_cross_entropy_shift_lets_nan_through():
    logits = np.array([[1.0, np.nan, 3.0], [np.nan, 0.0, 1.0], [2.0, 1.0, 0.0]], np.float32)
    got = np.empty_like(logits)
    cross_entropy.shift_loop(logits, np.empty((3, 1), np.float32), got)
    assert np.array_equal(got, logits - np.maximum.reduce(logits, axis=1, keepdims=True),
                          equal_nan=True)  # fmt: skip


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("rows", "width", "shape"), [(27, 10, (64, 3)), (5, 2, (4,)), (9, 1, (2, 3, 2))]
)
def test_embedding_lookup_is_take(path, dtype, rows, width, shape):
    from chainrule.ops.movement import embedding_forward

    rng = np.random.default_rng(1)
    table = rng.standard_normal((rows, width)).astype(dtype)
    index = rng.integers(0, rows, shape)
    want = np.take(table, index, axis=0)
    assert np.array_equal(embedding_forward(table, index), want)
    out = np.full(want.shape, np.nan, dtype)
    assert embedding_forward(table, index, out) is out and np.array_equal(out, want)
    assert embedding.embedding_gather(table, index, out) == (path == "numba")


@pytest.mark.parametrize("bad", [-1, 27, 2**62, -(2**63)])
def test_embedding_lookup_out_of_range_raises_as_take(path, bad):
    from chainrule.ops.movement import embedding_forward, embedding_lookup

    table, index = np.ones((27, 3), np.float32), np.zeros((4, 3), np.int64)
    index[2, 1] = bad
    assert not embedding.embedding_gather(table, index, np.empty((4, 3, 3), np.float32))
    if bad >= 0:  # np.take's own error, as before the loop
        with pytest.raises(IndexError):
            embedding_forward(table, index)
    assert not embedding_lookup(table, index, np.empty((4, 3, 3), np.float32))
    index[2, 1] = 26
    out = np.empty((4, 3, 3), np.float32)
    assert embedding_lookup(table, index, out) and np.array_equal(out, np.take(table, index, 0))


@pytest.mark.parametrize(
    "values",
    [np.arange(10), np.array([0, 9, -1]), np.array([10]), np.zeros(0, np.int64),
     np.array([[3, 4], [9, 0]]), np.arange(40).reshape(4, 10)[:, ::3], np.array([-(2**63)]),
     np.array([2**63 - 1])],
)  # fmt: skip
@pytest.mark.parametrize("bound", [1, 10, 41])
def test_indices_below_is_the_unsigned_max(path, values, bound):
    values = values.astype(np.int64)
    want = bool(((values >= 0) & (values < bound)).all())
    assert embedding.indices_below(values, bound) == want


@pytest.mark.parametrize(("n", "classes"), [(64, 10), (32, 2), (1, 5), (300, 130)])
@pytest.mark.parametrize("order", ["C", "F"])
def test_cross_entropy_forward_backward_is_the_two_kernels(path, n, classes, order):
    """ops.loss.cross_entropy_forward_backward (a captured step's one call) gives what
    cross_entropy_forward, then cross_entropy_backward give, bit for bit, into buffers."""
    rng = np.random.default_rng(1)
    logits = np.asarray((rng.standard_normal((n, classes)) * 4).astype(np.float32), order=order)
    target, rows = rng.integers(0, classes, n), np.arange(n)
    scale = np.ones((), np.float32) / float(n)
    want_losses, want_softmax = loss_ops.cross_entropy_forward(logits, target, rows)
    want_grad = loss_ops.cross_entropy_backward(want_softmax.copy(), rows, target, scale)
    buffers = [np.empty((n, 1), np.float32), np.empty_like(logits), np.empty_like(logits)]
    out = np.empty_like(logits)
    losses, softmax, grad = loss_ops.cross_entropy_forward_backward(
        logits, target, rows, *buffers, scale, out
    )
    assert grad is out and softmax is buffers[2]
    assert np.array_equal(losses, want_losses) and np.array_equal(softmax, want_softmax)
    assert np.array_equal(grad, want_grad)
