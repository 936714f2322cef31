"""ONNX export: every supported layer runs in onnxruntime as it does in chainrule, the file
passes the ONNX checker with a free batch dimension, a standardisation can be built in,
and unsupported models fail clearly (run folders: tests/cli/test_export_run.py)."""

from __future__ import annotations

import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import chainrule.onnx as cx  # noqa: E402 - after the skips: it needs nothing, but reads better

BATCHES = (1, 3, 17)


def session(path: Path) -> Any:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def trained(model: nn.Module, example: np.ndarray, steps: int = 3) -> nn.Module:
    """Move BatchNorm running statistics away from (0, 1) with a few training forwards."""
    model.train()
    rng = np.random.default_rng(42)
    with cr.no_grad():
        for _ in range(steps):
            shape = (16, *example.shape[1:])
            if example.dtype.kind == "f":
                batch = (rng.standard_normal(shape) * 2 + 0.5).astype(example.dtype)
            else:
                batch = rng.integers(0, int(example.max()) + 1, shape).astype(example.dtype)
            model(cr.tensor(batch))
    return model.eval()


def inputs_like(example: np.ndarray, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (n, *example.shape[1:])
    if example.dtype.kind == "f":
        return (rng.standard_normal(shape) * 3).astype(example.dtype)
    return rng.integers(0, int(example.max()) + 1, shape).astype(example.dtype)


def check_export(
    model: nn.Module,
    example: np.ndarray,
    tmp_path: Path,
    *,
    opset: int = cx.DEFAULT_OPSET,
    tol: float = 1e-5,
) -> Any:
    """Export, check the file, and compare onnxruntime with chainrule on several batches."""
    path = tmp_path / f"model_{opset}.onnx"
    assert cx.export(model, example, path, opset=opset) == path
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version == opset
    first_dim = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert first_dim.dim_param == "batch"
    runner = session(path)
    model.eval()
    for n in BATCHES:
        x = inputs_like(example, n, seed=n)
        (got,) = runner.run(["output"], {"input": x})
        expected = np.asarray(model(cr.tensor(x)).detach().numpy())
        assert got.dtype == expected.dtype
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)
    return proto


def f32(*shape: int) -> np.ndarray:
    return np.zeros(shape, dtype=np.float32)


# ---------------------------------------------------------------- layers


ACTIVATIONS = [
    nn.ReLU(),
    nn.LeakyReLU(),
    nn.LeakyReLU(0.3),
    nn.ELU(),
    nn.ELU(0.5),
    nn.Sigmoid(),
    nn.Tanh(),
    nn.GELU(),
    nn.GELU("tanh"),
    nn.SiLU(),
    nn.Softplus(),
    nn.Softplus(beta=2.0, threshold=1.5),
    nn.Softplus(beta=0.5, threshold=30.0),
    nn.Softmax(dim=1),
    nn.Softmax(dim=-1),
    nn.Softmax(),
    nn.LogSoftmax(dim=1),
    nn.LogSoftmax(),
    nn.Dropout(0.4),
    nn.Identity(),
]


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=repr)
def test_each_activation_matches(activation: nn.Module, tmp_path: Path) -> None:
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 7), activation, nn.Linear(7, 4))
    check_export(model, f32(2, 5), tmp_path)


@pytest.mark.parametrize("opset", [13, 17, 18, 20])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_across_opsets(opset: int, approximate: str, tmp_path: Path) -> None:
    cr.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 6), nn.GELU(approximate), nn.Linear(6, 2))
    proto = check_export(model, f32(2, 3), tmp_path, opset=opset)
    ops = {node.op_type for node in proto.graph.node}
    assert ("Gelu" in ops) == (opset >= 20)
    if opset < 20:
        assert ("Erf" in ops) == (approximate == "none")


def test_softplus_follows_the_threshold(tmp_path: Path) -> None:
    """Where βx > threshold the output is x itself, else log(1 + e^(βx))/β."""
    model = nn.Sequential(nn.Softplus(beta=2.0, threshold=4.0))
    path = tmp_path / "softplus.onnx"
    cx.export(model, f32(2, 9), path)
    x = np.array([[-50, -3, 0, 1.9, 2.0, 2.0001, 2.1, 10, 60]], dtype=np.float32)
    (got,) = session(path).run(None, {"input": x})
    np.testing.assert_allclose(got, model(cr.tensor(x)).detach().numpy(), rtol=1e-6, atol=1e-7)
    assert got[0, -1] == 60 and got[0, -2] == 10


