"""Layers and activations against PyTorch in float64: forward values and gradients."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F
from chainrule.nn.config import model_from_config, model_to_config
from tests.support.modules import assert_close, check_function, check_module, rand

# ---------------------------------------------------------------- activations

# (module name, module kwargs, functional name, functional kwargs)
ACTIVATIONS: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
    ("ReLU", {}, "relu", {}),
    ("LeakyReLU", {"negative_slope": 0.1}, "leaky_relu", {"negative_slope": 0.1}),
    ("LeakyReLU", {}, "leaky_relu", {}),
    ("ELU", {"alpha": 0.5}, "elu", {"alpha": 0.5}),
    ("ELU", {}, "elu", {}),
    ("Hardtanh", {}, "hardtanh", {}),
    ("Hardtanh", {"min_val": -0.5, "max_val": 2.0}, "hardtanh", {"min_val": -0.5, "max_val": 2.0}),
    ("Sigmoid", {}, "sigmoid", {}),
    ("Tanh", {}, "tanh", {}),
    ("Softmax", {"dim": 0}, "softmax", {"dim": 0}),
    ("Softmax", {"dim": 1}, "softmax", {"dim": 1}),
    ("Softmax", {"dim": -1}, "softmax", {"dim": -1}),
    ("LogSoftmax", {"dim": 0}, "log_softmax", {"dim": 0}),
    ("LogSoftmax", {"dim": 1}, "log_softmax", {"dim": 1}),
    ("LogSoftmax", {"dim": -1}, "log_softmax", {"dim": -1}),
    ("GELU", {}, "gelu", {}),
    ("GELU", {"approximate": "none"}, "gelu", {"approximate": "none"}),
    ("GELU", {"approximate": "tanh"}, "gelu", {"approximate": "tanh"}),
    ("SiLU", {}, "silu", {}),
    ("Softplus", {}, "softplus", {}),
    ("Softplus", {"beta": 2.0, "threshold": 3.0}, "softplus", {"beta": 2.0, "threshold": 3.0}),
    ("Softplus", {"beta": 0.5, "threshold": 1.0}, "softplus", {"beta": 0.5, "threshold": 1.0}),
]
IDS = [f"{m}-{kw}" for m, kw, _, _ in ACTIVATIONS]
# values across both sides of every kink and threshold, none exactly at one
X_ACT = rand(3, 4, 5, seed=1) * 4


@pytest.mark.parametrize(("module", "kwargs", "_fn", "_fkw"), ACTIVATIONS, ids=IDS)
def test_activation_module(module: str, kwargs: dict, _fn: str, _fkw: dict) -> None:
    check_module(getattr(nn, module)(**kwargs), getattr(torch.nn, module)(**kwargs), X_ACT)


@pytest.mark.parametrize(("_m", "_mkw", "fn", "kwargs"), ACTIVATIONS, ids=IDS)
def test_activation_functional(_m: str, _mkw: dict, fn: str, kwargs: dict) -> None:
    check_function(
        lambda x: getattr(F, fn)(x, **kwargs),
        lambda x: getattr(torch.nn.functional, fn)(x, **kwargs),
        X_ACT,
    )


@pytest.mark.parametrize(
    "x",
    [
        np.array([-800.0, -30.0, 0.0, 30.0, 800.0]),  # saturation: no overflow, no nan
        np.array([[1e3, -1e3, 0.0], [5.0, 5.0, 5.0]]),
    ],
)
@pytest.mark.parametrize(
    "fn", ["sigmoid", "tanh", "softplus", "silu", "elu", "gelu", "softmax", "log_softmax"]
)
def test_activation_extreme_inputs(fn: str, x: np.ndarray) -> None:
    kwargs = {"dim": -1} if "softmax" in fn else {}
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        check_function(
            lambda t: getattr(F, fn)(t, **kwargs),
            lambda t: getattr(torch.nn.functional, fn)(t, **kwargs),
            x,
        )


def test_gelu_rejects_unknown_approximation() -> None:
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(cr.tensor([1.0]), approximate="erf")


# ---------------------------------------------------------------- Linear


@pytest.mark.parametrize(
    ("in_features", "out_features", "bias", "shape"),
    [(3, 4, True, (5, 3)), (3, 4, False, (5, 3)), (6, 2, True, (2, 4, 6)), (1, 1, True, (7, 1))],
)
def test_linear_parity(in_features: int, out_features: int, bias: bool, shape: tuple) -> None:
    check_module(
        nn.Linear(in_features, out_features, bias=bias),
        torch.nn.Linear(in_features, out_features, bias=bias),
        rand(*shape),
    )


def test_linear_functional_parity() -> None:
    w, b = rand(4, 3, seed=2), rand(4, seed=3)
    check_function(
        lambda x: F.linear(x, cr.tensor(w), cr.tensor(b)),
        lambda x: torch.nn.functional.linear(x, torch.tensor(w), torch.tensor(b)),
        rand(5, 3),
    )


@pytest.mark.parametrize("in_features", [1, 10, 400])
def test_linear_init_bounds(in_features: int) -> None:
    cr.manual_seed(0)
    layer = nn.Linear(in_features, 300)
    bound = 1 / math.sqrt(in_features)
    for name, values in (
        ("weight", layer.weight.detach().numpy()),
        ("bias", layer.bias.detach().numpy()),
    ):
        assert values.dtype == np.float32
        assert np.abs(values).max() <= bound * (1 + 1e-6), name
        # uniform on [-bound, bound]: reaches near both ends, std = bound / sqrt(3)
        assert values.min() < -0.9 * bound and values.max() > 0.9 * bound, name
        assert abs(values.std() - bound / math.sqrt(3)) < 0.1 * bound, name
        assert abs(values.mean()) < 0.1 * bound, name


def test_linear_float64_input_into_float32_layer_raises_type_error() -> None:
    layer = nn.Linear(3, 2)
    with pytest.raises(TypeError, match=r"float64.*float32|float32.*float64"):
        layer(cr.tensor(rand(4, 3)))


def test_linear_wrong_feature_count_names_both_shapes() -> None:
    layer = nn.Linear(3, 2)
    with pytest.raises(ValueError, match=re.escape("Size([4, 5])")) as info:
        layer(cr.randn(4, 5))
    assert "Size([2, 3])" in str(info.value)


def test_linear_shapes_and_dtype_option() -> None:
    layer = nn.Linear(3, 2, dtype=cr.float64)
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    assert layer.weight.dtype == np.float64
    assert layer(cr.tensor(rand(4, 3))).shape == (4, 2)
    assert nn.Linear(3, 2, bias=False).bias is None


# ---------------------------------------------------------------- Dropout

N_DROP = 100_000


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_training_statistics_and_mask_gradient(p: float) -> None:
    cr.manual_seed(0)
    layer = nn.Dropout(p)
    x = cr.tensor(np.ones(N_DROP), requires_grad=True)
    out = layer(x)
    values = out.detach().numpy()
    dropped = values == 0
    assert abs(dropped.mean() - p) < 0.01
    np.testing.assert_allclose(values[~dropped], 1 / (1 - p), rtol=1e-12)
    projection = rand(N_DROP, seed=5)
    (out * cr.tensor(projection)).sum().backward()
    assert x.grad is not None
    # the gradient uses the same mask as the forward pass
    np.testing.assert_allclose(x.grad.numpy(), np.where(dropped, 0.0, projection / (1 - p)))


def test_dropout_functional_training() -> None:
    cr.manual_seed(1)
    out = F.dropout(cr.tensor(np.ones(N_DROP)), 0.25, training=True).numpy()
    assert abs((out == 0).mean() - 0.25) < 0.01
    np.testing.assert_allclose(out[out != 0], 1 / 0.75)


@pytest.mark.parametrize("p", [0.0, 0.5, 1.0])
def test_dropout_eval_is_identity(p: float) -> None:
    layer = nn.Dropout(p).eval()
    x = cr.tensor(rand(10, 20), requires_grad=True)
    out = layer(x)
    np.testing.assert_array_equal(out.detach().numpy(), x.detach().numpy())
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((10, 20)))
    np.testing.assert_array_equal(
        F.dropout(x, p, training=False).detach().numpy(), x.detach().numpy()
    )


def test_dropout_p0_and_p1_in_training() -> None:
    x = cr.tensor(rand(100))
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).numpy(), x.numpy())
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).numpy(), np.zeros(100))


def test_dropout_is_reproducible_with_manual_seed() -> None:
    x = cr.tensor(np.ones(1000))
    cr.manual_seed(7)
    first = nn.Dropout(0.5)(x).numpy()
    cr.manual_seed(7)
    np.testing.assert_array_equal(nn.Dropout(0.5)(x).numpy(), first)


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_rejects_bad_probability(p: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(p)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(cr.tensor([1.0]), p)


# ---------------------------------------------------------------- BatchNorm1d


def _randomised_batchnorm(num_features: int, **kwargs: Any) -> torch.nn.BatchNorm1d:
    """A torch BatchNorm1d whose affine parameters are not the trivial 1 and 0."""
    layer = torch.nn.BatchNorm1d(num_features, **kwargs).double()
    with torch.no_grad():
        if layer.weight is not None:
            layer.weight.copy_(torch.tensor(rand(num_features, seed=11, low=0.5, high=2.0)))
        if layer.bias is not None:
            layer.bias.copy_(torch.tensor(rand(num_features, seed=12)))
    return layer


BN_CASES = [
    ((8, 3), {}),
    ((8, 3, 5), {}),
    ((2, 4), {}),
    ((8, 3), {"affine": False}),
    ((8, 3), {"momentum": 0.3, "eps": 1e-3}),
    ((8, 3, 5), {"track_running_stats": False}),
    ((8, 3), {"bias": False}),
]


@pytest.mark.parametrize(("shape", "kwargs"), BN_CASES)
def test_batchnorm_train_parity(shape: tuple, kwargs: dict) -> None:
    check_module(
        nn.BatchNorm1d(shape[1], **kwargs),
        _randomised_batchnorm(shape[1], **kwargs),
        rand(*shape, seed=3) * 2 + 1,
        train=True,
    )


@pytest.mark.parametrize(("shape", "kwargs"), BN_CASES)
def test_batchnorm_running_stats_then_eval(shape: tuple, kwargs: dict) -> None:
    torch_layer = _randomised_batchnorm(shape[1], **kwargs)
    cr_layer = nn.BatchNorm1d(shape[1], **kwargs).double()
    cr_layer.load_state_dict({k: v.numpy() for k, v in torch_layer.state_dict().items()})
    for step in range(3):
        x = rand(*shape, seed=20 + step) * (step + 1) + step
        cr_layer(cr.tensor(x))
        torch_layer(torch.tensor(x))
    torch_state = torch_layer.state_dict()
    cr_state = cr_layer.state_dict()
    assert list(cr_state) == list(torch_state)
    for key, value in torch_state.items():
        assert cr_state[key].dtype.name == str(value.dtype).removeprefix("torch."), key
        assert_close(cr_state[key], value, key)
    check_module(cr_layer, torch_layer, rand(*shape, seed=30), train=False)


def test_batchnorm_cumulative_average_momentum_none() -> None:
    torch_layer = torch.nn.BatchNorm1d(3, momentum=None).double()
    cr_layer = nn.BatchNorm1d(3, momentum=None).double()
    for step in range(4):
        x = rand(6, 3, seed=step) * (step + 1)
        cr_layer(cr.tensor(x))
        torch_layer(torch.tensor(x))
    assert_close(cr_layer.running_mean, torch_layer.running_mean, "running_mean")
    assert_close(cr_layer.running_var, torch_layer.running_var, "running_var")


def test_batchnorm_eval_does_not_touch_running_stats() -> None:
    layer = nn.BatchNorm1d(3).eval()
    layer(cr.randn(4, 3))
    np.testing.assert_array_equal(layer.running_mean.numpy(), np.zeros(3))
    np.testing.assert_array_equal(layer.running_var.numpy(), np.ones(3))
    assert int(layer.num_batches_tracked.item()) == 0


def test_batchnorm_errors() -> None:
    layer = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        layer(cr.randn(1, 3))
    with pytest.raises(ValueError, match=re.escape("Size([4, 5])")):
        layer(cr.randn(4, 5))


# ---------------------------------------------------------------- Embedding

INDICES = np.array([[1, 3, 3, 0], [9, 1, 1, 1]])  # repeated indices: their gradients add


@pytest.mark.parametrize("padding_idx", [None, 1, 0, -1])
def test_embedding_parity(padding_idx: int | None) -> None:
    check_module(
        nn.Embedding(10, 4, padding_idx=padding_idx),
        torch.nn.Embedding(10, 4, padding_idx=padding_idx),
        INDICES,
    )


def test_embedding_gradient_of_repeated_indices_adds_and_padding_gets_none() -> None:
    layer = nn.Embedding(5, 2, padding_idx=0)
    out = layer(cr.tensor([0, 2, 2, 2, 4, 0]))
    assert out.shape == (6, 2)
    np.testing.assert_array_equal(out[0].detach().numpy(), [0.0, 0.0])
    out.sum().backward()
    assert layer.weight.grad is not None
    np.testing.assert_array_equal(
        layer.weight.grad.numpy(), [[0, 0], [0, 0], [3, 3], [0, 0], [1, 1]]
    )


def test_embedding_lookup_values_and_errors() -> None:
    layer = nn.Embedding(6, 3)
    table = layer.weight.detach().numpy()
    np.testing.assert_array_equal(
        layer(cr.tensor(INDICES % 6)).detach().numpy(), table[INDICES % 6]
    )
    with pytest.raises(IndexError, match="6"):
        layer(cr.tensor([0, 6]))
    with pytest.raises(TypeError):
        layer(cr.tensor([0.0, 1.0]))


# ---------------------------------------------------------------- Flatten


@pytest.mark.parametrize(
    ("shape", "kwargs"),
    [
        ((2, 3, 4, 5), {}),
        ((2, 3, 4, 5), {"start_dim": 0}),
        ((2, 3, 4, 5), {"start_dim": 1, "end_dim": 2}),
        ((2, 3, 4, 5), {"start_dim": -2}),
        ((6, 1), {}),
    ],
)
def test_flatten_parity(shape: tuple, kwargs: dict) -> None:
    check_module(nn.Flatten(**kwargs), torch.nn.Flatten(**kwargs), rand(*shape))


@pytest.mark.parametrize(
    ("shape", "dim", "sizes"),
    [((2, 12), 1, (3, 4)), ((2, 12, 5), -2, [2, -1, 3]), ((6, 4), 0, (2, 3)), ((2, 4), 1, (4,))],
)
def test_unflatten_parity(shape: tuple, dim: int, sizes: Any) -> None:
    ours, theirs = nn.Unflatten(dim, sizes), torch.nn.Unflatten(dim, sizes)
    assert repr(ours) == repr(theirs)
    check_module(ours, theirs, rand(*shape))


@pytest.mark.parametrize("sizes", [3, (2, 1.5), ("a",)])
def test_unflatten_refuses_what_torch_refuses(sizes: Any) -> None:
    with pytest.raises(TypeError) as theirs:
        torch.nn.Unflatten(1, sizes)
    with pytest.raises(TypeError) as ours:
        nn.Unflatten(1, sizes)
    assert str(ours.value) == str(theirs.value)


def test_unflatten_config_round_trip_and_bad_shapes() -> None:
    model = nn.Sequential(nn.Linear(4, 6), nn.Unflatten(1, (2, 3)))
    config = model_to_config(model)
    assert config["layers"][1]["args"] == {"dim": 1, "unflattened_size": [2, 3]}
    rebuilt = model_from_config(config)
    assert rebuilt(cr.randn(5, 4)).shape == (5, 2, 3)
    for bad in ([2, "3"], [], [0, 6], [-1, -1], [True, 6], "23"):
        config["layers"][1]["args"]["unflattened_size"] = bad
        with pytest.raises(ValueError, match="unflattened_size must"):
            model_from_config(config)


def test_identity_parity() -> None:
    check_module(nn.Identity(), torch.nn.Identity(), rand(3, 4))


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_dtype_option_casts_first(fn: str) -> None:
    x = cr.tensor(X_ACT.astype(np.float32), requires_grad=True)
    out = getattr(F, fn)(x, dim=1, dtype=cr.float64)
    assert out.dtype == np.float64
    expected = getattr(torch.nn.functional, fn)(torch.tensor(X_ACT), dim=1)
    assert_close(out, expected, fn)
    out.sum().backward()
    assert x.grad is not None and x.grad.dtype == np.float32


@pytest.mark.parametrize(
    "build",
    [
        lambda device: nn.Linear(2, 3, True, device, cr.float64),
        lambda device: nn.BatchNorm1d(3, 1e-5, 0.1, True, True, device, cr.float64),
        lambda device: nn.Embedding(4, 3, device=device, dtype=cr.float64),
    ],
)
def test_layers_take_torch_device_and_dtype_arguments(build: Any) -> None:
    for device in (None, "cpu", torch.device("cpu")):
        layer = build(device)
        assert all(p.dtype == np.float64 for p in layer.parameters())
    with pytest.raises(ValueError, match="CPU only"):
        build("cuda")


@pytest.mark.parametrize("padding_idx", [10, -11])
def test_embedding_padding_idx_out_of_range(padding_idx: int) -> None:
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(10, 3, padding_idx=padding_idx)


@pytest.mark.parametrize("freeze", [True, False])
def test_embedding_from_pretrained(freeze: bool) -> None:
    table = rand(5, 3)
    layer = nn.Embedding.from_pretrained(cr.tensor(table), freeze=freeze)
    torch_layer = torch.nn.Embedding.from_pretrained(torch.tensor(table), freeze=freeze)
    assert layer.weight.requires_grad == torch_layer.weight.requires_grad
    assert repr(layer) == repr(torch_layer)
    index = np.array([4, 0, 4])
    assert_close(layer(cr.tensor(index)), torch_layer(torch.tensor(index)), "lookup")
