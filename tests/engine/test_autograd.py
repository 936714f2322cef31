"""The engine's rules: the four gates, accumulation, graph freeing, grad mode, in-place
updates, error messages, dtype promotion, conversions, creation helpers, randomness, and
gradcheck catching a wrong backward."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr


def scalar(value: float, requires_grad: bool = True) -> cr.Tensor:
    return cr.tensor(value, dtype=cr.float64, requires_grad=requires_grad)


def grad_of(t: cr.Tensor) -> np.ndarray:
    assert t.grad is not None
    return t.grad.numpy()


# ------------------------------------------------------------------ the four gates
def test_add_gate_distributes() -> None:
    x, y = scalar(3.0), scalar(-4.0)
    ((x + y) * 2).backward()  # upstream gradient 2 reaches both inputs unchanged
    assert x.grad is not None and y.grad is not None
    assert x.grad.item() == 2.0 and y.grad.item() == 2.0


def test_mul_gate_swaps() -> None:
    x, y = scalar(3.0), scalar(-4.0)
    (x * y * 2).backward()  # each input gets upstream times the other input
    assert x.grad is not None and y.grad is not None
    assert x.grad.item() == -8.0 and y.grad.item() == 6.0


def test_max_gate_routes() -> None:
    x, y = scalar(3.0), scalar(-4.0)
    (x.maximum(y) * 2).backward()  # all of the upstream gradient goes to the larger input
    assert x.grad is not None and y.grad is not None
    assert x.grad.item() == 2.0 and y.grad.item() == 0.0
    v = cr.tensor([1.0, 5.0, 2.0], requires_grad=True)
    (v.amax() * 3).backward()
    np.testing.assert_array_equal(grad_of(v), [0.0, 3.0, 0.0])


def test_copy_gate_adds() -> None:
    x = scalar(3.0)
    (x * 4 + x * 5).backward()  # fan-out: x used twice gets the sum of both gradients
    assert x.grad is not None and x.grad.item() == 9.0
    x = scalar(3.0)
    (x * x).backward()
    assert x.grad is not None and x.grad.item() == 6.0
    x = scalar(3.0)
    (x * (x * 2)).backward()  # a diamond: x directly and through x * 2
    assert x.grad is not None and x.grad.item() == 12.0


def test_diamond_through_where_and_a_long_branch() -> None:
    a = cr.tensor([-1.0, 2.0], requires_grad=True)
    cr.where(a > 0, a, ((a * 2) * 3) + 1).sum().backward()
    np.testing.assert_array_equal(grad_of(a), [6.0, 1.0])


# ------------------------------------------------------------------ backward rules
def test_gradients_accumulate_across_backward_calls() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    grad = x.grad
    (x * x).sum().backward()
    np.testing.assert_array_equal(grad_of(x), [5.0, 7.0])
    assert x.grad is grad  # accumulated into the same Tensor
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_array_equal(grad_of(x), [3.0, 3.0])


def test_grad_is_a_tensor_of_the_input_dtype() -> None:
    for dtype in (cr.float32, cr.float64):
        x = cr.ones(2, 3, dtype=dtype, requires_grad=True)
        (x * 2).sum().backward()
        assert isinstance(x.grad, cr.Tensor)
        assert x.grad.dtype == dtype and x.grad.shape == (2, 3)
        assert not x.grad.requires_grad


def test_backward_on_non_scalar_needs_a_gradient() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar"):
        (x * 2).backward()
    (x * 2).backward(cr.tensor([1.0, 10.0]))
    np.testing.assert_array_equal(grad_of(x), [2.0, 20.0])
    with pytest.raises(ValueError, match="shape"):
        (x * 2).backward(cr.ones(3))


def test_backward_without_grad_raises() -> None:
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor(1.0).backward()


def test_backward_gradient_argument_is_not_aliased() -> None:
    gradient = cr.ones(3)
    x = cr.zeros(3, requires_grad=True)
    x.clone().backward(gradient)
    assert x.grad is not None
    x.grad.zero_()
    np.testing.assert_array_equal(gradient.numpy(), [1.0, 1.0, 1.0])


def test_two_leaves_never_share_a_grad_array() -> None:
    a, b = cr.ones(3, requires_grad=True), cr.ones(3, requires_grad=True)
    (a + b).sum().backward()
    assert a.grad is not None and b.grad is not None
    a.grad.zero_()
    np.testing.assert_array_equal(grad_of(b), [1.0, 1.0, 1.0])


def test_backward_twice_through_a_freed_graph_raises() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_retain_graph_allows_a_second_backward_and_doubles_grads() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    np.testing.assert_array_equal(grad_of(x), [2.0, 4.0])
    y.backward()
    np.testing.assert_array_equal(grad_of(x), [4.0, 8.0])


def test_a_chain_of_100000_ops_backpropagates() -> None:
    x = scalar(1.0)
    y = x
    for _ in range(100_000):
        y = y * (1 + 1e-5)
    y.backward()  # no RecursionError
    assert x.grad is not None
    np.testing.assert_allclose(x.grad.item(), (1 + 1e-5) ** 100_000, rtol=1e-9)


def test_non_leaf_grad_needs_retain_grad() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    kept = x * 4
    kept.retain_grad()
    (h * kept).sum().backward()
    assert h.grad is None and not h.is_leaf and x.is_leaf
    np.testing.assert_array_equal(grad_of(kept), [3.0, 6.0])
    np.testing.assert_array_equal(grad_of(x), [24.0, 48.0])


# ------------------------------------------------------------------ grad mode
def test_no_grad_as_context_manager() -> None:
    x = cr.tensor([1.0], requires_grad=True)
    with cr.no_grad():
        assert not cr.is_grad_enabled()
        y = x * 2
    assert cr.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None


def test_grad_mode_is_per_thread() -> None:
    """As in PyTorch: no_grad in one thread leaves recording on in another."""
    import threading

    inside, other = threading.Event(), []

    def record_elsewhere() -> None:
        inside.wait(5)
        x = cr.tensor([1.0], requires_grad=True)
        other.append((cr.is_grad_enabled(), (x * 2).requires_grad))

    worker = threading.Thread(target=record_elsewhere)
    worker.start()
    with cr.no_grad():
        inside.set()
        worker.join(5)
        assert not cr.is_grad_enabled()
    assert other == [(True, True)]


def test_no_grad_as_decorator() -> None:
    x = cr.tensor([1.0], requires_grad=True)

    @cr.no_grad()
    def called(t: cr.Tensor) -> cr.Tensor:
        return t * 2

    @cr.no_grad
    def bare(t: cr.Tensor) -> cr.Tensor:  # PyTorch also accepts the bare decorator
        return t * 2

    assert not called(x).requires_grad and not bare(x).requires_grad
    assert called.__name__ == "called"
    assert cr.is_grad_enabled()


def test_no_grad_restores_the_mode_after_an_exception() -> None:
    with pytest.raises(KeyError), cr.no_grad():
        raise KeyError
    assert cr.is_grad_enabled()


def test_enable_grad_inside_no_grad() -> None:
    x = cr.tensor([1.0], requires_grad=True)
    with cr.no_grad():
        with cr.enable_grad():
            y = x * 2
        z = x * 2
        assert not cr.is_grad_enabled()
    assert y.requires_grad and y.grad_fn is not None and not z.requires_grad


def test_in_place_sgd_step_under_no_grad() -> None:
    p = cr.tensor([1.0, 2.0], requires_grad=True)
    (p * p).sum().backward()
    assert p.grad is not None
    with cr.no_grad():
        p -= 0.1 * p.grad
    np.testing.assert_allclose(p.detach().numpy(), [0.8, 1.6])
    assert p.is_leaf and p.requires_grad
    np.testing.assert_array_equal(grad_of(p), [2.0, 4.0])


def test_in_place_on_a_leaf_requiring_grad_raises_outside_no_grad() -> None:
    p = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        p -= 0.1
    with pytest.raises(RuntimeError, match="leaf"):
        p.add_(1.0)


def test_requires_grad_on_an_integer_tensor_raises() -> None:
    with pytest.raises(RuntimeError, match="floating point"):
        cr.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        cr.arange(3).requires_grad_()


# ------------------------------------------------------------------ shape errors
def _message(fn: Any) -> str:
    with pytest.raises(ValueError) as info:
        fn()
    return str(info.value)


@pytest.mark.parametrize(
    ("name", "fn", "shapes"),
    [
        ("matmul", lambda: cr.ones(2, 3) @ cr.ones(4, 5), ("Size([2, 3])", "Size([4, 5])")),
        ("matmul", lambda: cr.ones(3) @ cr.ones(4), ("Size([3])", "Size([4])")),
        ("add", lambda: cr.ones(2, 3) + cr.ones(4), ("Size([2, 3])", "Size([4])")),
        ("mul", lambda: cr.ones(2, 3) * cr.ones(2, 2), ("Size([2, 3])", "Size([2, 2])")),
        ("cat", lambda: cr.cat([cr.ones(2, 3), cr.ones(2, 4)]), ("Size([2, 3])", "Size([2, 4])")),
        (
            "stack",
            lambda: cr.stack([cr.ones(2, 3), cr.ones(3, 2)]),
            ("Size([2, 3])", "Size([3, 2])"),
        ),
    ],
)
def test_shape_errors_name_the_op_and_both_shapes(name: str, fn: Any, shapes: Any) -> None:
    message = _message(fn)
    assert name in message
    for shape in shapes:
        assert shape in message


# ------------------------------------------------------------------ dtypes
def test_default_dtype_is_float32() -> None:
    assert cr.tensor([1.0, 2.0]).dtype == cr.float32
    assert cr.tensor(1.5).dtype == cr.float32
    assert cr.tensor([1, 2]).dtype == cr.int64
    assert cr.tensor([True]).dtype == cr.bool_


def test_float64_ndarray_stays_float64() -> None:
    assert cr.tensor(np.ones(3)).dtype == cr.float64
    assert cr.tensor(np.ones(3, dtype=np.float32)).dtype == cr.float32


@pytest.mark.parametrize(
    "fn",
    [
        lambda t: t * 2.5,
        lambda t: 2.5 * t,
        lambda t: t + 1,
        lambda t: t - 0.5,
        lambda t: t / 3,
        lambda t: 1 / t,
        lambda t: t**2.0,
        lambda t: 2.0**t,
        lambda t: t.clamp(0.5, 1.5),
    ],
)
def test_python_scalar_never_upcasts_float32(fn: Any) -> None:
    assert fn(cr.tensor([1.0, 2.0])).dtype == cr.float32
    assert fn(torch.tensor([1.0, 2.0])).dtype == torch.float32  # the rule we copy


def test_python_scalar_never_upcasts_float32_in_maximum_and_where() -> None:
    t32 = cr.tensor([1.0, 2.0])
    assert t32.maximum(0.5).dtype == cr.float32 and t32.minimum(0.5).dtype == cr.float32
    assert cr.where(t32 > 1, t32, 0.0).dtype == cr.float32
    assert cr.where(t32 > 1, 0.0, t32).dtype == cr.float32


@pytest.mark.parametrize(
    ("fn", "dtype"),
    [
        (lambda i: i + 1.5, cr.float32),
        (lambda i: i * 2.5, cr.float32),
        (lambda i: 0.5 * i, cr.float32),
        (lambda i: i / 2, cr.float32),
        (lambda i: i + 2, cr.int64),
        (lambda i: i * i, cr.int64),
        (lambda i: i + cr.tensor([0.5, 0.5]), cr.float32),
        (lambda i: i + cr.tensor(np.array([0.5, 0.5])), cr.float64),
        (lambda i: cr.tensor([1.0, 2.0]) + cr.tensor(np.ones(2)), cr.float64),
    ],
)
def test_int_tensor_promotion(fn: Any, dtype: Any) -> None:
    assert fn(cr.tensor([1, 2])).dtype == dtype


# ------------------------------------------------------------------ conversions
def test_detach_shares_data_and_leaves_the_graph() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).detach()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    d = x.detach()
    d.data[0] = 5.0
    assert x.tolist() == [5.0, 2.0]


def test_item_and_tolist() -> None:
    t = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert t.sum().item() == 10.0 and isinstance(t.sum().item(), float)
    assert cr.tensor([7]).item() == 7 and isinstance(cr.tensor([7]).item(), int)
    with pytest.raises(ValueError):
        t.item()


def test_numpy_raises_when_requires_grad() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    plain = cr.tensor([1.0, 2.0])
    assert plain.numpy() is plain.detach().numpy()  # shares memory, as torch
    np.testing.assert_array_equal(x.detach().numpy(), [1.0, 2.0])


def test_array_protocol() -> None:
    t = cr.tensor([1.0, 2.0])
    array = np.asarray(t)
    assert array.dtype == np.float32 and array.tolist() == [1.0, 2.0]
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert np.array(t).shape == (2,)


def test_requires_grad_() -> None:
    x = cr.tensor([1.0])
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad
    y = cr.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)


# ------------------------------------------------------------------ creation helpers
@pytest.mark.parametrize(
    ("make", "shape", "dtype"),
    [
        (lambda: cr.zeros(2, 3), (2, 3), cr.float32),
        (lambda: cr.zeros((2, 3)), (2, 3), cr.float32),
        (lambda: cr.zeros(4, dtype=cr.float64), (4,), cr.float64),
        (lambda: cr.ones(3, 1), (3, 1), cr.float32),
        (lambda: cr.ones((), dtype=cr.int64), (), cr.int64),
        (lambda: cr.full((2, 2), 1.5), (2, 2), cr.float32),
        (lambda: cr.full((2,), 3), (2,), cr.int64),
        (lambda: cr.full((2,), True), (2,), cr.bool_),
        (lambda: cr.arange(5), (5,), cr.int64),
        (lambda: cr.arange(1, 7, 2), (3,), cr.int64),
        (lambda: cr.arange(0, 1, 0.25), (4,), cr.float32),
        (lambda: cr.arange(3, dtype=cr.float64), (3,), cr.float64),
        (lambda: cr.randn(2, 3), (2, 3), cr.float32),
        (lambda: cr.randn((4,), dtype=cr.float64), (4,), cr.float64),
        (lambda: cr.rand(3, 2), (3, 2), cr.float32),
        (lambda: cr.zeros_like(cr.ones(2, dtype=cr.float64)), (2,), cr.float64),
        (lambda: cr.ones_like(cr.arange(3)), (3,), cr.int64),
        (lambda: cr.eye(3), (3, 3), cr.float32),
        (lambda: cr.eye(2, 4), (2, 4), cr.float32),
    ],
)
def test_creation_shapes_and_dtypes(make: Any, shape: Any, dtype: Any) -> None:
    t = make()
    assert isinstance(t, cr.Tensor) and t.shape == shape and t.dtype == dtype
    assert not t.requires_grad


def test_creation_values_match_torch() -> None:
    np.testing.assert_array_equal(cr.arange(0, 1, 0.25).numpy(), torch.arange(0, 1, 0.25))
    np.testing.assert_array_equal(cr.eye(2, 3).numpy(), torch.eye(2, 3))
    np.testing.assert_array_equal(cr.full((2,), 1.5).numpy(), [1.5, 1.5])
    assert cr.zeros(2).tolist() == [0.0, 0.0] and cr.ones_like(cr.zeros(2)).tolist() == [1.0, 1.0]
    r = cr.rand(1000)
    assert r.numpy().min() >= 0.0 and r.numpy().max() < 1.0


def test_creation_with_requires_grad() -> None:
    for t in (cr.zeros(2, requires_grad=True), cr.randn(2, requires_grad=True)):
        assert t.requires_grad and t.is_leaf


# ------------------------------------------------------------------ randomness
def test_manual_seed_reproduces_draws() -> None:
    cr.manual_seed(123)
    first = (cr.randn(5).numpy(), cr.rand(3).numpy(), cr.randint(0, 10, (4,)).numpy())
    cr.manual_seed(123)
    second = (cr.randn(5).numpy(), cr.rand(3).numpy(), cr.randint(0, 10, (4,)).numpy())
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(cr.randn(5).numpy(), first[0])


def test_generator_is_its_own_stream() -> None:
    g1 = cr.Generator().manual_seed(7)
    cr.manual_seed(0)
    a = cr.randn(4, generator=g1).numpy()
    cr.randn(10)  # draws from the default stream do not disturb g1's
    b = cr.randn(4, generator=g1).numpy()
    g2 = cr.Generator().manual_seed(7)
    np.testing.assert_array_equal(cr.randn(4, generator=g2).numpy(), a)
    np.testing.assert_array_equal(cr.randn(4, generator=g2).numpy(), b)
    assert g2.initial_seed() == 7


def test_rng_state_round_trip() -> None:
    cr.manual_seed(5)
    state = cr.get_rng_state()
    a = cr.randn(3).numpy()
    cr.set_rng_state(state)
    np.testing.assert_array_equal(cr.randn(3).numpy(), a)


# ------------------------------------------------------------------ gradcheck catches bugs
class WrongSquare(cr.Function):
    """x² with a deliberately wrong backward (x instead of 2x)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x * x

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad * self.x