def test_batchnorm_eval_uses_running_statistics(tmp_path: Path) -> None:
    cr.manual_seed(2)
    model = trained(nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU()), f32(2, 4))
    bn = model[1]
    assert not np.allclose(bn.running_mean.detach().numpy(), 0)
    bn.weight.data[:] = np.linspace(0.5, 2, 6)
    bn.bias.data[:] = np.linspace(-1, 1, 6)
    proto = check_export(model, f32(2, 4), tmp_path)
    assert "BatchNormalization" in {node.op_type for node in proto.graph.node}


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.BatchNorm1d(6, affine=False),
        lambda: nn.BatchNorm1d(6, bias=False),
        lambda: nn.BatchNorm1d(6, eps=1e-2, momentum=None),
        lambda: nn.BatchNorm1d(6, track_running_stats=False),
        lambda: nn.BatchNorm1d(6, affine=False, track_running_stats=False),
    ],
    ids=["no-affine", "no-bias", "eps", "batch-stats", "batch-stats-no-affine"],
)
@pytest.mark.parametrize("opset", [17, 18])
def test_batchnorm_variants(make: Any, opset: int, tmp_path: Path) -> None:
    cr.manual_seed(3)
    model = trained(nn.Sequential(nn.Linear(4, 6), make(), nn.Tanh()), f32(2, 4))
    if model[1].weight is not None:
        model[1].weight.data[:] = np.linspace(0.5, 2, 6)
    # batch statistics need more than one row per channel: batches of 3 and 17 only
    if not model[1].track_running_stats:
        path = tmp_path / "bn.onnx"
        cx.export(model, f32(2, 4), path, opset=opset)
        runner = session(path)
        for n in (3, 17):
            x = inputs_like(f32(2, 4), n, seed=n)
            (got,) = runner.run(None, {"input": x})
            np.testing.assert_allclose(
                got, model(cr.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5
            )
        return
    check_export(model, f32(2, 4), tmp_path, opset=opset)


def test_batchnorm_on_three_dimensional_input(tmp_path: Path) -> None:
    cr.manual_seed(4)
    model = trained(nn.Sequential(nn.BatchNorm1d(3), nn.Flatten(), nn.Linear(15, 2)), f32(2, 3, 5))
    check_export(model, f32(2, 3, 5), tmp_path)


@pytest.mark.parametrize(
    ("flatten", "shape"),
    [
        (nn.Flatten(), (2, 3, 4)),
        (nn.Flatten(), (2, 2, 3, 2)),
        (nn.Flatten(2, 3), (2, 3, 2, 2)),
        (nn.Flatten(1, 2), (2, 2, 3, 2)),
        (nn.Flatten(-2, -1), (2, 3, 2, 2)),
        (nn.Flatten(), (2, 12)),
    ],
    ids=repr,
)
def test_flatten(flatten: nn.Flatten, shape: tuple[int, ...], tmp_path: Path) -> None:
    cr.manual_seed(5)
    width = int(flatten(cr.tensor(np.zeros(shape, np.float32))).shape[-1])
    model = nn.Sequential(flatten, nn.Linear(width, 3), nn.Softmax(dim=-1))
    check_export(model, np.zeros(shape, np.float32), tmp_path)


def test_flatten_of_the_batch_dimension(tmp_path: Path) -> None:
    """Flatten(0, -1) merges the batch in: the output's size is then left unknown."""
    cr.manual_seed(5)
    model = nn.Sequential(nn.Linear(3, 4), nn.Flatten(0, -1), nn.Softmax(dim=0))
    path = tmp_path / "merged.onnx"
    cx.export(model, f32(2, 3), path)
    output = onnx.load(str(path)).graph.output[0].type.tensor_type.shape.dim
    assert len(output) == 1 and not output[0].dim_param and not output[0].dim_value
    runner = session(path)
    for n in BATCHES:
        x = inputs_like(f32(2, 3), n, seed=n)
        (got,) = runner.run(None, {"input": x})
        np.testing.assert_allclose(got, model(cr.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_linear_on_three_dimensional_input_uses_matmul(tmp_path: Path) -> None:
    cr.manual_seed(6)
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3, bias=False), nn.Softmax())
    proto = check_export(model, f32(2, 6, 4), tmp_path)
    ops = [node.op_type for node in proto.graph.node]
    assert "MatMul" in ops and "Gemm" not in ops


def test_linear_on_two_dimensional_input_uses_gemm(tmp_path: Path) -> None:
    cr.manual_seed(6)
    model = nn.Sequential(nn.Linear(4, 5), nn.Linear(5, 3, bias=False))
    proto = check_export(model, f32(2, 4), tmp_path)
    gemms = [node for node in proto.graph.node if node.op_type == "Gemm"]
    assert len(gemms) == 2
    assert all(attr.name == "transB" and attr.i == 1 for node in gemms for attr in node.attribute)
    weights = {init.name: init for init in proto.graph.initializer}
    assert tuple(weights["0.weight"].dims) == (5, 4)  # (out, in), as in the state_dict


def test_embedding_gathers_rows(tmp_path: Path) -> None:
    cr.manual_seed(7)
    model = nn.Sequential(
        nn.Embedding(11, 4, padding_idx=0),
        nn.Flatten(),
        nn.Linear(12, 5),
        nn.GELU(),
        nn.Linear(5, 2),
    )
    example = np.full((2, 3), 10, dtype=np.int64)
    proto = check_export(model, example, tmp_path)
    assert proto.graph.node[0].op_type == "Gather"
    elem = proto.graph.input[0].type.tensor_type.elem_type
    assert elem == onnx.TensorProto.INT64


@pytest.mark.parametrize("opset", [13, 17])
def test_float64_model(opset: int, tmp_path: Path) -> None:
    cr.manual_seed(8)
    model = trained(
        nn.Sequential(
            nn.Linear(3, 8, dtype=cr.float64),
            nn.BatchNorm1d(8, dtype=cr.float64),
            nn.GELU("tanh"),
            nn.Softplus(beta=3.0),
            nn.Linear(8, 2, dtype=cr.float64),
            nn.LogSoftmax(dim=1),
        ),
        np.zeros((2, 3)),
    )
    proto = check_export(model, np.zeros((2, 3)), tmp_path, opset=opset, tol=1e-12)
    assert proto.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE


def test_nested_sequential_and_named_layers(tmp_path: Path) -> None:
    cr.manual_seed(9)
    inner = nn.Sequential(OrderedDict(fc=nn.Linear(6, 6), act=nn.SiLU(), drop=nn.Dropout(0.5)))
    model = nn.Sequential(nn.Linear(4, 6), nn.Sequential(inner, nn.ELU()), nn.Linear(6, 1))
    proto = check_export(model, f32(2, 4), tmp_path)
    names = {init.name for init in proto.graph.initializer}
    assert {"0.weight", "1.0.fc.weight", "1.0.fc.bias", "2.bias"} <= names


def test_a_big_mixed_model(tmp_path: Path) -> None:
    cr.manual_seed(10)
    model = trained(
        nn.Sequential(
            nn.Flatten(),
            nn.Linear(12, 16),
            nn.BatchNorm1d(16),
            nn.LeakyReLU(0.1),
            nn.Dropout(0.2),
            nn.Linear(16, 16),
            nn.Softplus(beta=1.5, threshold=2.0),
            nn.Sequential(nn.Linear(16, 8), nn.Tanh()),
            nn.Linear(8, 5),
            nn.Softmax(dim=1),
        ),
        f32(2, 3, 4),
    )
    check_export(model, f32(2, 3, 4), tmp_path)


# ---------------------------------------------------------------- the file and the API


def test_fixed_batch_and_names(tmp_path: Path) -> None:
    cr.manual_seed(11)
    model = nn.Sequential(nn.Linear(3, 2))
    path = tmp_path / "fixed.onnx"
    cx.export(model, f32(4, 3), path, dynamic_batch=False, input_name="x", output_name="y")
    proto = onnx.load(str(path))
    assert [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim] == [4, 3]
    assert [d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim] == [4, 2]
    runner = session(path)
    assert [i.name for i in runner.get_inputs()] == ["x"]
    x = inputs_like(f32(4, 3), 4, 0)
    np.testing.assert_allclose(
        runner.run(["y"], {"x": x})[0], model(cr.tensor(x)).detach().numpy(), 1e-6
    )


def test_output_batch_dim_is_free(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Linear(3, 2))
    path = tmp_path / "m.onnx"
    cx.export(model, cr.zeros(5, 3), path)  # a Tensor example works too
    output = onnx.load(str(path)).graph.output[0].type.tensor_type.shape.dim
    assert output[0].dim_param == "batch" and output[1].dim_value == 2


def test_export_leaves_the_model_as_it_was(tmp_path: Path) -> None:
    cr.manual_seed(12)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.5))
    model.train()
    model[2].eval()  # a mixed state is kept too
    before = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    cx.export(model, f32(8, 3), tmp_path / "m.onnx")
    assert model.training and model[1].training and not model[2].training
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.detach().numpy(), before[key])


