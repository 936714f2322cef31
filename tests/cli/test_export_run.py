"""chainrule.cli.export_run (and `chainrule export`): a run folder's model as ONNX, with the
run's standardisation built in, read through the same checks as every command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chainrule import nn
from chainrule.checkpoint import save
from chainrule.cli import RunConfig, RunFolderError, export_run, load_run, main, train_run
from chainrule.train import predict

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def session(path: Path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "moons"
    config = RunConfig(data="moons", hidden=(8, 4), activation="gelu", epochs=2, samples=120,
                       dropout=0.1, out=str(out))  # fmt: skip
    train_run(config, progress=False, plots=False)
    return out


def test_a_trained_run_exports_with_its_standardisation(run_dir: Path, tmp_path: Path) -> None:
    path = export_run(run_dir, tmp_path / "model.onnx")
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    saved, model, _ = load_run(run_dir)
    raw = np.random.default_rng(1).standard_normal((6, 2)) * 2
    z = ((raw - saved["scaler_mean"]) / saved["scaler_std"]).astype(np.float32)
    (got,) = session(path).run(None, {"input": raw.astype(np.float32)})
    np.testing.assert_allclose(got, predict(model, z), rtol=1e-5, atol=1e-5)

    plain = export_run(run_dir, tmp_path / "z.onnx", include_standardization=False)
    (got,) = session(plain).run(None, {"input": z})
    np.testing.assert_allclose(got, predict(model, z), rtol=1e-5, atol=1e-5)
    first = [node.op_type for node in onnx.load(str(path)).graph.node][:2]
    assert first == ["Sub", "Div"]  # the standardisation, then the model (GELU has a Div too)
    assert onnx.load(str(plain)).graph.node[0].op_type == "Gemm"


def test_the_command_writes_the_same_file(run_dir: Path, tmp_path: Path) -> None:
    assert main(["export", str(run_dir), str(tmp_path / "cli.onnx")]) == 0
    export_run(run_dir, tmp_path / "python.onnx")
    assert (tmp_path / "cli.onnx").read_bytes() == (tmp_path / "python.onnx").read_bytes()


def test_what_is_not_a_run_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="run folder"):
        export_run(tmp_path, tmp_path / "m.onnx")
    # a model checkpoint that is not a run: refused by the run checks, not exported blindly
    (tmp_path / "plain").mkdir()
    save(nn.Sequential(nn.Linear(4, 3), nn.Sigmoid()), tmp_path / "plain" / "model.safetensors")
    with pytest.raises(RunFolderError, match="not a chainrule training run checkpoint"):
        export_run(tmp_path / "plain", tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
