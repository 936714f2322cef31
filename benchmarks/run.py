"""Run every contender on every workload, alternating, `--runs` times, and write
benchmarks/results.json and benchmarks/results.md (which the README shows).

    python -m benchmarks.run                # the full suite, three runs (long on 2 cores)
    python -m benchmarks.run --runs 1       # one run
    python -m benchmarks.run --quick        # tiny sizes: proves the suite still works (CI)

Timing: one warm-up epoch per contender, then at least `repeats` rounds; in each round
every contender runs one epoch, cut into ten stretches of batches that the contenders take
in turn, so machine noise hits all of them alike; before each turn the bench waits until
the last contender's threads have stopped spinning (benchmarks/settle.py). Medians per
run; over the runs, the median of each ratio and its range (never the best run).
Processes: the NumPy-based contenders (chainrule, its captured step, hand NumPy,
scikit-learn) run in this process; PyTorch and JAX each in a worker process of their own
(benchmarks/worker.py), which takes its turn like the others and waits idle otherwise.
Threads: BLAS, PyTorch and XLA use the same count. Load: each workload's timing records
the load average and the other processes' share of the CPUs (benchmarks/load.py); runs
under load are marked. Memory: each contender runs one epoch in a fresh subprocess that
imports only what it needs; we report its peak RSS; `fit`'s peak for 1x and 10x the data
likewise (benchmarks/fit_memory.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
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

from benchmarks import fit_memory, sklearn_compare
from benchmarks.contenders import CONTENDERS, IN_WORKERS, WHOLE_EPOCHS_ONLY
from benchmarks.load import LoadMeter
from benchmarks.machine import machine, set_threads
from benchmarks.names import markdown as names_markdown
from benchmarks.settle import settle
from benchmarks.worker import Remote
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

Timer = Callable[..., float]  # timer() or timer(first, stop) -> seconds


def _timed(epoch: Callable[..., object]) -> Timer:
    def timer(*bounds: int) -> float:
        start = time.perf_counter()
        epoch(*bounds)
        return time.perf_counter() - start

    return timer


def available(name: str) -> bool:
    """Whether a contender's library is installed (JAX is a bench-only extra)."""
    module = {"pytorch": "torch", "jax": "jax", "sklearn": "sklearn"}.get(name)
    return module is None or importlib.util.find_spec(module) is not None


