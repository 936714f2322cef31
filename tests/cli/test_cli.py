"""The `chainrule` command end to end on small data, its errors, and resume after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import chainrule
from chainrule.cli import main

SMALL = ["--samples", "300", "--epochs", "3", "--no-progress", "--seed", "1"]


def run_cli(*args: str) -> int:
    return main(list(args))


@pytest.fixture(scope="module")
def xor_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "xor"
    code = run_cli("train", "--data", "xor", "--hidden", "8,8", "--lr", "0.02", *SMALL,
                   "--out", str(out))  # fmt: skip
    assert code == 0
    return out


def test_train_writes_the_run_folder(xor_run: Path) -> None:
    for name in ("model.safetensors", "history.json", "metrics.json", "history.png",
                 "confusion_matrix.png", "decision_boundary.png"):  # fmt: skip
        assert (xor_run / name).stat().st_size > 0, name
    metrics = json.loads((xor_run / "metrics.json").read_text())
    assert {"test_loss", "test_accuracy", "test_f1"} <= set(metrics)
    assert 0.5 < metrics["test_accuracy"] <= 1.0
    history = json.loads((xor_run / "history.json").read_text())
    assert len(history["history"]["loss"]) == 3
    assert history["history"]["loss"][-1] < history["history"]["loss"][0]


def test_regression_run_writes_regression_metrics(tmp_path: Path) -> None:
    out = tmp_path / "plane"
    assert run_cli("train", "--data", "reg_plane", "--out", str(out), *SMALL) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"test_mse", "test_mae", "test_r2", "test_loss"} <= set(metrics)
    assert (out / "predictions.png").stat().st_size > 0


def test_train_without_matplotlib_trains_and_says_no_plots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    out = tmp_path / "plain"
    assert run_cli("train", "--data", "xor", "--out", str(out), *SMALL) == 0
    assert "note: no plots written" in capsys.readouterr().err
    assert (out / "metrics.json").exists() and not list(out.glob("*.png"))


def test_evaluate_summary_and_datasets(xor_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = json.loads((xor_run / "metrics.json").read_text())
    assert run_cli("evaluate", str(xor_run)) == 0
    shown = capsys.readouterr().out
    assert f"{saved['test_accuracy']:.4f}" in shown
    assert run_cli("summary", str(xor_run)) == 0
    shown = capsys.readouterr().out
    assert "Linear" in shown and "Total params: 114" in shown  # (2*8+8) + (8*8+8) + (8*2+2)
    assert run_cli("datasets") == 0
    shown = capsys.readouterr().out
    for name in ("circle", "xor", "spiral", "digits", "csv:PATH:TARGET"):
        assert name in shown


def test_predict_from_csv(xor_run: Path, tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("x1,x2\n3,3\n-3,3\n3,-3\n-3,-3\n")
    output = tmp_path / "predictions.csv"
    assert run_cli("predict", str(xor_run), "--input", str(rows), "--output", str(output)) == 0
    lines = output.read_text().splitlines()
    assert lines[0] == "prediction,p_0,p_1"
    assert len(lines) == 5
    probabilities = np.array([[float(v) for v in line.split(",")[1:]] for line in lines[1:]])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["train", "--data", "nope"], "unknown dataset 'nope'"),
        (["train", "--hidden", "64,x"], "malformed --hidden"),
        (["train", "--lr", "-1"], "must be > 0"),
        (["train", "--epochs", "0"], "must be >= 1"),
        (["evaluate", "/nonexistent/run"], "does not exist"),
        (["predict", "/nonexistent/run", "--input", "x.csv"], "does not exist"),
        (["train", "--data", "csv:/nonexistent.csv:y"], "nonexistent.csv"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    args: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(*args) == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_bad_csv_cell_names_row_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "table.csv"
    data.write_text("a,b,label\n1,2,0\n3,oops,1\n")
    assert run_cli("train", "--data", f"csv:{data}:label", "--out", str(tmp_path / "r")) == 2
    err = capsys.readouterr().err
    assert "row 3" in err and "'b'" in err or "b" in err


def _train_command(out: Path) -> list[str]:
    return [sys.executable, "-m", "chainrule.cli", "train", "--data", "spiral", "--samples",
            "12000", "--batch-size", "4", "--epochs", "4", "--hidden", "16,16", "--lr", "0.003",
            "--no-plots", "--no-progress", "--dropout", "0.1", "--out", str(out)]  # fmt: skip


def _weights(run: Path) -> dict[str, np.ndarray]:
    saved = chainrule.load(run / "model.safetensors")
    return {k: v.numpy() for k, v in saved.state_dict.items()}


def test_resume_after_sigkill_gives_the_same_weights(tmp_path: Path) -> None:
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    subprocess.run(_train_command(whole), check=True, capture_output=True)

    process = subprocess.Popen(_train_command(killed), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 120
    while not (killed / "model.safetensors").exists():  # the first epoch's checkpoint
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.3)  # well into the second epoch
    assert process.poll() is None, "the run finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    epoch_at_kill = chainrule.load(killed / "model.safetensors").epoch
    assert epoch_at_kill < 3

    resumed = subprocess.run(
        [
            sys.executable,
            "-m",
            "chainrule.cli",
            "train",
            "--resume",
            str(killed),
            "--no-progress",
            "--no-plots",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        check=True,
    )
    assert "final metrics" in resumed.stdout
    a, b = _weights(whole), _weights(killed)
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key], b[key]), key
    history = json.loads((killed / "history.json").read_text())
    assert history["epoch"] == [0, 1, 2, 3]


def test_export_onnx_matches_the_run(tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    out = tmp_path / "run"
    assert run_cli("train", "--data", "xor", "--hidden", "8", "--export-onnx", "--no-plots",
                   "--out", str(out), *SMALL) == 0  # fmt: skip
    assert run_cli("export", str(out), str(tmp_path / "again.onnx")) == 0
    rows = tmp_path / "rows.csv"
    rows.write_text("x1,x2\n3,3\n-3,3\n0.5,-2\n")
    from chainrule.cli import predict_file

    _, predicted = predict_file(out, rows)
    features = np.array([[3, 3], [-3, 3], [0.5, -2]], dtype=np.float32)
    for path in (out / "model.onnx", tmp_path / "again.onnx"):
        session = ort.InferenceSession(str(path))
        logits = session.run(None, {session.get_inputs()[0].name: features})[0]
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        np.testing.assert_allclose(
            shifted / shifted.sum(axis=1, keepdims=True), predicted[:, 1:], atol=1e-5
        )