class RightSquare(WrongSquare):
    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad * 2 * self.x


def test_gradcheck_reports_a_wrong_gradient() -> None:
    x = cr.tensor(np.array([1.5, -0.5]), requires_grad=True)
    with pytest.raises(cr.GradcheckError) as info:
        cr.gradcheck(lambda t: WrongSquare.apply(t), [x])
    message = str(info.value)
    assert "input 0" in message
    autodiff, numeric = (
        float(v) for v in re.findall(r"(?:autodiff|differences) ([-+.e\d]+)", message)
    )
    assert numeric == pytest.approx(2 * autodiff, rel=1e-6)  # d(x²) = 2x, the op said x
    assert not cr.gradcheck(lambda t: WrongSquare.apply(t), [x], raise_exception=False)
    assert cr.gradcheck(lambda t: RightSquare.apply(t), [x])


def test_gradcheck_names_the_wrong_input() -> None:
    a = cr.tensor(np.array([0.3, 0.7]), requires_grad=True)
    b = cr.tensor(np.array([1.5, -2.0]), requires_grad=True)
    with pytest.raises(cr.GradcheckError, match="input 1"):
        cr.gradcheck(lambda s, t: RightSquare.apply(s) + WrongSquare.apply(t), [a, b])


def test_gradcheck_wants_float64() -> None:
    with pytest.raises(ValueError, match="float64"):
        cr.gradcheck(lambda t: t * 2, [cr.ones(2, requires_grad=True)])


