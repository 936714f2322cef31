"""Data-parallel training over real MPI ranks: fit with a Reducer, `chainrule train
--nproc N` against the one-process run, resume, a rank killed mid-epoch, BLAS threads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from chainrule.distributed.launch import rank_environment
from chainrule.distributed.threads import available_cores
from tests.support.mpi import HERE, rank_env, run_ranks


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max |b|: the error relative to the tensor's scale."""
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


@pytest.mark.parametrize(
    ("world", "dtype", "n", "batch", "tolerance"),
    [
        (2, "float64", 41, 10, 1e-10),  # shares 5/5, last batch 1: rank 1 gets nothing
        (3, "float64", 41, 10, 1e-10),  # shares 3/3/4, last batch 1 (two ranks empty)
        (3, "float32", 47, 8, 1e-5),  # shares 2/3/3, last batch 7
    ],
)
def test_fit_data_parallel_equals_one_process(world, dtype, n, batch, tolerance, tmp_path):
    out = tmp_path / "fit.npz"
    done = run_ranks(world, [str(HERE / "fit_script.py"), dtype, str(n), str(batch), str(out)])
    assert done.returncode == 0, done.stderr
    saved = np.load(out)
    compared = 0
    for key in saved.files:
        if key.startswith(("parallel.", "history.parallel.")):
            alone = saved[key.replace("parallel", "alone", 1)]
            assert relative_error(saved[key], alone) <= tolerance, key
            compared += 1
    assert compared >= 4 + 7  # the four tensors and the history's columns
    for rank in range(1, world):  # every rank ends with the same weights
        other = np.load(f"{out}.rank{rank}.npz")
        for key in other.files:
            np.testing.assert_array_equal(other[key], saved[key])


def chainrule_train(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chainrule.cli", "train", *args],
        env=rank_env(**env), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


COMMON = ["--data", "digits", "--hidden", "32", "--batch-size", "50", "--no-plots",
          "--seed", "3"]  # fmt: skip


def weights(run: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(run / "model.safetensors"))


def test_cli_nproc_2_equals_nproc_1(tmp_path):
    alone, parallel = tmp_path / "alone", tmp_path / "parallel"
    first = chainrule_train(*COMMON, "--epochs", "3", "--out", str(alone))
    assert first.returncode == 0, first.stderr
    second = chainrule_train(*COMMON, "--epochs", "3", "--out", str(parallel), "--nproc", "2")
    assert second.returncode == 0, second.stderr
    # rank 0 alone reports and writes: one table, the same files
    assert second.stdout.count("final metrics") == 1
    assert sorted(p.name for p in parallel.iterdir()) == sorted(p.name for p in alone.iterdir())
    a, b = weights(alone), weights(parallel)
    floats = [k for k in a if a[k].dtype.kind == "f" and not k.startswith("meta")]
    assert any(k.startswith("model.") for k in floats)
    for key in floats:
        assert relative_error(b[key], a[key]) <= 1e-5, key
    import json

    h1 = json.loads((alone / "history.json").read_text())["history"]
    h2 = json.loads((parallel / "history.json").read_text())["history"]
    for key, values in h1.items():  # loss and accuracy over all ranks' samples
        np.testing.assert_allclose(h2[key], values, rtol=1e-5, err_msg=key)
    m1 = json.loads((alone / "metrics.json").read_text())
    m2 = json.loads((parallel / "metrics.json").read_text())
    assert m2["test_samples"] == m1["test_samples"]
    np.testing.assert_allclose(m2["test_loss"], m1["test_loss"], rtol=1e-5)


def test_cli_resume_of_a_distributed_run_with_dropout(tmp_path):
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    args = [*COMMON, "--dropout", "0.2", "--nproc", "2"]
    done = chainrule_train(*args, "--epochs", "4", "--out", str(whole))
    assert done.returncode == 0, done.stderr
    done = chainrule_train(*args, "--epochs", "2", "--out", str(broken))
    assert done.returncode == 0, done.stderr
    done = chainrule_train("--resume", str(broken), "--epochs", "4", "--nproc", "2", "--no-plots")
    assert done.returncode == 0, done.stderr
    a, b = weights(whole), weights(broken)
    for key in a:
        if key.startswith("model."):
            np.testing.assert_array_equal(b[key], a[key], err_msg=key)


def test_cli_bad_settings_fail_once_before_launching(tmp_path):
    done = chainrule_train(*COMMON, "--dropout", "1.5", "--nproc", "2", "--out", str(tmp_path))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chainrule: error: dropout must"), lines


def test_killed_rank_stops_the_others(tmp_path):
    """SIGKILL one rank mid-epoch: the launcher and the other rank end (60 s is a
    liveness bound for this test, not a timing claim) and the rank is named."""
    piddir = tmp_path / "pids"
    piddir.mkdir()
    run = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "chainrule.cli", "train", *COMMON, "--epochs", "10000",
         "--out", str(run), "--nproc", "2"],
        env=rank_env(CHAINRULE_DIST_PIDDIR=str(piddir)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not ((run / "model.safetensors").exists() and (piddir / "rank1.pid").exists()):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "training did not start"
            time.sleep(0.2)
        time.sleep(0.3)  # well inside an epoch of the 10000
        victim = int((piddir / "rank1.pid").read_text())
        os.kill(victim, signal.SIGKILL)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode != 0
    assert f"rank 1 (pid {victim}) was killed by SIGKILL" in stderr, stderr
    survivor = int((piddir / "rank0.pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(survivor, 0)


def test_rank_threads_default_and_overrides():
    cores = available_cores()
    env = rank_environment(2, None, {})
    assert env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == str(max(1, cores // 2))
    assert rank_environment(2, 3, {})["OPENBLAS_NUM_THREADS"] == "3"
    assert rank_environment(2, None, {"CHAINRULE_THREADS": "5"})["MKL_NUM_THREADS"] == "5"
    mine = rank_environment(2, None, {"OMP_NUM_THREADS": "7"})
    assert mine["OMP_NUM_THREADS"] == "7" and "OPENBLAS_NUM_THREADS" not in mine
