"""chainrule.nn.init against torch.nn.init: exact where deterministic, moments otherwise."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule
from chainrule.nn import init

SHAPE = (400, 500)  # 200,000 samples: sample std within ~0.3% of the true one
FAN_IN, FAN_OUT = 500, 400


def _empty(shape=SHAPE, dtype=np.float32, requires_grad=False):
    return chainrule.Tensor(np.full(shape, np.nan, dtype=dtype), requires_grad=requires_grad)


def _gen(seed=0):
    return chainrule.Generator().manual_seed(seed)


def _torch_sample(name, shape=SHAPE, seed=0, **kwargs):
    t = torch.empty(shape, dtype=torch.float64)
    getattr(torch.nn.init, name)(t, generator=torch.Generator().manual_seed(seed), **kwargs)
    return t.numpy()


# ---------------------------------------------------------------- calculate_gain
@pytest.mark.parametrize(
    ("nonlinearity", "param"),
    [
        ("linear", None),
        ("conv1d", None),
        ("conv2d", None),
        ("conv3d", None),
        ("conv_transpose1d", None),
        ("conv_transpose2d", None),
        ("conv_transpose3d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("leaky_relu", 0),
        ("leaky_relu", 1),
        ("leaky_relu", math.sqrt(5)),
        ("selu", None),
    ],
)
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == torch.nn.init.calculate_gain(
        nonlinearity, param
    )


def test_calculate_gain_values():
    assert init.calculate_gain("tanh") == 5.0 / 3
    assert init.calculate_gain("relu") == math.sqrt(2.0)
    assert init.calculate_gain("leaky_relu") == math.sqrt(2.0 / (1 + 0.01**2))


def test_calculate_gain_unknown_nonlinearity():
    with pytest.raises(ValueError, match="^Unsupported nonlinearity gelu$"):
        init.calculate_gain("gelu")


@pytest.mark.parametrize("param", [True, "0.2"])
def test_calculate_gain_invalid_slope(param):
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", param)


# ---------------------------------------------------------------- fans
@pytest.mark.parametrize("shape", [(3, 4), (8, 3, 5, 5)])
def test_fan_in_and_fan_out_match_torch(shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init._calculate_fan_in_and_fan_out(_empty(shape)) == expected


def test_fan_in_and_fan_out_conv_values():
    assert init._calculate_fan_in_and_fan_out(_empty((8, 3, 5, 5))) == (75, 200)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=2, max_size=5))
def test_fan_in_and_fan_out_match_torch_any_shape(shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init._calculate_fan_in_and_fan_out(_empty(tuple(shape))) == expected


@pytest.mark.parametrize("shape", [(), (5,)])
def test_fan_needs_two_dimensions(shape):
    message = "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
    with pytest.raises(ValueError, match=f"^{message}$"):
        init._calculate_fan_in_and_fan_out(_empty(shape))
    with pytest.raises(ValueError, match=f"^{message}$"):
        init.xavier_uniform_(_empty(shape))


def test_invalid_mode_raises_torch_message():
    with pytest.raises(ValueError) as torch_error:
        torch.nn.init.kaiming_uniform_(torch.empty(3, 4), mode="fan_avg")
    for fn in (init.kaiming_uniform_, init.kaiming_normal_):
        with pytest.raises(ValueError, match="Mode fan_avg not supported") as ours:
            fn(_empty((3, 4)), mode="fan_avg")
        assert str(ours.value) == str(torch_error.value)


def test_mode_is_case_insensitive_as_in_torch():
    t = init.kaiming_uniform_(_empty(), mode="FAN_OUT", generator=_gen())
    assert np.abs(t.detach().numpy()).max() <= math.sqrt(3.0) * math.sqrt(2.0) / math.sqrt(FAN_OUT)


# ---------------------------------------------------------------- distributions
# (name, kwargs, theoretical mean, theoretical std, uniform bound computed as torch does or None)
_XAVIER_STD = 1.5 * math.sqrt(2.0 / float(FAN_IN + FAN_OUT))
_RELU_STD = math.sqrt(2.0) / math.sqrt(FAN_IN)
_LEAKY_STD = math.sqrt(2.0 / (1 + 0.2**2)) / math.sqrt(FAN_OUT)
CASES = [
    ("uniform_", {}, 0.5, math.sqrt(1 / 12), None),
    ("uniform_", {"a": -3.0, "b": 5.0}, 1.0, 8 / math.sqrt(12), None),
    ("normal_", {}, 0.0, 1.0, None),
    ("normal_", {"mean": 3.0, "std": 0.25}, 3.0, 0.25, None),
    ("xavier_uniform_", {"gain": 1.5}, 0.0, _XAVIER_STD, math.sqrt(3.0) * _XAVIER_STD),
    ("xavier_normal_", {"gain": 1.5}, 0.0, _XAVIER_STD, None),
    ("kaiming_uniform_", {"nonlinearity": "relu"}, 0.0, _RELU_STD, math.sqrt(3.0) * _RELU_STD),
    ("kaiming_normal_", {"nonlinearity": "relu"}, 0.0, _RELU_STD, None),
    (
        "kaiming_uniform_",
        {"a": 0.2, "mode": "fan_out"},
        0.0,
        _LEAKY_STD,
        math.sqrt(3.0) * _LEAKY_STD,
    ),
    ("kaiming_normal_", {"a": 0.2, "mode": "fan_out"}, 0.0, _LEAKY_STD, None),
]
IDS = [f"{name}-{kwargs}" for name, kwargs, *_ in CASES]


@pytest.mark.parametrize(("name", "kwargs", "mean", "std", "bound"), CASES, ids=IDS)
def test_sample_moments(name, kwargs, mean, std, bound):
    t = getattr(init, name)(_empty(dtype=np.float64), generator=_gen(), **kwargs)
    x = t.detach().numpy()
    assert np.isfinite(x).all()
    assert x.std() == pytest.approx(std, rel=0.01)
    assert abs(x.mean() - mean) < 5 * std / math.sqrt(x.size)  # 5 standard errors
    if bound is not None:
        assert np.abs(x).max() <= bound
        assert np.abs(x).max() > 0.999 * bound  # the bound is tight, not just satisfied


@pytest.mark.parametrize(("name", "kwargs", "mean", "std", "bound"), CASES, ids=IDS)
def test_matches_torch_distribution(name, kwargs, mean, std, bound):
    ours = (
        getattr(init, name)(_empty(dtype=np.float64), generator=_gen(1), **kwargs).detach().numpy()
    )
    theirs = _torch_sample(name, seed=1, **kwargs)
    assert theirs.std() == pytest.approx(std, rel=0.01)  # our formula is torch's
    assert ours.std() == pytest.approx(theirs.std(), rel=0.03)
    assert abs(ours.mean() - theirs.mean()) < 0.02 * std
    # same shape of distribution (uniform vs normal), not just the same two moments
    q = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99]
    np.testing.assert_allclose(np.quantile(ours, q), np.quantile(theirs, q), atol=0.05 * std)
    if bound is not None:
        assert np.abs(theirs).max() <= bound


@pytest.mark.parametrize("name", ["xavier_uniform_", "kaiming_uniform_"])
def test_bound_on_a_conv_weight_matches_torch(name):
    shape = (16, 8, 3, 3)
    fan_in, fan_out = 8 * 9, 16 * 9
    if name == "xavier_uniform_":
        bound = math.sqrt(3.0) * math.sqrt(2.0 / float(fan_in + fan_out))
    else:
        bound = math.sqrt(3.0) * math.sqrt(2.0 / (1 + 0.01**2)) / math.sqrt(fan_in)
    ours = getattr(init, name)(_empty(shape, np.float64), generator=_gen()).detach().numpy()
    theirs = _torch_sample(name, shape=shape)
    assert np.abs(ours).max() <= bound
    assert np.abs(theirs).max() <= bound
    assert np.abs(ours).max() > 0.95 * bound


def test_float32_uniform_stays_within_float32_bound():
    t = init.xavier_uniform_(_empty(dtype=np.float32), generator=_gen())
    bound = math.sqrt(3.0) * math.sqrt(2.0 / float(FAN_IN + FAN_OUT))
    assert np.abs(t.detach().numpy()).max() <= np.float32(bound)


def test_uniform_with_equal_bounds_and_normal_with_zero_std():
    assert (init.uniform_(_empty((3, 4)), 2.0, 2.0).detach().numpy() == 2.0).all()
    assert (init.normal_(_empty((3, 4)), 1.5, 0.0).detach().numpy() == 1.5).all()


def test_invalid_arguments_raise():
    with pytest.raises(RuntimeError, match=r"found from=1\.0 > to=0\.0"):
        init.uniform_(_empty((3,)), 1.0, 0.0)
    with pytest.raises(RuntimeError, match="normal expects std >= 0.0"):
        init.normal_(_empty((3,)), 0.0, -1.0)
    ints = chainrule.Tensor(np.zeros((3, 4), dtype=np.int64))
    for fn in (init.uniform_, init.normal_, init.xavier_uniform_, init.kaiming_normal_):
        with pytest.raises(RuntimeError, match="floating-point"):
            fn(ints)


@pytest.mark.parametrize("fn", [init.kaiming_uniform_, init.kaiming_normal_])
def test_kaiming_on_zero_elements_warns_and_is_a_no_op(fn):
    t = _empty((0, 3))
    with pytest.warns(UserWarning, match="zero-element tensors is a no-op"):
        assert fn(t) is t
    assert t.shape == (0, 3)


# ---------------------------------------------------------------- in place, dtype, graph, seed
RANDOM_INITS = [
    (init.uniform_, {}),
    (init.normal_, {}),
    (init.xavier_uniform_, {}),
    (init.xavier_normal_, {}),
    (init.kaiming_uniform_, {}),
    (init.kaiming_normal_, {}),
]
ALL_INITS = RANDOM_INITS + [
    (init.zeros_, {}),
    (init.ones_, {}),
    (init.constant_, {"val": 0.3}),
    (init.eye_, {}),
]
ALL_IDS = [fn.__name__ for fn, _ in ALL_INITS]


@pytest.mark.parametrize(("fn", "kwargs"), ALL_INITS, ids=ALL_IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_in_place_keeps_dtype_and_returns_tensor(fn, kwargs, dtype):
    t = _empty((30, 40), dtype)
    array = t.detach().numpy()
    assert fn(t, **kwargs) is t
    assert t.detach().numpy() is array
    assert t.detach().numpy().dtype == dtype
    assert t.shape == (30, 40)
    assert np.isfinite(t.detach().numpy()).all()


@pytest.mark.parametrize(("fn", "kwargs"), ALL_INITS, ids=ALL_IDS)
def test_records_no_graph(fn, kwargs):
    t = _empty((30, 40), requires_grad=True)
    array_id = id(t.detach().numpy())
    fn(t, **kwargs)  # outside no_grad: torch.nn.init works here too
    assert id(t.detach().numpy()) == array_id
    assert t.requires_grad and t.is_leaf and t.grad_fn is None and t.grad is None
    (t * 2.0).sum().backward()  # still a usable parameter
    np.testing.assert_array_equal(t.grad.detach().numpy(), np.full((30, 40), 2.0, np.float32))


def test_works_on_a_non_contiguous_view():
    base = np.zeros((40, 30), np.float32)
    t = chainrule.Tensor(np.zeros(1, np.float32))
    t.data = chainrule.from_numpy(base.T)  # a view: the init must write through it
    init.ones_(t)
    assert (base == 1).all()


@pytest.mark.parametrize(("fn", "kwargs"), RANDOM_INITS, ids=[f.__name__ for f, _ in RANDOM_INITS])
def test_seeded_generator_reproduces(fn, kwargs):
    a = fn(_empty(), generator=_gen(7), **kwargs).detach().numpy()
    b = fn(_empty(), generator=_gen(7), **kwargs).detach().numpy()
    c = fn(_empty(), generator=_gen(8), **kwargs).detach().numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(("fn", "kwargs"), RANDOM_INITS, ids=[f.__name__ for f, _ in RANDOM_INITS])
def test_default_generator_follows_manual_seed(fn, kwargs):
    chainrule.manual_seed(123)
    a = fn(_empty(), **kwargs).detach().numpy()
    b = fn(_empty(), **kwargs).detach().numpy()
    chainrule.manual_seed(123)
    np.testing.assert_array_equal(fn(_empty(), **kwargs).detach().numpy(), a)
    assert not np.array_equal(a, b)  # the stream advances


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_seeded_values_are_torchs_bit_for_bit(dtype):
    """torch draws in the tensor's dtype (24-bit uniforms for float32, 53-bit for float64), so
    the two dtypes give different streams, each equal to torch's."""
    for name in ("kaiming_normal_", "kaiming_uniform_", "xavier_uniform_", "xavier_normal_"):
        numpy_dtype = np.float32 if dtype == torch.float32 else np.float64
        ours = getattr(init, name)(_empty(dtype=numpy_dtype), generator=_gen(3))
        theirs = getattr(torch.nn.init, name)(
            torch.empty(SHAPE, dtype=dtype), generator=torch.Generator().manual_seed(3)
        )
        np.testing.assert_array_equal(ours.detach().numpy(), theirs.numpy(), err_msg=name)


