"""ops.linalg's linear kernels make new contiguous 2-D products with ``ndarray.dot`` (cheaper
to call than np.matmul): the numbers and the layout must be np.matmul's, bit for bit, for
every layout the engine meets (C, F, strided views that stay with np.matmul), short and
long batches, vectors (a dimension of 1), empty batches, float32 and float64, and on both
kernel paths (the `path` fixture: numba's bias loop and column sum, or NumPy's)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from chainrule.ops.linalg import linear_backward, linear_forward

SHAPES = list(itertools.product([0, 1, 2, 3, 8, 32, 64], [1, 2, 8, 17, 100], [1, 2, 8, 16, 33]))


def _layouts(a: np.ndarray) -> list[np.ndarray]:
    """a as C-ordered, F-ordered and a strided view (every other column of a wider array)."""
    wide = np.zeros((a.shape[0], 2 * a.shape[1]), a.dtype)
    wide[:, ::2] = a
    return [a, np.asfortranarray(a), wide[:, ::2]]


def _forward_reference(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """What linear_forward computed before the dot path: np.matmul, then NumPy's add."""
    short = 2 * x.shape[0] <= w.shape[0]
    y = np.matmul(w, x.T).T if short else np.matmul(x, w.T)
    return y if b is None else np.add(y, b, y)


def _same(got: np.ndarray | None, want: np.ndarray | None) -> None:
    assert got is not None and want is not None
    assert got.shape == want.shape and got.dtype == want.dtype
    assert got.tobytes() == want.tobytes(), np.abs(got - want).max()
    assert got.flags.c_contiguous == want.flags.c_contiguous  # the layout flows on


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_is_matmul_bitwise(path: str, dtype: type) -> None:
    rng = np.random.default_rng(5)
    for rows, inputs, outputs in SHAPES:
        x = rng.standard_normal((rows, inputs)).astype(dtype)
        w = rng.standard_normal((outputs, inputs)).astype(dtype)
        b = rng.standard_normal(outputs).astype(dtype)
        for xs, ws in itertools.product(_layouts(x), _layouts(w)):
            for bias in (b, None):
                _same(linear_forward(xs, ws, bias), _forward_reference(xs, ws, bias))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_backward_is_matmul_bitwise(path: str, dtype: type) -> None:
    rng = np.random.default_rng(6)
    for rows, inputs, outputs in SHAPES:
        g = rng.standard_normal((rows, outputs)).astype(dtype)
        x = rng.standard_normal((rows, inputs)).astype(dtype)
        w = rng.standard_normal((outputs, inputs)).astype(dtype)
        for gs, xs, ws in itertools.product(_layouts(g), _layouts(x), _layouts(w)):
            short = 2 * rows <= inputs
            want_x = np.matmul(ws.T, gs.T).T if short else np.matmul(gs, ws)
            want_w = np.matmul(gs.T, xs)
            want_b = np.add.reduce(gs, axis=0)
            got = linear_backward(gs, xs, ws, (True, True, True))
            _same(got[0], want_x)
            _same(got[1], want_w)
            assert got[2] is not None and got[2].tobytes() == want_b.tobytes()
            only_w = linear_backward(gs, xs, ws, (False, True))
            assert only_w[0] is None
            _same(only_w[1], want_w)


def test_buffers_and_batches_keep_matmul(path: str) -> None:
    """Given buffers (compile_step's) and inputs that are not 2-D take np.matmul as before."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 8)).astype(np.float32)
    w = rng.standard_normal((16, 8)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    out = np.empty((16, 4), np.float32).T  # the short batch's layout
    got = linear_forward(x, w, b, out, True)
    assert got.base is out.base or got is out
    _same(got, _forward_reference(x, w, b))
    x3 = rng.standard_normal((2, 3, 8)).astype(np.float32)
    _same(linear_forward(x3, w, b), np.matmul(x3, w.T) + b)
    g3 = rng.standard_normal((2, 3, 16)).astype(np.float32)
    dx, dw, db = linear_backward(g3, x3, w, (True, True, True))
    _same(dx, np.matmul(g3, w))
    _same(dw, np.matmul(g3.reshape(-1, 16).T, x3.reshape(-1, 8)))
    assert db is not None and db.tobytes() == np.add.reduce(g3.reshape(-1, 16), axis=0).tobytes()
