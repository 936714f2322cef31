"""The playground load benchmark in its quick mode: it drives real sockets against a real
server and reports a figure for every session (no timing is asserted: speed is measured
by `make bench`, whose figures are in docs/playground.md)."""

from __future__ import annotations

import pytest

pytest.importorskip("websockets", reason="the playground extra (websockets) is not installed")
pytest.importorskip("fastapi", reason="the playground extra (fastapi) is not installed")

from benchmarks import playground_load


def test_quick_load_run_reports_every_session():
    results = playground_load.main(["--quick", "--no-write", "--duration", "2"])
    assert [r["sessions"] for r in results] == [1, 3]
    for result in results:
        epochs = result["epochs_per_s"]
        assert 0 < epochs["min"] <= epochs["median"] <= epochs["max"]  # every tab trained
        assert result["frames_per_s_median"] > 0 and result["get_ms"]["requests"] > 0
    table = playground_load.markdown(results, "now")
    assert table.count("\n| ") == 3  # the header and one row per N