def test_unsupported_layer_is_named(tmp_path: Path) -> None:
    class MyLayer(nn.Module):
        def forward(self, x: Any) -> Any:
            return x * 2

    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2), MyLayer())
    with pytest.raises(ValueError, match=r"cannot export layer 3 \(MyLayer\) to ONNX") as info:
        cx.export(model, f32(1, 2), tmp_path / "m.onnx")
    assert "supported layers are Sequential, Linear, ReLU" in str(info.value)
    assert not (tmp_path / "m.onnx").exists()

    class MyLinear(nn.Linear):  # a subclass may compute something else: refused
        pass

    nested = nn.Sequential(nn.Sequential(nn.ReLU(), MyLinear(2, 2)))
    with pytest.raises(ValueError, match=r"layer 0\.1 \(MyLinear\)"):
        cx.export(nested, f32(1, 2), tmp_path / "m.onnx")
    with pytest.raises(ValueError, match=r"\(ModuleList\)"):
        cx.export(nn.Sequential(nn.ModuleList([nn.ReLU()])), f32(1, 2), tmp_path / "m.onnx")
    with pytest.raises(ValueError, match=r"the model \(MSELoss\)"):
        cx.export(nn.MSELoss(), f32(1, 2), tmp_path / "m.onnx")


def test_a_single_layer_exports(tmp_path: Path) -> None:
    cr.manual_seed(13)
    check_export(nn.Linear(3, 2), f32(2, 3), tmp_path)