# ---------------------------------------------------------------- deterministic fills
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_zeros_ones_constant_are_exact(dtype):
    np.testing.assert_array_equal(
        init.zeros_(_tensor_of(dtype)).detach().numpy(), np.zeros((3, 4), dtype)
    )
    np.testing.assert_array_equal(
        init.ones_(_tensor_of(dtype)).detach().numpy(), np.ones((3, 4), dtype)
    )
    expected = torch.nn.init.constant_(torch.empty(3, 4, dtype=_torch_dtype(dtype)), 0.3)
    ours = init.constant_(_tensor_of(dtype), 0.3).detach().numpy()
    np.testing.assert_array_equal(ours, expected.numpy())
    assert ours.dtype == dtype


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4)])
def test_eye_matches_torch(shape):
    expected = torch.nn.init.eye_(torch.empty(shape)).numpy()
    np.testing.assert_array_equal(init.eye_(_empty(shape)).detach().numpy(), expected)


def test_eye_needs_two_dimensions():
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.eye_(_empty((2, 3, 4)))


def _tensor_of(dtype):
    return chainrule.Tensor(np.full((3, 4), 9, dtype=dtype))


def _torch_dtype(dtype):
    return {np.float32: torch.float32, np.float64: torch.float64, np.int64: torch.int64}[dtype]
