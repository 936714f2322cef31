"""The fused Linear + activation kernels (chainrule.ops.fused, chainrule.kernels.bias_activation)
give the unfused kernels' numbers bit for bit, on both paths, in C and F layouts, with
inf/NaN and signed zeros; and a captured step that calls them is the eager step's, bitwise."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule
from chainrule import nn, optim
from chainrule.kernels import bias_activation
from chainrule.ops import elementwise, fused, linalg

SHAPES = [(1, 1), (7, 3), (64, 32), (1, 64), (64, 1), (128, 256), (129, 27), (300, 5)]


def _values(shape, dtype, order, seed):
    rng = np.random.default_rng(seed)
    values = (rng.standard_normal(shape) * 10 ** rng.uniform(-3, 3, shape)).astype(dtype)
    values.flat[0] = np.inf
    values.flat[-1] = np.nan
    if values.size > 3:
        values.flat[1], values.flat[2] = -0.0, 0.0
    return np.asarray(values, order=order)


def _same(a, b):
    return np.array_equal(a, b, equal_nan=True) and np.array_equal(np.signbit(a), np.signbit(b))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf - inf on purpose
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("shape", SHAPES)
def test_bias_and_relu_in_one_pass_is_the_two_kernels(path, dtype, order, shape):
    """max(h + b, 0) as linear_forward's bias add then relu_forward give it; h + b hits
    -0.0, 0.0, inf and NaN (a bias of -0.0 on a zero product, a NaN bias)."""
    h = _values(shape, dtype, order, 1)
    b = _values(shape[1:], dtype, "C", 2)
    b[0] = -0.0
    want = elementwise.relu_forward(h + b)
    into = np.empty_like(h)
    if bias_activation.forward_fits(h, b, into):
        bias_activation.bias_relu_loop(h, b, into)
        assert _same(into, want)
    assert bias_activation.forward_fits(h, b, into) == (path == "numba")


@pytest.mark.parametrize("rows", [4, 32, 128, 200])  # short batches: F-ordered products
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_relu_forward_is_linear_then_relu(path, rows, dtype):
    rng = np.random.default_rng(rows)
    x = rng.standard_normal((rows, 30)).astype(dtype)
    weight = rng.standard_normal((64, 30)).astype(dtype)
    bias = rng.standard_normal(64).astype(dtype)
    want = elementwise.relu_forward(linalg.linear_forward(x, weight, bias))
    short = linalg.few_rows_first(x, weight.T)
    product = np.empty((64, rows), dtype).T if short else np.empty((rows, 64), dtype)
    into = np.empty_like(product)
    got = fused.linear_relu_forward(x, weight, bias, product, into, short)
    assert got is into and _same(got, want)


@pytest.mark.parametrize("rows", [4, 32, 128, 200])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_sigmoid_forward_is_linear_then_sigmoid(path, rows, dtype):
    """Large |x| both ways (no overflow), C- and F-ordered products; the product buffer
    ends as x Wᵀ + b, as the unfused Linear leaves it."""
    rng = np.random.default_rng(rows)
    x = (rng.standard_normal((rows, 30)) * 20).astype(dtype)
    weight = rng.standard_normal((64, 30)).astype(dtype)
    bias = rng.standard_normal(64).astype(dtype)
    product_want = linalg.linear_forward(x, weight, bias)
    want = elementwise.sigmoid_forward(product_want.copy())
    short = linalg.few_rows_first(x, weight.T)
    product = np.empty((64, rows), dtype).T if short else np.empty((rows, 64), dtype)
    into, e, d = np.empty_like(product), np.empty_like(product), np.empty_like(product)
    mask = np.empty_like(product, bool)
    got = fused.linear_sigmoid_forward(x, weight, bias, product, into, e, d, mask, short)
    assert got is into and _same(got, want) and _same(product, product_want)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("shape", SHAPES)
def test_sigmoid_forward_is_the_numpy_sequence(path, dtype, order, shape):
    """elementwise.sigmoid_forward (two compiled loops around NumPy's exp with numba)
    against the NumPy calls it makes without: inf, NaN, ±0 and large |x| included."""
    x = _values(shape, dtype, order, 6) * 50
    e, d = np.empty_like(x), np.empty_like(x)
    want = np.empty_like(x)
    np.negative(np.abs(x, e), e)
    np.exp(e, e)
    np.add(1, e, d)
    np.divide(e, d, want)
    np.copyto(want, np.divide(1, d, d), where=np.greater_equal(x, 0))
    got = elementwise.sigmoid_forward(x)
    assert _same(got, want) and got.flags.f_contiguous == want.flags.f_contiguous
    into = np.empty_like(x)
    scratch = (np.empty_like(x), np.empty_like(x), np.empty_like(x, bool))
    assert _same(elementwise.sigmoid_forward(x, into, *scratch), want)


BACKWARD = {
    "relu": (fused.relu_bias_backward, elementwise.relu_backward, 1),
    "tanh": (fused.tanh_bias_backward, elementwise.tanh_backward, 0),
    "sigmoid": (fused.sigmoid_bias_backward, elementwise.sigmoid_backward, 1),
}
FORWARD = {"relu": elementwise.relu_forward, "tanh": np.tanh,
           "sigmoid": elementwise.sigmoid_forward}  # fmt: skip


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf · 0 on purpose
@pytest.mark.parametrize("kind", sorted(BACKWARD))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("shape", SHAPES)
def test_backward_and_bias_sum_is_the_two_kernels(path, kind, dtype, order, shape):
    """R = <act>_backward(G, y) and db = Σ_rows R as linear_backward sums it (NumPy's
    order: pairwise down the columns of an F-ordered R, above 128 rows too)."""
    function, backward, scratch = BACKWARD[kind]
    grad = _values(shape, dtype, order, 3)
    out = np.asarray(FORWARD[kind](_values(shape, dtype, order, 4) * 3), dtype, order=order)
    want = backward(grad, out, np.empty_like(out))
    want_db = np.add.reduce(want, axis=0)
    into = np.empty_like(out)
    buffers = (np.empty_like(out, bool if kind == "relu" else dtype),) * scratch
    db = np.empty(shape[1:], dtype)
    got, got_db = function(grad, out, into, *buffers, db)
    assert got is into and got_db is db
    assert _same(got, want) and _same(got_db, want_db)
    assert bias_activation.backward_fits(grad, out, into, db) == (path == "numba")


def test_other_arrays_take_the_unfused_kernels(path):
    """A float16 or mixed-dtype call runs the two kernels (and is right)."""
    grad = np.ones((4, 3), np.float16)
    out = np.full((4, 3), 0.5, np.float16)
    into, db = np.empty_like(out), np.empty(3, np.float16)
    r, s = fused.tanh_bias_backward(grad, out, into, db)
    assert np.array_equal(r, grad * (1 - out * out)) and np.array_equal(s, r.sum(0))
    assert not bias_activation.backward_fits(grad, out, into, db)
    assert not bias_activation.backward_fits(grad.astype(np.float32), out, into, db)


ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


@pytest.mark.parametrize("kind", sorted(ACTIVATIONS))
def test_a_captured_step_through_the_fused_kernels_is_the_eager_step(path, kind):
    """Eager and captured SGD steps (batches of 150, 40 and 3 rows: C- and F-ordered
    layers, pairwise sums above 128 rows) agree bitwise, and the program calls ops.fused."""

    def model():
        chainrule.manual_seed(3)
        act = ACTIVATIONS[kind]
        return nn.Sequential(nn.Linear(20, 96), act(), nn.Linear(96, 48), act(),
                             nn.Linear(48, 5))  # fmt: skip

    eager, captured = model(), model()
    eager_opt = optim.SGD(eager.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    step = chainrule.compile_step(captured, loss_fn, optim.SGD(captured.parameters(), lr=0.1))
    rng = np.random.default_rng(5)
    for rows in (150, 40, 3, 150, 40, 3):
        xb = chainrule.tensor(rng.standard_normal((rows, 20)).astype(np.float32))
        yb = chainrule.tensor(rng.integers(0, 5, rows))
        eager_opt.zero_grad()
        loss = loss_fn(eager(xb), yb)
        loss.backward()
        eager_opt.step()
        assert step(xb, yb).item() == loss.item()
    for a, b in zip(eager.parameters(), captured.parameters(), strict=True):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    assert f"{kind}_bias_backward(" in step.code
    assert ("linear_relu_forward(" in step.code) == (kind == "relu")
    assert ("linear_sigmoid_forward(" in step.code) == (kind == "sigmoid")
