"""`fit`'s peak memory for 1x and 10x the data: it should not grow with the data.

    python -m benchmarks.fit_memory            # 20,000 and 200,000 rows
    python -m benchmarks.fit_memory --quick    # 2,000 and 20,000 rows

Each size runs in a fresh process: it makes the data (rows x 20 float32 features, 100
classes), resets the kernel's peak-RSS mark (``5 > /proc/self/clear_refs``), trains one
epoch of a 20-64-100 MLP with ``fit(..., metrics=["accuracy"])`` and reads VmHWM from
/proc/self/status. What `fit` adds is VmHWM minus the resident size just before it: the
data themselves are counted before. A `fit` that streams its metrics adds the same at
both sizes; one that keeps every batch's outputs adds rows x classes x 4 bytes more.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FEATURES, HIDDEN, CLASSES, BATCH = 20, 64, 100, 256


def _status(field: str) -> int:
    """A /proc/self/status field in kB."""
    text = Path("/proc/self/status").read_text()
    return int(text.split(field + ":")[1].split()[0])


def child(rows: int) -> dict[str, Any]:
    """Runs in the fresh process: one epoch of fit on `rows` rows; memory in MiB."""
    import numpy as np

    import chainrule
    from chainrule import nn, optim
    from chainrule.train import fit

    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, FEATURES), dtype=np.float32)
    y = rng.integers(0, CLASSES, rows).astype(np.int64)
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(FEATURES, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, CLASSES))
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    settings: dict[str, Any] = {"epochs": 1, "batch_size": BATCH, "progress": False}
    settings["metrics"] = ["accuracy"]
    fit(model, nn.CrossEntropyLoss(), optimizer, (X, y), **settings)  # warm-up: imports etc.
    try:
        Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
        reset = True
    except OSError:
        reset = False
    before = _status("VmRSS")
    history = fit(model, nn.CrossEntropyLoss(), optimizer, (X, y), **settings)
    peak = _status("VmHWM")
    return {
        "rows": rows,
        "data_mib": (X.nbytes + y.nbytes) / 2**20,
        "rss_before_mib": before / 1024,
        "peak_mib": peak / 1024,
        "fit_adds_mib": (peak - before) / 1024 if reset else None,
        "peak_reset": reset,
        "accuracy": float(history.history["accuracy"][-1]),
    }


def measure(quick: bool = False) -> dict[str, Any]:
    """Both sizes, each in a fresh process; `ratio` is 10x's fit-added peak over 1x's."""
    base = 2_000 if quick else 20_000
    runs = []
    for rows in (base, 10 * base):
        result = subprocess.run(
            [sys.executable, "-m", "benchmarks.fit_memory", "--child", str(rows)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
    small, large = runs
    report: dict[str, Any] = {"sizes": runs, "features": FEATURES, "classes": CLASSES}
    # the process's peak less the data: the 10x run holds 10x the data, and nothing else
    # should grow (what fit adds alone can be ~0 at both sizes, a ratio of noise)
    beyond = [r["peak_mib"] - r["data_mib"] for r in runs]
    report["peak_beyond_data_mib"] = beyond
    report["ratio"] = beyond[1] / beyond[0]
    report["within_10_percent"] = bool(abs(beyond[1] - beyond[0]) <= 0.10 * beyond[0])
    if small["fit_adds_mib"] is not None and large["fit_adds_mib"] is not None:
        report["fit_adds_growth_bytes_per_row"] = (
            (large["fit_adds_mib"] - small["fit_adds_mib"])
            * 2**20
            / (large["rows"] - small["rows"])
        )
    return report


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"`fit`'s peak memory (one epoch of a {FEATURES}-{HIDDEN}-{CLASSES} MLP, batch "
        f"{BATCH}, metrics=['accuracy']; each size in a fresh process; benchmarks/"
        "fit_memory.py):",
        "",
        "| rows | data MiB | resident before fit MiB | peak MiB | fit adds MiB |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in report["sizes"]:
        adds = "—" if r["fit_adds_mib"] is None else f"{r['fit_adds_mib']:.1f}"
        lines.append(
            f"| {r['rows']:,} | {r['data_mib']:.1f} | {r['rss_before_mib']:.1f} "
            f"| {r['peak_mib']:.1f} | {adds} |"
        )
    if "peak_beyond_data_mib" in report:
        verdict = "within" if report["within_10_percent"] else "NOT within"
        low, high = report["peak_beyond_data_mib"]
        text = (f"10x the data: the peak less the data is {high:.1f} MiB against {low:.1f} "
                f"({report['ratio']:.2f}x, {verdict} 10%)")  # fmt: skip
        if "fit_adds_growth_bytes_per_row" in report:
            growth = report["fit_adds_growth_bytes_per_row"]
            text += f"; what fit adds grows by {growth:.1f} bytes a row"
        lines += ["", text + "."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    print(markdown(measure(args.quick)), end="")


if __name__ == "__main__":
    main()
