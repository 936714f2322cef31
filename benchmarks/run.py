"""Run every contender on every workload in one process, alternating, and write
benchmarks/results.json and benchmarks/results.md (which the README shows).

    python -m benchmarks.run            # the full suite (several minutes on 2 cores)
    python -m benchmarks.run --quick    # tiny sizes: proves the suite still works (CI)

Timing: one warm-up epoch per contender, then at least `repeats` rounds; in each round
every contender runs one epoch, cut into ten stretches of batches that the contenders take
in turn, so machine noise hits all of them alike. Medians.
Threads: BLAS and PyTorch use the same count. Memory: each contender runs one epoch in a
fresh subprocess that imports only what it needs; we report its peak RSS.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import sklearn_compare
from benchmarks.contenders import CONTENDERS, WHOLE_EPOCHS_ONLY
from benchmarks.machine import machine, set_threads
from benchmarks.names import markdown as names_markdown
from benchmarks.names import run_names_benchmark
from benchmarks.workloads import QUICK_WORKLOADS, WORKLOADS, Workload, make_data

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
MARK_START, MARK_END = "<!-- bench:start -->", "<!-- bench:end -->"


MATMUL = "matmul limit"  # the round-robin entry that times one large float32 product


def matmul_product(size: int) -> Callable[[], object]:
    """One size x size float32 matmul: BLAS at its best on this machine. Timed in the same
    rounds as the contenders, so the share of it that a workload reaches compares the two
    under the same conditions (on a shared machine the speed of both drifts over minutes)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    return lambda: a @ b


def gflops_of_matmul(size: int, seconds: float) -> float:
    return 2 * size**3 / seconds / 1e9


MIN_SECONDS = 6.0  # of timed rounds per workload: short epochs get more rounds


PARTS = 10  # each epoch is timed in this many stretches of batches, contenders alternating


