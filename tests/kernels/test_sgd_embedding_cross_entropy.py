"""Plain SGD's update, the embedding table's gradient and the cross-entropy loops: the
compiled loops give the NumPy expressions' numbers, bit for bit."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from chainrule.kernels import cross_entropy, embedding, sgd, sums


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(64, 32), (7,), (1, 1), (300, 200), (2, 3, 4)])
@pytest.mark.parametrize("lr", [0.01, 0.1, 1 / 3, 1e-7])
def test_sgd_plain_is_param_minus_lr_times_grad(path, dtype, shape, lr):
    rng = np.random.default_rng(0)
    param = rng.standard_normal(shape).astype(dtype)
    grad = (rng.standard_normal(shape) * 10 ** rng.uniform(-3, 3, shape)).astype(dtype)
    got, want = param.copy(), param.copy()
    sgd.sgd_plain(got, grad, lr)
    want -= lr * grad
    assert np.array_equal(got, want)
    scratch = np.empty_like(param)
    other = param.copy()
    sgd.sgd_plain(other, grad, lr, scratch)
    assert np.array_equal(other, want)
    assert sgd.sgd_fits(param, grad) == (path == "numba")


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


@pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="numba not installed")
@pytest.mark.parametrize("mean", [True, False])
@pytest.mark.parametrize(("n", "classes"), [(64, 10), (64, 27), (32, 2), (1, 5), (300, 130)])
def test_cross_entropy_loops_are_the_numpy_sequence(n, classes, mean):
    """shift → NumPy exp, add.reduce, log → finish equals the eager op's NumPy steps."""
    sums.prepare()
    rng = np.random.default_rng(0)
    logits = (rng.standard_normal((n, classes)) * 4).astype(np.float32)
    target = rng.integers(0, classes, n)
    scale = (np.ones((), np.float32) / float(n) if mean else np.ones((), np.float32))[()]
    # NumPy, as chainrule.ops.loss.CrossEntropyIndex computes it
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    sum_exp = exp.sum(axis=1, keepdims=True)
    losses = np.log(sum_exp[:, 0]) - shifted[np.arange(n), target]
    want_loss = losses.sum() / float(n) if mean else losses.sum()
    exp /= sum_exp
    want_grad = exp * scale
    want_grad[np.arange(n), target] -= scale
    # the loops
    got_shifted = np.empty_like(logits)
    cross_entropy.shift_loop(logits, got_shifted)
    assert np.array_equal(got_shifted, shifted)
    got_exp = np.exp(got_shifted)
    got_sum = np.add.reduce(got_exp, axis=1, keepdims=True)
    d_logits, total = np.empty_like(logits), np.empty(1, np.float32)
    cross_entropy.finish_loop(got_shifted, got_exp, got_sum, np.log(got_sum[:, 0]), target,
                              scale, mean, np.empty(n, np.float32), d_logits, total)  # fmt: skip
    assert total[0] == want_loss
    assert np.array_equal(d_logits, want_grad)
    assert np.array_equal(got_exp, exp)


@pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="numba not installed")
def test_cross_entropy_shift_lets_nan_through():
    logits = np.array([[1.0, np.nan, 3.0], [np.nan, 0.0, 1.0], [2.0, 1.0, 0.0]], np.float32)
    got = np.empty_like(logits)
    cross_entropy.shift_loop(logits, got)
    assert np.array_equal(got, logits - np.maximum.reduce(logits, axis=1, keepdims=True),
                          equal_nan=True)  # fmt: skip