def test_gradcheck_perturbs_fortran_ordered_inputs() -> None:
    x = cr.tensor(np.arange(6.0).reshape(2, 3).T, requires_grad=True)  # keeps Fortran order
    assert x.detach().numpy().flags.f_contiguous and not x.detach().numpy().flags.c_contiguous
    assert cr.gradcheck(lambda t: t * t, [x])


def test_retained_and_leaf_gradients_never_share_an_array() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0, 4.0], requires_grad=True)
    u = w * 1.0
    u.retain_grad()
    (u + b).backward(cr.tensor([1.0, 1.0]))
    with cr.no_grad():
        b.grad.zero_()
    assert u.grad.tolist() == [1.0, 1.0]


DTYPE_PAIRS = [
    ("float32", (3,), "float64", ()),
    ("float64", (), "float32", (3,)),
    ("float32", (), "float64", ()),
    ("float32", (3,), "float64", (3,)),
    ("int64", (3,), "float64", ()),
    ("int64", (3,), "float32", ()),
    ("int32", (3,), "int64", ()),
    ("int64", (), "int32", (3,)),
    ("bool", (3,), "int64", ()),
    ("bool", (3,), "float64", ()),
    ("int32", (3,), "int64", (3,)),
]


@pytest.mark.parametrize(("dtype_a", "shape_a", "dtype_b", "shape_b"), DTYPE_PAIRS)
@pytest.mark.parametrize("op", ["add", "mul"])
def test_binary_promotion_follows_pytorch_for_zero_dim_operands(
    dtype_a: str, shape_a: tuple[int, ...], dtype_b: str, shape_b: tuple[int, ...], op: str
) -> None:
    """A 0-d tensor does not widen a tensor with dims of its own category (torch's rule)."""
    import operator

    torch = pytest.importorskip("torch")
    fn = getattr(operator, op)
    a, b = np.ones(shape_a, dtype_a), np.ones(shape_b, dtype_b)
    expected = fn(torch.from_numpy(a), torch.from_numpy(b)).dtype
    got = fn(cr.tensor(a), cr.tensor(b)).dtype
    assert str(got) == str(expected).removeprefix("torch."), (got, expected)
