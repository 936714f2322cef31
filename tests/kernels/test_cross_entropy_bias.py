"""The cross-entropy's last loop with flag 8: the bias gradient of the Linear below it,
db = Σ_rows dz, summed as `kernels.bias.column_sum` (linear_backward's own) sums dz, bit
for bit; and `ops.loss.cross_entropy_into` gives `cross_entropy_forward_backward`'s
numbers and ``losses.sum() / N``."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from chainrule.kernels import bias
from chainrule.ops import loss as loss_ops

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("numba") is None, reason="numba (the fast extra) is not installed"
)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("n", "classes"), [(64, 27), (1, 2), (7, 3), (300, 10), (129, 2)])
@pytest.mark.parametrize("mean", [True, False])
def test_cross_entropy_into_sums_the_bias_as_column_sum(dtype, n, classes, mean):
    rng = np.random.default_rng(n * classes)
    logits = (rng.standard_normal((n, classes)) * 4).astype(dtype)
    target = rng.integers(0, classes, n)
    scale = np.ones((), dtype) / float(n) if mean else np.ones((), dtype)
    want = loss_ops.cross_entropy_forward_backward(
        logits, target, np.arange(n), np.empty((n, 1), dtype), np.empty_like(logits),
        np.empty_like(logits), scale, np.empty_like(logits))  # fmt: skip
    total = np.full((), np.nan, dtype)
    losses, out, db = np.empty(n, dtype), np.empty_like(logits), np.full(classes, np.nan, dtype)
    exp = np.empty_like(logits)
    loss_ops.cross_entropy_into(logits, target, np.empty((n, 1), dtype), np.empty_like(logits),
                                exp, losses, scale[()], out, total, dtype(n),
                                (7 if mean else 3) | 8, db)  # fmt: skip
    assert np.array_equal(losses, want[0]) and np.array_equal(exp, want[1])
    assert np.array_equal(out, want[2])
    reduced = want[0].sum() / float(n) if mean else want[0].sum()
    assert total.dtype == dtype and np.array_equal(total, np.asarray(reduced, dtype))
    assert np.array_equal(db, bias.column_sum(want[2], np.empty(classes, dtype)))
    assert np.array_equal(db, np.add.reduce(want[2], axis=0))
