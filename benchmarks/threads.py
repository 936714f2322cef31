"""How many cores each contender really uses, and what a second thread buys it.

    python -m benchmarks.threads                       # W1, W2, wide regression
    python -m benchmarks.threads --workloads W1 --epochs 5

For every workload, contender (hand NumPy, chainrule's captured step, JAX jit) and thread
count (1, 2), a fresh process sets the count before NumPy or JAX is imported (OpenBLAS
through threadpoolctl, XLA through its flags: `benchmarks.jax_contender.limit_threads`),
runs one warm-up epoch and then `epochs` epochs, and reports the median wall time, the
process's CPU time over the same epochs (all its threads) and their ratio: the cores it
kept busy. A 2048² float32 product is timed the same way in NumPy and in JAX. The load of
the machine over the whole probe is recorded, as in the bench (benchmarks/load.py).

docs/speed.md explains with these figures why the NumPy contenders trail JAX on the large
workloads with two threads although NumPy's lone large product is the faster one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.load import LoadMeter

ROOT = Path(__file__).resolve().parent.parent
CONTENDERS = ("numpy", "chainrule captured", "jax")


def child(name: str, workload_id: str, threads: int, epochs: int) -> dict[str, Any]:
    """Runs in the fresh process."""
    import time

    if name == "jax":
        from benchmarks.jax_contender import limit_threads

        limit_threads(threads)
    import numpy as np  # loaded before the limit: threadpoolctl limits the libraries loaded

    from benchmarks.machine import set_threads

    set_threads(threads, with_torch=False)
    if workload_id == "matmul":
        a = np.random.default_rng(0).standard_normal((2048, 2048), dtype=np.float32)
        if name == "jax":
            import jax
            import jax.numpy as jnp

            ja = jnp.asarray(a)
            product = jax.jit(lambda m: m @ m)

            def epoch() -> None:
                product(ja).block_until_ready()
        else:

            def epoch() -> None:
                a @ a
    else:
        from benchmarks.contenders import CONTENDERS as PREPARE
        from benchmarks.workloads import WORKLOADS, make_data

        workload = next(w for w in WORKLOADS if w.id == workload_id)
        X, y = make_data(workload)
        epoch = PREPARE[name](workload, X, y)
    epoch()  # warm-up (JAX compiles)
    walls, cpus = [], []
    for _ in range(epochs):
        wall, cpu = time.perf_counter(), time.process_time()
        epoch()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    return {"contender": name, "workload": workload_id, "threads": threads,
            "wall_s": wall, "cpu_s": cpu, "cores_busy": cpu / wall,
            "os_threads": len(os.listdir("/proc/self/task"))}  # fmt: skip


def measure(workloads: list[str], epochs: int) -> dict[str, Any]:
    meter = LoadMeter([os.getpid()])
    rows = []
    for workload in [*workloads, "matmul"]:
        names = ("numpy", "jax") if workload == "matmul" else CONTENDERS
        for name in names:
            for threads in (1, 2):
                repeats = str(epochs if workload != "matmul" else 7)
                command = [sys.executable, "-m", "benchmarks.threads", "--child", name,
                           workload, str(threads), repeats]  # fmt: skip
                result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                                        check=True)  # fmt: skip
                rows.append(json.loads(result.stdout.strip().splitlines()[-1]))
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return {"rows": rows, "load": meter.stop()}


def markdown(report: dict[str, Any]) -> str:
    load = report["load"]
    others = "—" if load["others"] is None else f"{100 * load['others']:.0f}%"
    lines = [
        f"Wall and CPU seconds per epoch at 1 and 2 threads, medians (benchmarks/threads.py; "
        f"others' CPU share during the probe {others}, load average "
        f"{load['load_average_start']:.2f} → {load['load_average_end']:.2f}):",
        "",
        "| workload | contender | wall 1 thread | wall 2 threads | 2 threads' speed-up "
        "| CPU s at 2 threads | cores busy at 2 |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    by = {(r["workload"], r["contender"], r["threads"]): r for r in report["rows"]}
    for (workload, name, threads), one in by.items():
        if threads != 1:
            continue
        two = by[workload, name, 2]
        label = "2048² product" if workload == "matmul" else workload
        lines.append(
            f"| {label} | {name} | {one['wall_s']:.3f} | {two['wall_s']:.3f} "
            f"| {one['wall_s'] / two['wall_s']:.2f}x | {two['cpu_s']:.3f} "
            f"| {two['cores_busy']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="*", default=["W1", "W2", "wide regression"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, workload, threads, epochs = args.child
        print(json.dumps(child(name, workload, int(threads), int(epochs))))
        return
    report = measure(args.workloads, args.epochs)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(report), end="")


if __name__ == "__main__":
    main()
