"""A run folder is data from anywhere (issue 14): hostile metadata, paths it names, faults
while writing it, two writers at once and numbers that cannot be right all end in one line
on stderr and exit status 2, never a traceback, a hang or a file read on the folder's say.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chainrule
from chainrule import checkpoint
from chainrule.cli import RunFolderError, export_run, main

TINY = ["--samples", "120", "--epochs", "2", "--no-progress", "--no-plots", "--seed", "3"]
ENV = {**os.environ, "PYTHONPATH": str(Path(chainrule.__file__).parents[1])}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Exit status and stderr of `chainrule ARGS` (in this process)."""
    code = main(list(args))
    err = capsys.readouterr().err
    return code, err


def one_line_error(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if not line.startswith("note: ")]
    assert len(lines) == 1 and lines[0].startswith("chainrule"), err
    assert "Traceback" not in err and "Warning" not in err
    for word in words:
        assert word in lines[0], (word, lines[0])


@pytest.fixture(scope="module")
def good_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "xor"
    assert main(["train", "--data", "xor", "--hidden", "4", *TINY, "--out", str(out)]) == 0
    return out


@pytest.fixture
def run_copy(good_run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(good_run, copy)
    return copy


def rewrite(folder: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Re-save the folder's checkpoint with `change` applied to its entries (a hostile
    author can write any JSON-able entry; chainrule.save writes it faithfully)."""
    path = folder / "model.safetensors"
    saved = checkpoint.load(path)
    entries = dict(saved.entries)
    entries["model"] = saved.model
    change(entries)
    checkpoint.save(entries, path)


def set_entry(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(entries: dict[str, Any]) -> None:
        if value is DELETE:
            del entries[key]
        else:
            entries[key] = value

    return change


def set_setting(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(entries: dict[str, Any]) -> None:
        entries["run"] = {**entries["run"], key: value}

    return change


DELETE = object()


# ---------------------------------------------------------------------- class 1
@pytest.fixture
def csv_run(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2))
    table = tmp_path / "table.csv"
    rows = [f"{a:.4f},{b:.4f},{int(a + b > 0)}" for a, b in X]
    table.write_text("a,b,label\n" + "\n".join(rows) + "\n")
    out = tmp_path / "csvrun"
    assert main(["train", "--data", f"csv:{table}:label", *TINY, "--out", str(out)]) == 0
    return out, table


@pytest.mark.parametrize("command", ["evaluate", "resume"])
def test_a_run_folder_never_chooses_a_file_to_read(
    run_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, command: str,
) -> None:  # fmt: skip
    """Metadata saying csv:/etc/passwd:x, csv:/dev/zero:x or a FIFO used to be opened (and
    print a line of the file, read until MemoryError, or hang). Now nothing is opened."""
    secret = tmp_path / "secret.csv"
    secret.write_text("SECRET_HEADER,x\n1,2\n")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    opened: list[Any] = []
    monkeypatch.setattr("chainrule.data.tabular.read_regular",
                        lambda *a, **k: opened.append(a) or b"")  # fmt: skip
    for target in (secret, Path("/dev/zero"), fifo, Path("/etc/passwd")):
        rewrite(run_copy, set_setting("data", f"csv:{target}:x"))
        args = ["evaluate", str(run_copy)] if command == "evaluate" else [
            "train", "--resume", str(run_copy), "--epochs", "3", "--no-progress"]  # fmt: skip
        code, err = run(capsys, *args)
        one_line_error(code, err, "names files", "--data")
        assert "SECRET_HEADER" not in err and not opened


def test_a_file_source_named_on_the_command_line_is_read(
    csv_run: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out, table = csv_run
    code, err = run(capsys, "evaluate", str(out))
    one_line_error(code, err, "names files")
    assert main(["evaluate", str(out), "--data", f"csv:{table}:label"]) == 0
    assert "test_accuracy" in capsys.readouterr().out
    assert main(["train", "--resume", str(out), "--epochs", "3", "--no-progress", "--no-plots",
                 "--data", f"csv:{table}:label"]) == 0  # fmt: skip


def test_a_named_fifo_or_device_is_refused_without_hanging(tmp_path: Path) -> None:
    """In a child process with a timeout: a loader that opened the FIFO would block."""
    fifo = tmp_path / "data.csv"
    os.mkfifo(fifo)
    for spec in (f"csv:{fifo}:y", "csv:/dev/zero:y", f"csv:{tmp_path}:y", f"mnist:{fifo}"):
        done = subprocess.run(
            [sys.executable, "-m", "chainrule.cli", "train", "--data", spec, *TINY,
             "--out", str(tmp_path / "out")],
            capture_output=True, text=True, timeout=120, env=ENV,
        )  # fmt: skip
        one_line_error(done.returncode, done.stderr)


# ---------------------------------------------------------------------- classes 2 and 4
MALFORMED: dict[str, Callable[[dict[str, Any]], None]] = {
    "feature_names-int": set_entry("feature_names", 5),
    "task-missing": set_entry("task", DELETE),
    "task-other": set_entry("task", "clustering"),
    "epoch-text": set_entry("epoch", "x"),
    "epoch-beyond-run": set_entry("epoch", 7),
    "run-string": set_entry("run", "fast"),
    "lr-text": set_setting("lr", "fast"),
    "lr-inf": set_setting("lr", float("inf")),
    "class_names-int": set_entry("class_names", 5),
    "class_names-wrong-count": set_entry("class_names", ["a"]),
    "history-list": set_entry("history", [1, 2]),
    "history-ragged": set_entry("history", {"epoch": [0, 1], "history": {"loss": [1.0]}}),
    "samples-1e9": set_setting("samples", 10**9),
    "epochs-1e9": set_setting("epochs", 10**9),
    "hidden-huge": set_setting("hidden", [100_000, 100_000]),
    "hidden-bools": set_setting("hidden", [True]),
    "noise-nan": set_setting("noise", float("nan")),
    "seed-huge": set_setting("seed", 2**70),
    "num_classes-huge": set_entry("num_classes", 10**9),
    "scaler-wrong-shape": set_entry("scaler_mean", np.zeros(3, np.float32)),
    "scaler-nan": set_entry("scaler_std", np.array([np.nan, 1.0], np.float32)),
    "rng-garbage": set_entry("rng", {"bit_generator": "PCG64", "state": "x"}),
    "loader_rng-other": set_entry("loader_rng", {"bit_generator": "MT19937"}),
    "feature_names-too-many": set_entry("feature_names", ["f"] * 70_000),
    "data-not-text": set_setting("data", ["xor"]),
    "data-terminal-escape": set_setting("data", "xor\x1b]0;owned\x07"),
    "feature_names-escape": set_entry("feature_names", ["\x1b[2J", "b"]),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_run_metadata_is_one_line(
    run_copy: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    rewrite(run_copy, MALFORMED[name])
    for args in (["evaluate", str(run_copy)], ["summary", str(run_copy)],
                 ["export", str(run_copy), str(run_copy / "m.onnx")],
                 ["train", "--resume", str(run_copy), "--no-progress"]):  # fmt: skip
        code, err = run(capsys, *args)
        one_line_error(code, err, "model.safetensors")
    # from Python, export_run reads the folder as the command does (run_schema's checks)
    with pytest.raises(RunFolderError) as caught:
        export_run(run_copy, run_copy / "m.onnx")
    assert "\n" not in str(caught.value) and "model.safetensors" in str(caught.value)
    assert not (run_copy / "m.onnx").exists()


def test_a_model_that_does_not_fit_the_run_is_refused(
    run_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rewrite(run_copy, set_entry("model", chainrule.nn.Sequential(chainrule.nn.Linear(3, 2))))
    code, err = run(capsys, "evaluate", str(run_copy))
    one_line_error(code, err, "does not take the run's 2 features")


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--hidden", "100000,100000", "1..65536"),
        ("--hidden", "60000,60000", "parameters, over the limit"),
        ("--hidden", ",".join(["4"] * 65), "at most 64"),
        ("--samples", str(10**8), "samples must lie in 1..1000000"),
        ("--epochs", str(10**9), "epochs must lie in"),
        ("--batch-size", str(10**6), "batch_size must lie in"),
    ],
)
def test_sizes_are_checked_before_allocating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, words: str
) -> None:
    """These used to end in MemoryError (or run for ever); now a limit says so up front."""
    args = ["train", "--data", "xor", *TINY, "--out", str(tmp_path / "o"), option, value]
    code, err = run(capsys, *args)
    one_line_error(code, err, words)


def test_out_naming_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "file"
    target.write_text("keep me")
    code, err = run(capsys, "train", "--data", "xor", *TINY, "--out", str(target))
    one_line_error(code, err, "is a file, not a run folder")
    assert target.read_text() == "keep me"


def test_disk_full_during_a_save(
    run_copy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC from the writer: one line naming the file, the old checkpoint intact, no .tmp."""
    before = (run_copy / "model.safetensors").read_bytes()

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("chainrule.files.os.fsync", full)
    code, err = run(capsys, "train", "--resume", str(run_copy), "--epochs", "4", "--no-progress")
    one_line_error(code, err, "model.safetensors", "No space left on device")
    assert (run_copy / "model.safetensors").read_bytes() == before
    assert not [p for p in run_copy.iterdir() if p.name.endswith(".tmp")]


@contextlib.contextmanager
def mounted(folder: Path, options: list[str]) -> Iterator[Path]:
    """`mount OPTIONS folder` for the block (root only: skipped elsewhere)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a filesystem")
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", *options, str(folder)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_real_full_disk(
    good_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 96 KiB tmpfs: the run's first checkpoint does not fit."""
    with mounted(tmp_path / "small", ["-t", "tmpfs", "-o", "size=96k", "tmpfs"]) as small:
        out = small / "run"
        args = ["train", "--data", "digits", "--hidden", "256", *TINY, "--out", str(out)]
        code, err = run(capsys, *args)
        one_line_error(code, err, "No space left on device", "model.safetensors")
        assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_a_read_only_output_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A read-only bind mount (root ignores chmod, so a permission bit would not do)."""
    source = tmp_path / "source"
    source.mkdir()
    with mounted(tmp_path / "ro", ["--bind", "-o", "ro", str(source)]) as ro:
        if os.access(ro, os.W_OK) and _writable(ro):
            pytest.skip("the bind mount is not read-only here")
        for out in (ro, ro / "sub"):
            code, err = run(capsys, "train", "--data", "xor", *TINY, "--out", str(out))
            one_line_error(code, err, "Read-only file system")


def _writable(folder: Path) -> bool:
    try:
        (folder / ".probe").touch()
    except OSError:
        return False
    (folder / ".probe").unlink()
    return True


# ---------------------------------------------------------------------- class 5
HOLD = """
import sys, time
from chainrule.cli.run_folder import claim
with claim(sys.argv[1]):
    print("holding", flush=True)
    time.sleep(600)
"""


def test_a_folder_in_use_is_refused_and_freed_when_its_writer_dies(
    good_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "busy"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE,
                              text=True, env=ENV)  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        code, err = run(capsys, "train", "--data", "xor", *TINY, "--out", str(out))
        one_line_error(code, err, "is in use by process", str(holder.pid))
        assert not (out / "model.safetensors").exists()
    finally:
        holder.kill()
        holder.wait()
    # SIGKILL released the lock: the next writer goes ahead
    assert main(["train", "--data", "xor", *TINY, "--out", str(out)]) == 0


def test_two_concurrent_trainings_never_mix(tmp_path: Path) -> None:
    """Issue 14's trial: two `train --out SAME` at once. One runs, the other is refused
    (or runs after it); the folder ends as one run: its model's history is history.json."""
    out = tmp_path / "same"
    args = ["train", "--data", "spiral", "--samples", "2000", "--epochs", "4", "--no-progress",
            "--no-plots", "--out", str(out)]  # fmt: skip
    procs = [
        subprocess.Popen([sys.executable, "-m", "chainrule.cli", *args, "--seed", str(seed)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
        for seed in (1, 2)
    ]  # fmt: skip
    results = [(p.wait(timeout=300), p.stderr.read() if p.stderr else "") for p in procs]
    assert sorted(code for code, _ in results) in ([0, 0], [0, 2]), results
    for code, err in results:
        if code == 2:
            assert "in use by process" in err
    saved = checkpoint.load(out / "model.safetensors")
    history = json.loads((out / "history.json").read_text())
    assert history == json.loads(json.dumps(saved["history"]))


def diverging_csv(tmp_path: Path) -> Path:
    """Regression targets of 1e20: MSE overflows float32 at the very first step."""
    rng = np.random.default_rng(0)
    rows = [f"{a:.3f},{b:.3f},{1e20 * (a + b):.6g}" for a, b in rng.normal(size=(80, 2))]
    table = tmp_path / "huge.csv"
    table.write_text("a,b,y\n" + "\n".join(rows) + "\n")
    return table


def test_a_diverged_run_says_so_and_leaves_no_old_results(
    good_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reuse"
    shutil.copytree(good_run, out)
    table = diverging_csv(tmp_path)
    code, err = run(capsys, "train", "--data", f"csv:{table}:y", *TINY, "--out", str(out))
    one_line_error(code, err, "training did not finish", "TerminateOnNaN",
                   "no model was saved")  # fmt: skip
    names = {p.name for p in out.iterdir()}
    assert "model.safetensors" not in names and "metrics.json" not in names, names
    history = json.loads((out / "history.json").read_text())
    assert history["epoch"] == [] and "TerminateOnNaN" in history["stopped_reason"]


def test_every_json_file_of_a_run_is_strict(good_run: Path) -> None:
    def constant(name: str) -> Any:
        raise ValueError(name)

    for path in good_run.glob("*.json"):
        json.loads(path.read_text(), parse_constant=constant)
    from chainrule.files import atomic_write_json, read_json

    target = good_run.parent / "nan.json"
    atomic_write_json(target, {"loss": float("nan"), "x": [float("inf"), np.float32(1.5)]})
    assert json.loads(target.read_text(), parse_constant=constant) == {
        "loss": None, "x": [None, 1.5]}  # fmt: skip
    target.write_text('{"loss": NaN}')
    with pytest.raises(ValueError, match="not strict JSON"):
        read_json(target, 1000)


def test_orphan_temporaries_are_cleaned_on_resume(
    run_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orphans = [run_copy / ".model.safetensors.k2j4_x.tmp", run_copy / ".history.json.abc.tmp"]
    for orphan in orphans:
        orphan.write_bytes(b"half a checkpoint")
    assert main(["train", "--resume", str(run_copy), "--epochs", "3", "--no-progress",
                 "--no-plots"]) == 0  # fmt: skip
    assert not any(orphan.exists() for orphan in orphans)


# ---------------------------------------------------------------------- class 8
@pytest.mark.parametrize(
    ("option", "value"),
    [("--lr", "inf"), ("--lr", "nan"), ("--lr", "-1"), ("--weight-decay", "inf"),
     ("--weight-decay", "-0.1"), ("--noise", "nan"), ("--noise", "-1"), ("--noise", "1e300"),
     ("--dropout", "nan"), ("--dropout", "1"), ("--test-fraction", "nan"),
     ("--val-fraction", "inf"), ("--lr", "1e300")],
)  # fmt: skip
def test_numbers_that_cannot_be_right(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    code, err = run(capsys, "train", "--data", "xor", *TINY, "--out", str(tmp_path / "o"),
                    option, value)  # fmt: skip
    one_line_error(code, err)
    assert not (tmp_path / "o").exists()


def test_a_csv_of_only_the_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "y.csv"
    table.write_text("y\n1\n0\n1\n0\n")
    code, err = run(capsys, "train", "--data", f"csv:{table}:y", *TINY, "--out",
                    str(tmp_path / "o"))  # fmt: skip
    one_line_error(code, err, "no feature columns")


def _diverge(X: np.ndarray, y: np.ndarray, model: Any = None) -> str:
    chainrule.manual_seed(0)
    model = model or chainrule.nn.Sequential(chainrule.nn.Linear(X.shape[1], 1))
    optimizer = chainrule.optim.SGD(model.parameters(), lr=0.01)
    with np.errstate(all="ignore"):
        history = chainrule.train.fit(model, chainrule.nn.MSELoss(), optimizer, (X, y),
                                      epochs=2, batch_size=16, progress=False)  # fmt: skip
    assert history.stopped_reason is not None
    return history.stopped_reason


def test_terminate_on_nan_names_the_cause_before_blaming_the_learning_rate() -> None:
    """Issue 14, class 8: a NaN weight before training, 1e30 inputs and 1e20 targets each
    used to get "the learning rate may be too high"."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y = X.sum(axis=1, keepdims=True)

    broken = chainrule.nn.Sequential(chainrule.nn.Linear(3, 1))
    broken[0].weight.detach().numpy()[0, 1] = np.nan
    reason = _diverge(X, y, broken)
    assert "before training, the weight '0.weight'" in reason and "holds nan" in reason
    assert "Nothing was trained" in reason and "--lr" not in reason

    huge = X * np.float32(1e30)
    reason = _diverge(huge, y)
    # the largest |input| of the batch that diverged (which batch that is follows the seeded
    # shuffle): a value of the data, at least 1e30, at most the data's largest
    reached = re.search(r"inputs reach ([0-9.e+]+) in absolute value", reason)
    assert reached is not None and "--lr" not in reason, reason
    assert 1e30 <= float(reached.group(1)) <= float(f"{np.abs(huge).max():.3g}")
    reason = _diverge(X, y * np.float32(1e20))
    assert "targets reach" in reason and "--lr" not in reason

    # moderate data, a first step that is already non-finite: not the learning rate either
    big = chainrule.nn.Sequential(chainrule.nn.Linear(3, 1))
    big[0].weight.detach().numpy()[...] = 3e38
    reason = _diverge(X, y, big)
    assert "first step, before any update" in reason and "--lr" not in reason


def test_the_cli_says_which_data_diverged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = diverging_csv(tmp_path)
    code, err = run(capsys, "train", "--data", f"csv:{table}:y", *TINY, "--out",
                    str(tmp_path / "o"))  # fmt: skip
    one_line_error(code, err, "targets reach")
    assert "--lr" not in err
