"""The speed suite still runs (tiny sizes; no timing is asserted: machines are noisy)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.run import main


def test_quick_benchmark_writes_results(tmp_path: Path) -> None:
    assert main(["--quick", "--out", str(tmp_path), "--threads", "1"]) == 0
    report = json.loads((tmp_path / "results.json").read_text())
    contenders = {row["contender"] for row in report["results"]}
    assert contenders == {"chainrule", "chainrule captured", "pytorch", "sklearn", "numpy"}
    for row in report["results"]:
        assert row["samples_per_second"] > 0 and row["peak_rss_mib"] > 0
    assert min(report["matmul_limit_gflops"].values()) > 0 and report["scaling"]
    assert report["names"]["within_2_percent"]  # same model, data and steps as PyTorch
    assert {row["dataset"] for row in report["sklearn"]} >= {"digits", "diabetes"}
    table = (tmp_path / "results.md").read_text()
    assert "| W1 784-256-128-10 b128 | chainrule |" in table
