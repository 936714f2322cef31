"""NumPy's summation order, replicated: `pairwise_sum` and `column_sums` must give
``np.add.reduce``'s numbers bit for bit (the kernels built on them promise that)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from chainrule.kernels import sums

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("numba") is None, reason="numba (the fast extra) is not installed"
)


def _spread(rng: np.random.Generator, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """Values over six orders of magnitude, so that any other order of the additions rounds
    differently."""
    return (rng.standard_normal(shape) * 10 ** rng.uniform(-3, 3, shape)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pairwise_sum_is_numpys_for_every_length(dtype):
    sums.prepare()
    rng = np.random.default_rng(0)
    for n in [*range(1, 300), 1000, 1025, 4097, 10_000, 70_000]:
        values = _spread(rng, (n,), dtype)
        assert sums.pairwise_sum(values, 0, n) == np.add.reduce(values), n


def test_the_plain_order_would_differ():
    """The check above can fail: a sum in plain order misses NumPy's often."""
    rng = np.random.default_rng(0)
    misses = 0
    for n in range(9, 300):
        values = _spread(rng, (n,), np.float32)
        plain = np.float32(0)
        for v in values:
            plain = np.float32(plain + v)
        misses += plain != np.add.reduce(values)
    assert misses > 50


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("shape", [(64, 32), (64, 200), (1, 7), (7, 1), (129, 27), (1000, 3)])
def test_column_sums_follow_the_layout(order, shape):
    """C-ordered: row after row; F-ordered (or one column): pairwise down each column."""
    sums.prepare()
    values = np.asarray(_spread(np.random.default_rng(1), shape, np.float32), order=order)
    got = np.empty(shape[1], np.float32)
    sums.column_sums(values, got)
    assert np.array_equal(got, np.add.reduce(values, axis=0))
    rows = np.empty(shape[1], np.float32)
    sums.row_sums(np.ascontiguousarray(values.T), rows)
    if order == "F":  # the transpose's rows are the F array's columns
        assert np.array_equal(rows, np.add.reduce(values, axis=0))
