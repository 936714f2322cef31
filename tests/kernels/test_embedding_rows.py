"""The names model's lookup and table-gradient loops (`kernels.embedding.gather_rows_loop`,
`scatter_rows_loop`) that a captured program calls straight: np.take's rows and
np.add.at's sums, bit for bit (repeated rows add up in the order of the flat index)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from chainrule.kernels import embedding

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("numba") is None, reason="numba (the fast extra) is not installed"
)

# (vocabulary, width, rows, context): the names model's, and odd ones
SHAPES = [(27, 10, 64, 3), (3, 1, 50, 4), (100, 7, 1, 1), (2, 5, 9, 8)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("vocab", "width", "rows", "context"), SHAPES)
def test_gather_rows_is_take(dtype, vocab, width, rows, context):
    rng = np.random.default_rng(7)
    table = rng.standard_normal((vocab, width)).astype(dtype)
    index = rng.integers(0, vocab, (rows, context))
    out = np.full((rows, context, width), np.nan, dtype)
    assert embedding.gather_rows_loop(table, index, out)
    assert np.array_equal(out, np.take(table, index, axis=0))
    strided = np.asfortranarray(index)  # any layout of the index: numba's 'A' arrays
    out[:] = np.nan
    assert embedding.gather_rows_loop(table, strided, out)
    assert np.array_equal(out, np.take(table, index, axis=0))


@pytest.mark.parametrize("bad", [-1, 27, 2**62, -(2**63)])
def test_gather_rows_refuses_an_index_out_of_range_and_writes_nothing(bad):
    table, index = np.ones((27, 3), np.float32), np.zeros((4, 3), np.int64)
    index[3, 2] = bad
    out = np.full((4, 3, 3), 5.0, np.float32)
    assert not embedding.gather_rows_loop(table, index, out)
    assert (out == 5.0).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("vocab", "width", "rows", "context"), SHAPES)
def test_scatter_rows_is_add_at_on_the_flat_index(dtype, vocab, width, rows, context):
    rng = np.random.default_rng(8)
    index = rng.integers(0, vocab, (rows, context))  # few rows: most are picked many times
    grad = (rng.standard_normal((rows, context * width)) * 10.0 ** rng.integers(-4, 4, (rows, 1))
            ).astype(dtype)  # fmt: skip
    want = np.zeros((vocab, width), dtype)
    np.add.at(want, index.reshape(-1), grad.reshape(-1, width))
    got = np.full((vocab, width), np.nan, dtype)
    embedding.scatter_rows_loop(got, index, grad)
    assert np.array_equal(got, want)
    # the kernel the op calls (and the program's fallback) gives the same
    again = np.full((vocab, width), np.nan, dtype)
    embedding.embedding_grad(again, index.reshape(-1), grad.reshape(-1, width), None)
    assert np.array_equal(again, want)