def time_workload(
    workload: Workload,
    names: list[str],
    repeats: int,
    min_seconds: float = 0.0,
    matmul_size: int = 0,
    remotes: dict[str, Remote] | None = None,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Median seconds per epoch for each contender, over at least `repeats` rounds (more
    when a round is short, so that the rounds last about `min_seconds`), and the machine's
    load during those rounds.

    In a round every contender runs one epoch, cut into PARTS stretches of batches: the
    contenders take turns stretch by stretch, so a burst of noise on a shared machine (they
    last seconds) falls on all of them alike instead of on whoever's epoch it was.
    Contenders in `remotes` run in their worker process, timed there. Contenders that only
    run whole epochs (scikit-learn's fit) and, with a matmul_size, one product of that size
    (MATMUL) take one turn a round."""
    remotes = remotes or {}
    X, y = make_data(workload)
    timers: dict[str, Timer] = {}
    for name in names:
        if name in remotes:
            remotes[name].prepare(workload)
            timers[name] = remotes[name]
        else:
            timers[name] = _timed(CONTENDERS[name](workload, X, y))
    if matmul_size:
        timers[MATMUL] = _timed(matmul_product(matmul_size))
    whole = [name for name in timers if name in WHOLE_EPOCHS_ONLY or name == MATMUL]
    cut = [name for name in timers if name not in whole]
    batches = math.ceil(workload.samples / workload.batch)
    bounds = [workload.batch * (batches * k // PARTS) for k in range(PARTS + 1)]
    stretches = [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
    start = time.perf_counter()
    for timer in timers.values():  # warm-up (JAX compiles here), and how long a round takes
        timer()
    rounds = max(repeats, math.ceil(min_seconds / (time.perf_counter() - start)))
    pids = [os.getpid(), *(remote.pid for remote in remotes.values())]
    meter = LoadMeter(pids)
    times: dict[str, list[float]] = {name: [] for name in timers}
    waited, turns = 0.0, 0
    for _ in range(rounds):
        spent = dict.fromkeys(timers, 0.0)
        for first, stop in stretches:
            for name in cut:
                waited, turns = waited + settle(pids), turns + 1  # the last turn's spin
                spent[name] += timers[name](first, stop)
        for name in whole:
            waited, turns = waited + settle(pids), turns + 1
            spent[name] = timers[name]()
        for name, seconds in spent.items():
            times[name].append(seconds)
    load = {**meter.stop(), "rounds": rounds, "settle_ms_per_turn": 1e3 * waited / max(turns, 1)}
    return {name: statistics.median(values) for name, values in times.items()}, load


def peak_rss_mb(contender: str, workload: Workload, threads: int) -> float:
    """Peak resident memory (MiB) of a fresh process that runs one epoch of the contender."""
    code = (
        "import sys\n"
        "from benchmarks.machine import set_threads\n"
        + ("from benchmarks.jax_contender import limit_threads\n"
           f"limit_threads({threads})\n" if contender == "jax" else "")
        + "from benchmarks.contenders import CONTENDERS\n"
        "from benchmarks.workloads import make_data, workload_from_dict\n"
        f"set_threads({threads}, with_torch={contender == 'pytorch'})\n"
        f"w = workload_from_dict({dataclasses.asdict(workload)!r})\n"
        "X, y = make_data(w)\n"
        f"CONTENDERS[{contender!r}](w, X, y)()\n"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec
        "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])\n"
    )  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=HERE.parent, check=True
    )
    return int(result.stdout.split()[-1]) / 1024  # kB -> MiB


def versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "numpy": np.__version__}
    for module in ("chainrule", "torch", "jax", "sklearn"):
        if importlib.util.find_spec(module) is None:
            found[module] = "missing"
            continue
        try:  # read the version without importing torch or jax into this process
            from importlib.metadata import version

            found[module] = version({"sklearn": "scikit-learn"}.get(module, module))
        except Exception:  # e.g. run from a source tree without metadata
            found[module] = "unknown"
    return found


def commit() -> dict[str, Any]:
    """The commit measured, and whether the tree had uncommitted changes."""

    def git(*args: str) -> str:
        result = subprocess.run(
            ["git", *args], capture_output=True, text=True, cwd=HERE.parent, check=False
        )
        return result.stdout.strip() if result.returncode == 0 else ""

    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "HEAD") or "unknown", "dirty": bool(status)}


def scaling(
    names: list[str], quick: bool, repeats: int, min_seconds: float, remotes: dict[str, Remote]
) -> list[dict[str, Any]]:
    """Seconds per epoch as the batch size and the hidden width grow."""
    samples = 512 if quick else 8192
    batches = (8, 1024) if quick else (8, 32, 128, 512, 1024)
    widths = (16, 1024) if quick else (16, 64, 256, 1024)
    rows = []
    for batch in batches:
        w = Workload(f"batch {batch}", (784, 256, 128, 10), samples, batch)
        seconds, _ = time_workload(w, names, repeats, min_seconds, remotes=remotes)
        rows.append({"axis": "batch", "value": batch, **seconds})
    for width in widths:
        w = Workload(f"width {width}", (784, width, width, 10), samples, 128)
        seconds, _ = time_workload(w, names, repeats, min_seconds, remotes=remotes)
        rows.append({"axis": "width", "value": width, **seconds})
    return rows


RATIOS = {"vs_pytorch": "pytorch", "vs_jax": "jax", "vs_numpy": "numpy"}
SUMMARISED = ("samples_per_second", "gflops", "share_of_matmul_limit", *RATIOS)


def one_run(
    workload: Workload, names: list[str], seconds: dict[str, float], limit: float
) -> list[dict[str, Any]]:
    rows = []
    for name in names:
        rate = workload.samples / seconds[name]
        gflops = rate * workload.flops_per_sample / 1e9
        row: dict[str, Any] = {
            "workload": workload.id,
            "contender": name,
            "seconds_per_epoch": seconds[name],
            "samples_per_second": rate,
            "gflops": gflops,
            "share_of_matmul_limit": gflops / limit,
        }
        for key, reference in RATIOS.items():
            if reference in seconds:
                row[key] = seconds[reference] / seconds[name]
        rows.append(row)
    return rows


def summarise(workload: Workload, runs: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per contender: the median over the runs of each figure, and its [min, max]."""
    rows = []
    for position, first in enumerate(runs[0]):
        row: dict[str, Any] = {
            "workload": workload.id,
            "layers": workload.describe(),
            "samples": workload.samples,
            "batch": workload.batch,
            "contender": first["contender"],
            "runs": len(runs),
        }
        for key in ("seconds_per_epoch", *SUMMARISED):
            if key in first:
                values = [run[position][key] for run in runs]
                row[key] = statistics.median(values)
                row[key + "_range"] = [min(values), max(values)]
        rows.append(row)
    return rows


def run(quick: bool, repeats: int, threads: int, runs: int = 1) -> dict[str, Any]:
    set_threads(threads, with_torch=False)  # PyTorch lives in its worker
    measured_commit = commit()  # before the runs: what was measured, whatever changes meanwhile
    min_seconds = 0.0 if quick else MIN_SECONDS
    workloads = QUICK_WORKLOADS if quick else WORKLOADS
    size = 256 if quick else 2048
    names = [name for name in CONTENDERS if available(name)]
    remotes = {name: Remote(name, threads) for name in names if name in IN_WORKERS}
    try:
        per_run: dict[str, list[list[dict[str, Any]]]] = {w.id: [] for w in workloads}
        loads: list[dict[str, Any]] = []
        limits: dict[str, list[float]] = {}
        for number in range(runs):
            for workload in workloads:
                seconds, load = time_workload(workload, names, repeats, min_seconds, size, remotes)
                limit = gflops_of_matmul(size, seconds[MATMUL])
                limits.setdefault(workload.id, []).append(limit)
                per_run[workload.id].append(one_run(workload, names, seconds, limit))
                loads.append({"run": number + 1, "workload": workload.id, **load})
                mark = " (under load)" if load["under_load"] else ""
                print(
                    f"run {number + 1} {workload.id}{mark}: "
                    + ", ".join(f"{n} {seconds[n]:.3f}s" for n in names),
                    flush=True,
                )
        rows = []
        for number, workload in enumerate(workloads):
            summary = summarise(workload, per_run[workload.id])
            for row in summary:  # quick: the first workload only (a fresh process each)
                wanted = not quick or number == 0
                row["peak_rss_mib"] = (
                    peak_rss_mb(row["contender"], workload, threads) if wanted else None
                )
            rows += summary
        scaled: list[str] = [n for n in ("chainrule", "pytorch", "jax", "numpy") if n in names]
        scaling_rows = scaling(scaled, quick, repeats, min_seconds, remotes)
    finally:
        for remote in remotes.values():
            remote.close()
    report = {
        "machine": machine(),
        "threads": threads,
        "versions": versions(),
        **measured_commit,
        "quick": quick,
        "runs": runs,
        "repeats": repeats,
        "min_seconds": min_seconds,
        "matmul_size": size,
        "matmul_limit_gflops": {w: statistics.median(g) for w, g in limits.items()},
        "matmul_limit_gflops_per_run": limits,
        "results": rows,
        "per_run": per_run,
        "load": loads,
        "runs_under_load": sum(1 for load in loads if load["under_load"]),
        "scaling": scaling_rows,
    }
    # the names model (chainrule.text) against PyTorch, in a fresh process of its own
    report["names"] = names_in_subprocess(300 if quick else 20_000, quick)
    report["sklearn"] = sklearn_compare.run(seeds=1 if quick else 3, repeats=1 if quick else 3)
    report["fit_memory"] = fit_memory.measure(quick=quick)
    set_threads(threads, with_torch=False)  # the names benchmark sets its own count
    return report


def names_in_subprocess(steps: int, quick: bool) -> dict[str, Any]:
    """benchmarks.names in a fresh process (it runs chainrule and PyTorch alternately at one
    thread each, its own harness), so this process never loads PyTorch."""
    command = [sys.executable, "-m", "benchmarks.names", "--steps", str(steps), "--json"]
    result = subprocess.run(
        command + (["--quick"] if quick else []),
        capture_output=True,
        text=True,
        cwd=HERE.parent,
        check=True,
    )
    return dict(json.loads(result.stdout))


def _figure(row: dict[str, Any], key: str, form: str, scale: float = 1.0) -> str:
    """A median, with its range over the runs when there were several: 2.39x (2.10-2.51)."""
    if key not in row:
        return "—"
    low, high = row[key + "_range"]
    text = form.format(scale * row[key])
    if row["runs"] > 1:
        text += " (" + form.format(scale * low).rstrip("x%") + "–" + form.format(scale * high) + ")"
    return text


def markdown(report: dict[str, Any]) -> str:
    v = report["versions"]
    sha = report["commit"][:10] + (" plus uncommitted changes" if report["dirty"] else "")
    lines = [
        f"Machine: {report['machine']}; {report['threads']} threads for BLAS, PyTorch and "
        f"XLA. Python {v['python']}, NumPy {v['numpy']}, chainrule {v['chainrule']}, "
        f"PyTorch {v['torch']}, JAX {v['jax']}, scikit-learn {v['sklearn']}. Commit "
        f"measured: {sha}. {report['runs']} run(s); in each, medians of at least "
        f"{report['repeats']} epochs after a warm-up (more rounds for short epochs: at least "
        f"{report['min_seconds']:.0f} s of rounds per workload); PyTorch and JAX each in a "
        "worker process of their own, taking turns with the others. Figures are the median "
        "over the runs, with their range in brackets. Matmul limit: a "
        f"{report['matmul_size']}² float32 product timed in the same rounds, "
        + ", ".join(f"{w} {g:.0f}" for w, g in report["matmul_limit_gflops"].items())
        + " GFLOP/s.",
        "",
        "| workload | contender | samples/s | vs PyTorch | vs JAX | vs NumPy | GFLOP/s "
        "| % of matmul limit | peak RSS MiB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        lines.append(
            f"| {r['workload']} {r['layers']} b{r['batch']} | {r['contender']} "
            f"| {r['samples_per_second']:,.0f} | {_figure(r, 'vs_pytorch', '{:.2f}x')} "
            f"| {_figure(r, 'vs_jax', '{:.2f}x')} | {_figure(r, 'vs_numpy', '{:.2f}x')} "
            f"| {r['gflops']:.1f} | {_figure(r, 'share_of_matmul_limit', '{:.0f}%', 100)} "
            f"| {'—' if r['peak_rss_mib'] is None else format(r['peak_rss_mib'], '.0f')} |"
        )
    under = report["runs_under_load"]
    lines += [
        "",
        f"Machine load while each workload was timed ({under} of {len(report['load'])} "
        "under load: other processes took more than 10% of the CPU time, or steal was above "
        "5%; their ratios may be off, since noise does not hit every contender alike):",
        "",
        "| run | workload | load average (start → end) | others' CPU share | steal | under load |",
        "|---:|---|---:|---:|---:|---|",
    ]
    for load in report["load"]:
        start, end = load["load_average_start"], load["load_average_end"]
        average = f"{start:.2f} → {end:.2f}" if start is not None else "—"
        others = f"{100 * load['others']:.0f}%" if load["others"] is not None else "—"
        steal = f"{100 * load['steal']:.1f}%" if load["steal"] is not None else "—"
        flag = {True: "**yes**", False: "no", None: "unknown"}[load["under_load"]]
        lines.append(
            f"| {load['run']} | {load['workload']} | {average} | {others} | {steal} | {flag} |"
        )
    lines += [
        "",
        fit_memory.markdown(report["fit_memory"]).rstrip(),
        "",
        "chainrule.sklearn against scikit-learn's MLP (same settings and random_state; "
        "benchmarks/sklearn_compare.py):",
        "",
        sklearn_compare.table(report["sklearn"]),
        "",
        names_markdown(report["names"]).rstrip(),
    ]
    scaled = [n for n in ("chainrule", "pytorch", "jax", "numpy") if n in report["scaling"][0]]
    labels = {"chainrule": "chainrule", "pytorch": "PyTorch", "jax": "JAX", "numpy": "NumPy"}
    lines += ["", "Seconds per epoch (784-w-w-10, batch 128 unless the batch varies; one run):"]
    lines += ["", "| axis | value | " + " | ".join(labels[n] for n in scaled) + " |"]
    lines += ["|---|---:|" + "---:|" * len(scaled)]
    for r in report["scaling"]:
        cells = " | ".join(f"{r[n]:.3f}" for n in scaled)
        lines.append(f"| {r['axis']} | {r['value']} | {cells} |")
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str) -> None:
    """Write atomically: a reader sees the old file or the new one, never half of it."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)


def update_readme(table: str) -> None:
    text = README.read_text()
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        _, tail = rest.split(MARK_END, 1)
        _write(README, f"{head}{MARK_START}\n{table}{MARK_END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check it works")
    parser.add_argument("--runs", type=int, default=None, help="whole runs (default 3, quick 1)")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 5)
    runs = args.runs or (1 if args.quick else 3)
    if runs < 1 or repeats < 1 or args.threads < 1:
        parser.error("--runs, --repeats and --threads must be at least 1")
    report = run(args.quick, repeats, args.threads, runs)
    args.out.mkdir(parents=True, exist_ok=True)
    _write(args.out / "results.json", json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    _write(args.out / "results.md", table)
    if not args.quick and args.out == HERE:
        update_readme(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
