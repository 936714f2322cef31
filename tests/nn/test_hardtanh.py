"""nn.Hardtanh end to end: added as one declaration (docs/architecture.md's worked example),
it reaches the CLI, the playground, ONNX export and compile_step. Parity with torch and the
finite-difference check are in test_layers_parity, test_parity_ops and op_cases; the
registry's own checks (config, checkpoint size, ONNX, capture) in test_registry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import chainrule
from chainrule import nn, optim
from chainrule.cli import main


def test_cli_trains_with_hardtanh_and_exports_it(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["train", "--data", "xor", "--hidden", "16", "--activation", "hardtanh"]
    args += ["--lr", "0.02", "--samples", "400", "--epochs", "30", "--no-progress"]
    assert main([*args, "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.9  # XOR needs the nonlinearity: a linear model ~0.5
    model = chainrule.load(out / "model.safetensors").model
    assert [type(m) for m in model] == [nn.Linear, nn.Hardtanh, nn.Linear]
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from chainrule.cli import export_run

    path = export_run(out, tmp_path / "run.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).uniform(-6, 6, (9, 2)).astype(np.float32)
    assert session.run(None, {session.get_inputs()[0].name: x})[0].shape[0] == 9


def test_unknown_activation_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--activation", "swish"]) == 2
    err = capsys.readouterr().err.strip()
    assert "hardtanh" in err and len(err.splitlines()) == 1  # the choices: the registry's


def test_playground_offers_hardtanh() -> None:
    pytest.importorskip("fastapi")
    from chainrule.playground.messages import PlaygroundConfig, menus
    from chainrule.playground.session import Session

    served = menus()
    assert "hardtanh" in served["activations"]
    assert served["activation_labels"]["hardtanh"] == "Hardtanh"
    session = Session(PlaygroundConfig(dataset="xor", layers=[4], activations=["hardtanh"]))
    assert session.frame()["activations"] == ["hardtanh"]
    session.train_frame()


def test_compile_step_replays_hardtanh_like_the_eager_step() -> None:
    def build() -> nn.Sequential:
        chainrule.manual_seed(3)
        return nn.Sequential(nn.Linear(2, 8), nn.Hardtanh(-0.5, 0.5), nn.Linear(8, 2))

    captured, eager = build(), build()
    step = chainrule.compile_step(
        captured, nn.CrossEntropyLoss(), optim.SGD(captured.parameters(), lr=0.5)
    )
    eager_opt = optim.SGD(eager.parameters(), lr=0.5)
    rng = np.random.default_rng(0)
    x = chainrule.tensor(rng.standard_normal((16, 2)).astype(np.float32) * 2)
    y = chainrule.tensor(rng.integers(0, 2, 16))
    for _ in range(4):
        loss = step(x, y)
        eager_opt.zero_grad()
        eager_loss = nn.CrossEntropyLoss()(eager(x), y)
        eager_loss.backward()
        eager_opt.step()
        assert loss.item() == eager_loss.item()
    assert "Hardtanh" in step.code
