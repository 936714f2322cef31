"""Every layer declared in chainrule.nn.registry is handled, or explicitly refused, by each
feature that reads the declaration: config, checkpoint size checks, ONNX, capture, and the
activation names of the CLI, the playground and the scikit-learn bridge.

A new layer that a feature neither handles nor refuses fails here."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

import chainrule
from chainrule import nn, optim
from chainrule.checkpoint import size_checks
from chainrule.nn import registry
from chainrule.nn.config import model_from_config, model_to_config

SPECS = list(registry.LAYERS.values())
IDS = [spec.name for spec in SPECS]


def _input(spec: registry.LayerSpec, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if spec.index_input is not None:
        return rng.integers(0, spec.index_input, spec.example_input).astype(np.int64)
    return rng.standard_normal(spec.example_input).astype(np.float32)


def _layer(spec: registry.LayerSpec) -> nn.Module:
    chainrule.manual_seed(0)
    return spec.cls(**spec.example)


def test_every_built_in_layer_is_declared():
    declared = {spec.cls for spec in SPECS}
    layers = {getattr(nn, name) for name in nn.modules.__all__}
    not_layers = {nn.Module, nn.Sequential, nn.ModuleList, nn.ModuleDict}
    not_layers |= {nn.ParameterList, nn.ParameterDict}  # containers, as ModuleList
    not_layers |= {getattr(nn, name) for name in registry.NOT_SEQUENTIAL}
    losses = {cls for cls in layers if cls.__name__.endswith("Loss")}
    assert layers - not_layers - losses == declared


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_options_are_the_constructor_arguments(spec):
    parameters = set(inspect.signature(spec.cls.__init__).parameters)
    # device is always "cpu" (nothing to store); Identity takes and ignores anything
    assert parameters - {"self", "device", "args", "kwargs"} == set(spec.options)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_config_round_trip_and_declared_shapes(spec):
    layer = _layer(spec)
    state = layer.state_dict()
    assert {k: t.shape for k, t in state.items()} == spec.parameter_shapes(spec.example)
    config = model_to_config(nn.Sequential(layer))
    rebuilt = model_from_config(config)
    assert type(rebuilt[0]) is spec.cls and model_to_config(rebuilt) == config
    # checkpoint's size check, before it builds anything, counts the same values
    numel = sum(math.prod(t.shape) for t in state.values())
    assert size_checks.config_values(config) == numel == spec.parameter_count(spec.example)


def test_a_subclass_of_a_declared_layer_is_not_declared():
    class MyReLU(nn.ReLU):
        pass

    assert registry.spec_of(MyReLU()) is None and registry.spec_of(nn.ReLU()) is not None
    with pytest.raises(ValueError, match="only built-in layers"):
        model_to_config(nn.Sequential(MyReLU()))


def test_onnx_dispatch_table_matches_the_declarations():
    cx = pytest.importorskip("chainrule.onnx")
    assert set(cx.EXPORTERS) == {spec.cls for spec in SPECS if spec.onnx}


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_onnx_exports_or_refuses(spec, tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    import chainrule.onnx as cx

    model = nn.Sequential(_layer(spec)).eval()
    x = _input(spec)
    if not spec.onnx:
        with pytest.raises(ValueError, match="cannot export"):
            cx.export(model, x, tmp_path / "m.onnx")
        return
    path = cx.export(model, x, tmp_path / "m.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": _input(spec, seed=1)})[0]
    with chainrule.no_grad():
        want = model(chainrule.tensor(_input(spec, seed=1))).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_capture_replays_or_refuses(spec):
    width = spec.example_input[-1]

    def build() -> nn.Sequential:
        chainrule.manual_seed(0)
        first = [] if spec.index_input is not None else [nn.Linear(width, width)]
        return nn.Sequential(*first, spec.cls(**spec.example))

    model = build()
    loss_fn = nn.MSELoss()
    if not spec.capture:
        with pytest.raises(ValueError, match="cannot be replayed"):
            chainrule.compile_step(model, loss_fn, optim.SGD(model.parameters(), lr=0.1))
        return
    eager = build()
    step = chainrule.compile_step(model, loss_fn, optim.SGD(model.parameters(), lr=0.1))
    eager_opt = optim.SGD(eager.parameters(), lr=0.1)
    x = chainrule.tensor(_input(spec))
    with chainrule.no_grad():
        target = chainrule.tensor(np.zeros(eager(x).shape, np.float32) + 0.5)
    for _ in range(3):  # the first step records, the next ones replay
        captured_loss = step(x, target)
        eager_opt.zero_grad()
        eager_loss = loss_fn(eager(x), target)
        eager_loss.backward()
        eager_opt.step()
        assert captured_loss.item() == pytest.approx(eager_loss.item(), rel=1e-6, abs=1e-7)
    for a, b in zip(model.parameters(), eager.parameters(), strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6)


def test_activation_names_are_one_map():
    from chainrule.cli import RunConfig
    from chainrule.cli.factories import ACTIVATIONS

    names = registry.activation_names()
    assert names == ACTIVATIONS
    for name in names:
        RunConfig(activation=name).check()
    assert registry.activation_layer("logistic") is nn.Sigmoid  # scikit-learn's name
    assert (
        registry.activation_layer("linear") is None
        and registry.activation_layer("identity") is None
    )
    with pytest.raises(ValueError, match="unknown activation 'swish': choose from relu"):
        registry.activation_layer("swish")


def test_playground_menus_come_from_the_registry():
    pytest.importorskip("fastapi")
    from chainrule.playground import network
    from chainrule.playground.messages import PlaygroundConfig, menus

    served = menus()
    offered = {s.activation: s.cls for s in SPECS if s.activation and s.playground}
    assert served["activations"] == [*offered, "linear"]
    assert served["activation_labels"]["linear"] == "Linear"
    assert {"relu", "tanh", "sigmoid", "leaky_relu", "elu"} <= set(offered)
    for name, cls in offered.items():
        assert served["activation_labels"][name] == cls.__name__
        config = PlaygroundConfig(layers=[3], activations=[name])
        model = network.build_model(config, num_classes=2)
        assert type(model[1]) is cls and network.layer_activations(model) == [name]


def test_registering_a_taken_name_is_refused():
    with pytest.raises(ValueError, match="already in use"):

        @registry.register(activation="relu", onnx=False, capture=False)
        class Other(nn.Module):
            pass

    assert "Other" not in registry.LAYERS


@pytest.mark.parametrize("name", registry.NOT_SEQUENTIAL)
def test_two_input_modules_are_refused_by_every_feature(name, tmp_path):
    arguments = {
        "Bilinear": (3, 3, 2),
        "RNNBase": ("LSTM", 3, 2),
        "RNNCellBase": ("GRU", 3, 2, True, None, None),
        "MultiheadAttention": (3, 1),
        "TransformerEncoderLayer": (4, 2, 8),
        "TransformerEncoder": (nn.TransformerEncoderLayer(4, 2, 8), 2),
        "TransformerDecoderLayer": (4, 2, 8),
        "TransformerDecoder": (nn.TransformerDecoderLayer(4, 2, 8), 2),
        "Transformer": (4, 2, 1, 1, 8),
    }
    recurrent = name.startswith(("RNN", "LSTM", "GRU"))
    module = getattr(nn, name)(*arguments.get(name, (3, 2) if recurrent else ()))
    assert registry.spec_of(module) is None
    with pytest.raises(ValueError, match="only built-in layers"):
        model_to_config(nn.Sequential(module))
    model = nn.Sequential(nn.Linear(3, 3), module)
    with pytest.raises(ValueError, match="cannot be replayed"):
        chainrule.compile_step(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1))
    if pytest.importorskip("onnx"):
        import chainrule.onnx as cx

        with pytest.raises(ValueError, match="cannot export"):
            cx.export(nn.Sequential(module), np.zeros((2, 3), np.float32), tmp_path / "m.onnx")