@pytest.mark.parametrize("opset", [12, 10_000, "17", True])
def test_bad_opset(opset: Any, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="opset must be an integer from 13"):
        cx.export(nn.Sequential(nn.ReLU()), f32(1, 2), tmp_path / "m.onnx", opset=opset)


def test_bad_example_and_names(tmp_path: Path) -> None:
    model = nn.Sequential(nn.ReLU())
    with pytest.raises(TypeError, match="float or integer"):
        cx.export(model, np.array([["a"]]), tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="batch dimension"):
        cx.export(model, np.float32(1.0), tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="different non-empty"):
        cx.export(model, f32(1, 2), tmp_path / "m.onnx", input_name="x", output_name="x")


def test_failed_export_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    path.write_bytes(b"previous")
    with pytest.raises(ValueError):
        cx.export(nn.Sequential(nn.Linear(3, 2)), f32(1, 4), path)  # 4 features for 3
    assert path.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def test_missing_onnx_gives_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r'pip install "chainrule\[onnx\]"'):
        cx.export(nn.Sequential(nn.ReLU()), f32(1, 2), tmp_path / "m.onnx")


# ---------------------------------------------------------------- standardisation


@pytest.mark.parametrize("opset", [13, 17])
def test_standardize_builds_the_scaling_into_the_graph(tmp_path: Path, opset: int) -> None:
    """`standardize=(mean, scale)` puts (x - mean) / scale before the first layer, so the
    file takes raw features (what `chainrule export` does with a run's scaler)."""
    cr.manual_seed(14)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 2))
    mean = np.array([10.0, -4.0, 0.5], dtype=np.float32)
    scale = np.array([3.0, 1.0, 0.25], dtype=np.float32)
    path = cx.export(model, f32(2, 3), tmp_path / "raw.onnx", opset=opset,
                     standardize=(mean, scale))  # fmt: skip
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    raw = np.random.default_rng(0).standard_normal((9, 3)) * scale + mean + 0.1
    z = ((raw - mean) / scale).astype(np.float32)
    expected = model.eval()(cr.tensor(z)).detach().numpy()
    for n in (1, 4, 9):
        (got,) = session(path).run(None, {"input": raw[:n].astype(np.float32)})
        np.testing.assert_allclose(got, expected[:n], rtol=1e-5, atol=1e-5)
    plain = cx.export(model, f32(2, 3), tmp_path / "standardized.onnx")
    ops = [node.op_type for node in onnx.load(str(plain)).graph.node]
    assert "Sub" not in ops and "Div" not in ops


def test_export_run_moved_to_the_command_line() -> None:
    with pytest.raises(AttributeError, match=r"chainrule\.cli\.export_run"):
        cx.export_run  # noqa: B018 - the attribute access is the test
