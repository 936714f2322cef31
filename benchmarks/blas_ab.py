"""A/B of the per-product BLAS thread choice (`chainrule.kernels.blas`), alternating.

    python -m benchmarks.blas_ab                         # W1, W2, W3, W4, 2 threads
    python -m benchmarks.blas_ab --workloads W1 --rounds 7 --samples 16384 --no-jax

In one process, chainrule eager and its captured step run with the choice on ("new") and
off ("old": every product as NumPy runs it), next to hand NumPy and the bench's 2048²
float32 product; JAX (jitted step) runs in a worker process of its own
(`benchmarks.worker`) and takes its turn in the same rounds. Each round runs every
contender over the epoch's batches in PARTS stretches, taking turns stretch by stretch
(as `benchmarks.run` does), so a burst of load falls on all of them alike. Reported per
workload: samples/s (median and range over rounds), new/old per round (median, range),
captured/JAX, and the share of the 2048² product's GFLOP/s, with the machine's load.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from benchmarks.contenders import CONTENDERS
from benchmarks.load import LoadMeter
from benchmarks.machine import set_threads
from benchmarks.run import gflops_of_matmul, matmul_product
from benchmarks.workloads import WORKLOADS, Workload, make_data

PARTS = 10
MATMUL_SIZE = 2048


def ab_workload(workload: Workload, rounds: int, jax: Any) -> dict[str, Any]:
    from chainrule.kernels.blas import set_thread_choice

    X, y = make_data(workload)
    epochs: dict[str, tuple[Callable[..., None], bool]] = {}
    for name in ("chainrule", "chainrule captured"):
        for choice in (False, True):  # a model of its own for each: they train alike
            epochs[f"{name} {'new' if choice else 'old'}"] = (
                CONTENDERS[name](workload, X, y),
                choice,
            )
    epochs["numpy"] = (CONTENDERS["numpy"](workload, X, y), False)
    if jax is not None:
        jax.prepare(workload)
    product = matmul_product(MATMUL_SIZE)
    batches = math.ceil(workload.samples / workload.batch)
    bounds = [workload.batch * (batches * k // PARTS) for k in range(PARTS + 1)]
    stretches = list(zip(bounds[:-1], bounds[1:], strict=True))
    for epoch, choice in epochs.values():  # warm-up: records the captured programs
        set_thread_choice(choice)
        epoch(0, bounds[1])
    if jax is not None:
        jax(0, bounds[1])
    meter = LoadMeter([os.getpid(), *([jax.pid] if jax is not None else [])])
    times: dict[str, list[float]] = {name: [] for name in [*epochs, "jax", "matmul"]}
    for _ in range(rounds):
        spent = dict.fromkeys(times, 0.0)
        for first, stop in stretches:
            for name, (epoch, choice) in epochs.items():
                set_thread_choice(choice)
                start = time.perf_counter()
                epoch(first, stop)
                spent[name] += time.perf_counter() - start
            if jax is not None:
                spent["jax"] += jax(first, stop)
        set_thread_choice(True)
        start = time.perf_counter()
        product()
        spent["matmul"] = time.perf_counter() - start
        for name, seconds in spent.items():
            times[name].append(seconds)
    load = meter.stop()
    if jax is None:
        del times["jax"]
    limit = [gflops_of_matmul(MATMUL_SIZE, s) for s in times["matmul"]]
    report: dict[str, Any] = {"workload": workload.id, "rounds": rounds, "load": load,
                              "matmul_gflops": statistics.median(limit)}  # fmt: skip
    for name, taken in times.items():
        if name == "matmul":
            continue
        rates = [workload.samples / s for s in taken]
        shares = [workload.samples * workload.flops_per_sample / s / 1e9 / g
                  for s, g in zip(taken, limit, strict=True)]  # fmt: skip
        report[name] = {"samples_per_s": _spread(rates), "share_of_matmul": _spread(shares)}
    for name in ("chainrule", "chainrule captured"):
        old, new = times[f"{name} old"], times[f"{name} new"]
        report[f"{name} new/old"] = _spread([o / n for o, n in zip(old, new, strict=True)])
    if jax is not None:
        for version in ("old", "new"):
            ours = times[f"chainrule captured {version}"]
            report[f"captured {version}/jax"] = _spread(
                [j / o for j, o in zip(times["jax"], ours, strict=True)]
            )
    return report


def _spread(values: list[float]) -> list[float]:
    """[median, min, max]"""
    return [statistics.median(values), min(values), max(values)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="*", default=["W1", "W2", "W3", "W4"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--samples", type=int, default=0, help="per epoch (default: all)")
    parser.add_argument("--no-jax", action="store_true")
    args = parser.parse_args()
    set_threads(args.threads, with_torch=False)
    jax = None
    if not args.no_jax:
        from benchmarks.worker import Remote

        jax = Remote("jax", args.threads)
    try:
        for workload in WORKLOADS:
            if workload.id in args.workloads:
                if args.samples:
                    workload = dataclasses.replace(workload, samples=args.samples)
                print(json.dumps(ab_workload(workload, args.rounds, jax)), flush=True)
    finally:
        if jax is not None:
            jax.close()


if __name__ == "__main__":
    main()
