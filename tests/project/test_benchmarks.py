"""The speed suite still runs (tiny sizes; no timing is asserted: machines are noisy)."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

from benchmarks.load import LoadMeter
from benchmarks.run import main
from benchmarks.worker import Remote
from benchmarks.workloads import QUICK_WORKLOADS

HAS_JAX = importlib.util.find_spec("jax") is not None


def test_quick_benchmark_writes_results(tmp_path: Path) -> None:
    assert main(["--quick", "--out", str(tmp_path), "--threads", "1", "--runs", "2"]) == 0
    report = json.loads((tmp_path / "results.json").read_text())
    contenders = {row["contender"] for row in report["results"]}
    expected = {"chainrule", "chainrule captured", "pytorch", "sklearn", "numpy"}
    assert contenders == expected | ({"jax"} if HAS_JAX else set())
    assert {row["workload"] for row in report["results"]} == {w.id for w in QUICK_WORKLOADS}
    for row in report["results"]:
        assert row["samples_per_second"] > 0 and row["runs"] == 2
        low, high = row["vs_numpy_range"]
        assert low <= row["vs_numpy"] <= high  # the median of the runs, within their range
        assert (row["peak_rss_mib"] or 0) > 0 or row["workload"] != QUICK_WORKLOADS[0].id
    assert len(report["per_run"]["W1"]) == 2 and len(report["load"]) == 2 * len(QUICK_WORKLOADS)
    for load in report["load"]:
        assert load["under_load"] in (True, False) and 0 <= load["others"] <= 1
    assert len(report["commit"]) == 40
    assert min(report["matmul_limit_gflops"].values()) > 0 and report["scaling"]
    assert report["names"]["within_2_percent"]  # same model, data and steps as PyTorch
    assert {row["dataset"] for row in report["sklearn"]} >= {"digits", "diabetes"}
    sizes = report["fit_memory"]["sizes"]
    assert [s["rows"] for s in sizes] == [2_000, 20_000] and sizes[1]["peak_mib"] > 0
    table = (tmp_path / "results.md").read_text()
    assert "| W1 784-256-128-10 b128 | chainrule |" in table
    assert "| wide regression 100-512-512-1 MSE, Adam b64 | chainrule captured |" in table
    assert "Commit measured:" in table and "under load" in table


def test_worker_runs_in_its_own_process_and_reports_errors() -> None:
    remote = Remote("numpy", 1)
    try:
        remote.prepare(QUICK_WORKLOADS[1])
        assert remote(0, 64) > 0 and remote() > 0  # a stretch, then a whole epoch
        assert remote.pid != os.getpid()
        with pytest.raises(RuntimeError, match="benchmark worker numpy: KeyError"):
            remote._ask({"prepare": {"id": "bad"}})  # a malformed workload: named, not hung
    finally:
        remote.close()
    assert remote.process.poll() == 0


def test_load_meter_counts_other_processes() -> None:
    import subprocess
    import sys
    import time

    meter = LoadMeter([os.getpid()])
    spin = "import time\nt = time.time()\nwhile time.time() - t < 1.5: pass"
    busy = subprocess.Popen([sys.executable, "-c", spin])  # another process, not ours
    time.sleep(1.6)
    load = meter.stop()
    busy.wait()
    # it spun for about 1.5 s of the ~1.6 s measured: a good part of one core's time
    assert load["others"] is not None and load["others"] > 0.5 / (os.cpu_count() or 1)
    assert load["under_load"] == (load["others"] > 0.10 or load["steal"] > 0.05)


def test_blas_thread_ab_reports_both_sides() -> None:
    import dataclasses

    from benchmarks.blas_ab import ab_workload
    from benchmarks.workloads import WORKLOADS

    workload = dataclasses.replace(next(w for w in WORKLOADS if w.id == "W2"), samples=320)
    report = ab_workload(workload, rounds=2, jax=None)
    for name in ("chainrule old", "chainrule new", "chainrule captured new", "numpy"):
        median, low, high = report[name]["samples_per_s"]
        assert 0 < low <= median <= high
    assert report["chainrule captured new/old"][0] > 0 and report["matmul_gflops"] > 0
    assert "jax" not in report and report["load"]["under_load"] in (True, False, None)


def test_settle_waits_while_the_threads_are_busy_and_stops_when_they_are_idle() -> None:
    from benchmarks.settle import LIMIT_SECONDS, QUIET_SECONDS, settle

    always_busy = settle([1], read=lambda pids, skip: 1)
    assert always_busy >= LIMIT_SECONDS  # never idle: settle gives up at its limit
    idle = settle([1], read=lambda pids, skip: 0)
    assert idle >= QUIET_SECONDS  # idle: one quiet window
    readings = iter([0, 1, 2])  # idle at the start, running at two looks, then idle
    later = settle([1], read=lambda pids, skip: next(readings, 0))
    assert later >= QUIET_SECONDS + QUIET_SECONDS / 10
    assert settle([1], read=lambda pids, skip: None) == 0.0  # /proc cannot tell: no wait


def test_settle_sees_a_real_spinning_process_and_a_sleeping_one() -> None:
    import subprocess
    import sys
    import time

    from benchmarks.settle import _running

    spin = "import time\nprint(flush=True)\nt = time.time()\nwhile time.time() - t < 20: pass"
    busy = subprocess.Popen([sys.executable, "-c", spin], stdout=subprocess.PIPE)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(20)"])
    try:
        assert busy.stdout is not None and busy.stdout.readline()  # it is spinning now
        # running or waiting for a core: R either way, whatever the machine's load
        assert _running([busy.pid], 0) == 1
        deadline = time.perf_counter() + 10
        while _running([sleeper.pid], 0) != 0 and time.perf_counter() < deadline:
            time.sleep(0.05)  # past its start-up
        assert _running([sleeper.pid], 0) == 0
    finally:
        for process in (busy, sleeper):
            process.kill()
            process.wait()