def time_workload(
    workload: Workload,
    names: list[str],
    repeats: int,
    min_seconds: float = 0.0,
    matmul_size: int = 0,
) -> dict[str, float]:
    """Median seconds per epoch for each contender, over at least `repeats` rounds (more
    when a round is short, so that the rounds last about `min_seconds`).

    In a round every contender runs one epoch, cut into PARTS stretches of batches: the
    contenders take turns stretch by stretch, so a burst of noise on a shared machine (they
    last seconds) falls on all of them alike instead of on whoever's epoch it was.
    Contenders that only run whole epochs (scikit-learn's fit) and, with a matmul_size, one
    product of that size (MATMUL) take one turn a round."""
    X, y = make_data(workload)
    epochs: dict[str, Callable[..., object]] = {
        name: CONTENDERS[name](workload, X, y) for name in names
    }
    if matmul_size:
        epochs[MATMUL] = matmul_product(matmul_size)
    whole = [name for name in epochs if name in WHOLE_EPOCHS_ONLY or name == MATMUL]
    cut = [name for name in epochs if name not in whole]
    batches = math.ceil(workload.samples / workload.batch)
    bounds = [workload.batch * (batches * k // PARTS) for k in range(PARTS + 1)]
    stretches = [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
    start = time.perf_counter()
    for epoch in epochs.values():  # warm-up, and how long a round takes
        epoch()
    rounds = max(repeats, math.ceil(min_seconds / (time.perf_counter() - start)))
    times: dict[str, list[float]] = {name: [] for name in epochs}
    for _ in range(rounds):
        spent = dict.fromkeys(epochs, 0.0)
        for first, stop in stretches:
            for name in cut:
                start = time.perf_counter()
                epochs[name](first, stop)
                spent[name] += time.perf_counter() - start
        for name in whole:
            start = time.perf_counter()
            epochs[name]()
            spent[name] = time.perf_counter() - start
        for name, seconds in spent.items():
            times[name].append(seconds)
    return {name: statistics.median(values) for name, values in times.items()}


def peak_rss_mb(contender: str, workload: Workload, threads: int) -> float:
    """Peak resident memory (MiB) of a fresh process that runs one epoch of the contender."""
    code = (
        "import sys\n"
        "from benchmarks.machine import set_threads\n"
        "from benchmarks.contenders import CONTENDERS\n"
        "from benchmarks.workloads import Workload, make_data\n"
        f"set_threads({threads}, with_torch={contender == 'pytorch'})\n"
        f"w = Workload({workload.id!r}, {workload.layers!r}, {workload.samples}, "
        f"{workload.batch})\n"
        "X, y = make_data(w)\n"
        f"CONTENDERS[{contender!r}](w, X, y)()\n"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec
        "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=HERE.parent, check=True
    )
    return int(result.stdout.split()[-1]) / 1024  # kB -> MiB


def versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "numpy": np.__version__}
    for module in ("chainrule", "torch", "sklearn"):
        try:
            found[module] = __import__(module).__version__
        except ImportError:
            found[module] = "missing"
    return found


def scaling(
    names: list[str], quick: bool, repeats: int, min_seconds: float
) -> list[dict[str, Any]]:
    """Seconds per epoch as the batch size and the hidden width grow."""
    samples = 512 if quick else 8192
    batches = (8, 1024) if quick else (8, 32, 128, 512, 1024)
    widths = (16, 1024) if quick else (16, 64, 256, 1024)
    rows = []
    for batch in batches:
        w = Workload(f"batch {batch}", (784, 256, 128, 10), samples, batch)
        seconds = time_workload(w, names, repeats, min_seconds)
        rows.append({"axis": "batch", "value": batch, **seconds})
    for width in widths:
        w = Workload(f"width {width}", (784, width, width, 10), samples, 128)
        seconds = time_workload(w, names, repeats, min_seconds)
        rows.append({"axis": "width", "value": width, **seconds})
    return rows


def run(quick: bool, repeats: int, threads: int) -> dict[str, Any]:
    set_threads(threads)
    min_seconds = 0.0 if quick else MIN_SECONDS
    workloads = QUICK_WORKLOADS if quick else WORKLOADS
    size = 256 if quick else 2048
    rows, limits = [], {}
    for workload in workloads:
        names = list(CONTENDERS)
        seconds = time_workload(workload, names, repeats, min_seconds, matmul_size=size)
        limit = limits[workload.id] = gflops_of_matmul(size, seconds[MATMUL])
        for name in names:
            rate = workload.samples / seconds[name]
            gflops = rate * workload.flops_per_sample / 1e9
            rows.append(
                {
                    "workload": workload.id,
                    "layers": workload.describe(),
                    "samples": workload.samples,
                    "batch": workload.batch,
                    "contender": name,
                    "seconds_per_epoch": seconds[name],
                    "samples_per_second": rate,
                    "vs_pytorch": seconds["pytorch"] / seconds[name],
                    "vs_numpy": seconds["numpy"] / seconds[name],
                    "gflops": gflops,
                    "share_of_matmul_limit": gflops / limit,
                    "peak_rss_mib": peak_rss_mb(name, workload, threads),
                }
            )
        print(f"{workload.id}: " + ", ".join(f"{n} {seconds[n]:.3f}s" for n in names), flush=True)
    report = {
        "machine": machine(),
        "threads": threads,
        "versions": versions(),
        "quick": quick,
        "repeats": repeats,
        "matmul_size": size,
        "matmul_limit_gflops": limits,  # per workload, timed in its rounds
        "results": rows,
        "min_seconds": min_seconds,
        "scaling": scaling(["chainrule", "pytorch", "numpy"], quick, repeats, min_seconds),
    }
    # the names model (chainrule.text) and scikit-learn's MLP, each against chainrule
    report["names"] = run_names_benchmark(300 if quick else 20_000, quick=quick)
    report["sklearn"] = sklearn_compare.run(seeds=1 if quick else 3, repeats=1 if quick else 3)
    set_threads(threads)  # the names benchmark sets its own count
    return report


def markdown(report: dict[str, Any]) -> str:
    v = report["versions"]
    lines = [
        f"Machine: {report['machine']}; {report['threads']} threads for BLAS and PyTorch. "
        f"Python {v['python']}, NumPy {v['numpy']}, chainrule {v['chainrule']}, "
        f"PyTorch {v['torch']}, scikit-learn {v['sklearn']}. Medians of at least "
        f"{report['repeats']} epochs after a warm-up (more rounds for short epochs: at least "
        f"{report['min_seconds']:.0f} s of rounds per workload); "
        f"matmul limit: a {report['matmul_size']}² float32 product timed in the same rounds, "
        + ", ".join(f"{w} {g:.0f}" for w, g in report["matmul_limit_gflops"].items())
        + " GFLOP/s.",
        "",
        "| workload | contender | samples/s | vs PyTorch | vs NumPy | GFLOP/s | % of matmul limit"
        " | peak RSS MiB |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        lines.append(
            f"| {r['workload']} {r['layers']} b{r['batch']} | {r['contender']} "
            f"| {r['samples_per_second']:,.0f} | {r['vs_pytorch']:.2f}x | {r['vs_numpy']:.2f}x "
            f"| {r['gflops']:.1f} | {100 * r['share_of_matmul_limit']:.0f}% "
            f"| {r['peak_rss_mib']:.0f} |"
        )
    lines += [
        "",
        "chainrule.sklearn against scikit-learn's MLP (same settings and random_state; "
        "benchmarks/sklearn_compare.py):",
        "",
        sklearn_compare.table(report["sklearn"]),
        "",
        names_markdown(report["names"]).rstrip(),
    ]
    lines += ["", "Seconds per epoch (784-w-w-10, batch 128 unless the batch varies):", ""]
    lines += ["| axis | value | chainrule | PyTorch | NumPy |", "|---|---:|---:|---:|---:|"]
    for r in report["scaling"]:
        lines.append(
            f"| {r['axis']} | {r['value']} | {r['chainrule']:.3f} | {r['pytorch']:.3f} "
            f"| {r['numpy']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def update_readme(table: str) -> None:
    text = README.read_text()
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        _, tail = rest.split(MARK_END, 1)
        README.write_text(f"{head}{MARK_START}\n{table}{MARK_END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check it works")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 5)
    report = run(args.quick, repeats, args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    (args.out / "results.md").write_text(table)
    if not args.quick and args.out == HERE:
        update_readme(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
