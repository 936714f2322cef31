"""Tier 3: properties that must hold for every input hypothesis can find: numerical
stability of softmax and the fused losses at extreme logits, broadcasting gradients, and
shape round trips."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays, mutually_broadcastable_shapes

import chainrule as cr
from chainrule import ops

SETTINGS = settings(max_examples=60, deadline=None)
DTYPES = st.sampled_from([np.float32, np.float64])


@st.composite
def logits(draw: Any, min_dims: int = 2) -> np.ndarray:
    """(rows, classes) logits of either float dtype anywhere in [-1e4, 1e4]."""
    dtype = draw(DTYPES)
    shape = draw(array_shapes(min_dims=min_dims, max_dims=2, min_side=1, max_side=6))
    width = 32 if dtype == np.float32 else 64
    elements = st.floats(-1e4, 1e4, width=width, allow_nan=False, allow_infinity=False)
    return draw(arrays(dtype, shape, elements=elements))


def finite(t: cr.Tensor | None) -> bool:
    return t is not None and bool(np.isfinite(t.detach().numpy()).all())


# ------------------------------------------------------------------ stability
@SETTINGS
@given(logits())
def test_softmax_is_finite_and_rows_sum_to_one(z: np.ndarray) -> None:
    x = cr.tensor(z, requires_grad=True)
    s = x.softmax(1)
    assert s.dtype == z.dtype and finite(s)
    np.testing.assert_allclose(s.detach().numpy().sum(axis=1), 1.0, rtol=1e-5)
    (s * cr.tensor(np.linspace(-1, 1, z.size).reshape(z.shape), dtype=z.dtype)).sum().backward()
    assert finite(x.grad)


@SETTINGS
@given(logits())
def test_log_softmax_is_finite_and_exponentiates_to_one(z: np.ndarray) -> None:
    x = cr.tensor(z, requires_grad=True)
    out = x.log_softmax(-1)
    assert out.dtype == z.dtype and finite(out)
    assert (out.detach().numpy() <= 0).all()
    np.testing.assert_allclose(np.exp(out.detach().numpy()).sum(axis=1), 1.0, rtol=1e-5)
    out.sum().backward()
    assert finite(x.grad)


@SETTINGS
@given(logits(), st.data(), st.sampled_from(["none", "mean", "sum"]), st.booleans())
def test_cross_entropy_is_finite(z: np.ndarray, data: Any, reduction: str, weighted: bool) -> None:
    rows, classes = z.shape
    classes_st = st.integers(0, classes - 1)
    target = np.array(data.draw(st.lists(classes_st, min_size=rows, max_size=rows)))
    row_weight = np.linspace(0.5, 2.0, rows) if weighted else None
    x = cr.tensor(z, requires_grad=True)
    loss = ops.CrossEntropyIndex.apply(x, target=target, row_weight=row_weight, reduction=reduction)
    assert loss.dtype == z.dtype and finite(loss) and (loss.detach().numpy() >= 0).all()
    loss.sum().backward()
    assert finite(x.grad)


@SETTINGS
@given(logits(min_dims=1), st.data(), st.sampled_from(["none", "mean", "sum"]), st.booleans())
def test_bce_with_logits_is_finite(z: np.ndarray, data: Any, reduction: str, pos: bool) -> None:
    target = data.draw(arrays(np.float64, z.shape, elements=st.sampled_from([0.0, 0.25, 1.0])))
    pos_weight = np.full(z.shape[-1:], 3.0) if pos else None
    x = cr.tensor(z, requires_grad=True)
    loss = ops.BinaryCrossEntropyWithLogits.apply(
        x, target=target, weight=None, pos_weight=pos_weight, reduction=reduction
    )
    assert loss.dtype == z.dtype and finite(loss) and (loss.detach().numpy() >= 0).all()
    loss.sum().backward()
    assert finite(x.grad)


# ------------------------------------------------------------------ broadcasting
def sum_to_shape(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Reference reduction: align `shape` right, sum every axis where it was stretched."""
    padded = (1,) * (grad.ndim - len(shape)) + shape
    stretched = tuple(i for i, (n, m) in enumerate(zip(padded, grad.shape, strict=True)) if n != m)
    return grad.sum(axis=stretched, keepdims=True).reshape(shape)


@SETTINGS
@given(mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4), st.integers(0, 99))
def test_broadcast_gradients_have_input_shapes(shapes: Any, seed: int) -> None:
    shape_a, shape_b = shapes.input_shapes
    rng = np.random.default_rng(seed)
    a_np, b_np = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    upstream = rng.standard_normal(shapes.result_shape)
    for op in ("add", "mul"):
        a = cr.tensor(a_np, requires_grad=True)
        b = cr.tensor(b_np, requires_grad=True)
        out = a + b if op == "add" else a * b
        assert out.shape == shapes.result_shape
        out.backward(cr.tensor(upstream))
        assert a.grad is not None and b.grad is not None
        assert a.grad.shape == shape_a and b.grad.shape == shape_b
        local_a = np.ones_like(upstream) if op == "add" else np.broadcast_to(b_np, upstream.shape)
        local_b = np.ones_like(upstream) if op == "add" else np.broadcast_to(a_np, upstream.shape)
        np.testing.assert_allclose(a.grad.numpy(), sum_to_shape(upstream * local_a, shape_a))
        np.testing.assert_allclose(b.grad.numpy(), sum_to_shape(upstream * local_b, shape_b))


# ------------------------------------------------------------------ shape round trips
SHAPES = array_shapes(min_dims=0, max_dims=4, max_side=4)


@SETTINGS
@given(SHAPES.flatmap(lambda s: st.tuples(st.just(s), st.permutations(range(len(s))))))
def test_permute_round_trip(shape_and_order: Any) -> None:
    shape, order = shape_and_order
    values = np.random.default_rng(0).standard_normal(shape)
    x = cr.tensor(values, requires_grad=True)
    y = x.permute(*order)
    assert y.shape == tuple(shape[i] for i in order)
    back = y.permute(*np.argsort(order).tolist())
    np.testing.assert_array_equal(back.detach().numpy(), values)
    upstream = np.random.default_rng(1).standard_normal(y.shape)
    y.backward(cr.tensor(upstream))
    assert x.grad is not None
    np.testing.assert_array_equal(x.grad.numpy(), upstream.transpose(np.argsort(order)))


@SETTINGS
@given(SHAPES.flatmap(lambda s: st.tuples(st.just(s), st.permutations(s))))
def test_reshape_round_trip(shape_and_target: Any) -> None:
    shape, target = shape_and_target
    values = np.random.default_rng(0).standard_normal(shape)
    x = cr.tensor(values, requires_grad=True)
    y = x.reshape(tuple(target))
    assert y.shape == tuple(target)
    np.testing.assert_array_equal(y.reshape(-1).reshape(shape).detach().numpy(), values)
    np.testing.assert_array_equal(x.flatten().view(shape).detach().numpy(), values)
    upstream = np.random.default_rng(1).standard_normal(y.shape)
    y.backward(cr.tensor(upstream))
    assert x.grad is not None
    np.testing.assert_array_equal(x.grad.numpy(), upstream.reshape(shape))
