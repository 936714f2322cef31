"""Data-parallel throughput over MPI: samples/s for 1 and 2 processes on a W1-sized MLP.

    python -m benchmarks.distributed              # 3 rounds, writes benchmarks/distributed.json
    python -m benchmarks.distributed --quick      # a few steps: the harness still works

What is timed: DistributedDataParallel training steps (forward, cross-entropy, backward
with the bucketed gradient allreduce, Adam) of a 784-256-128-10 ReLU MLP (W1 of the speed
suite, 235,146 parameters = 0.94 MB of float32 gradients) on random data, global batch 128
split across the ranks (strong scaling, what `chainrule train --nproc` does) and 128 per
rank (weak scaling). Each rank runs with cores // ranks BLAS threads (the default).
Per configuration: the median step time over the timed steps of rank 0, the samples/s it
gives, the scaling efficiency (samples/s of P ranks / (P x samples/s of one)), and the
time spent waiting in the gradient allreduce per step (which includes waiting for the
slower rank). Bucketing: the same steps with bucket_cap_mb=0 (one allreduce per tensor,
6 per step) against the default 25 MB (one per step).

Rounds alternate the configurations, so a burst of load from other processes hits all of
them alike; the report gives the median over rounds and the range, with the load average
seen during each round.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = (784, 256, 128, 10)


def worker(steps: int, warmup: int, batch: int, per_rank: bool, bucket_mb: float) -> None:
    """One rank's part (run under mpiexec): time DDP steps, print rank 0's figures."""
    import numpy as np

    import chainrule as cr
    import chainrule.distributed as dist
    from chainrule import nn, optim
    from chainrule.nn.parallel import DistributedDataParallel

    dist.init_process_group(backend="mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    cr.manual_seed(0)
    layers: list[nn.Module] = []
    for a, b in zip(SIZES[:-1], SIZES[1:], strict=True):
        layers += [nn.Linear(a, b), nn.ReLU()]
    model = DistributedDataParallel(nn.Sequential(*layers[:-1]), bucket_cap_mb=bucket_mb)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    local = batch if per_rank else batch * (rank + 1) // world - batch * rank // world
    rng = np.random.default_rng(rank)
    X = cr.tensor(rng.normal(size=(local * 8, SIZES[0])).astype(np.float32))
    y = cr.tensor(rng.integers(0, SIZES[-1], size=local * 8))
    times, waits = [], []
    for step in range(warmup + steps):
        start_wait = model.buckets.reduce_seconds
        dist.barrier()  # every step starts together: the step time is the slowest rank's
        began = time.perf_counter()
        i = (step % 8) * local
        optimizer.zero_grad()
        loss_fn(model(X[i : i + local]), y[i : i + local]).backward()
        optimizer.step()
        if step >= warmup:
            times.append(time.perf_counter() - began)
            waits.append(model.buckets.reduce_seconds - start_wait)
    alone = []  # the allreduce by itself: every rank ready (after a barrier), no waiting
    for _ in range(max(5, steps // 5)):
        dist.barrier()
        began = time.perf_counter()
        model.buckets.reduce()
        alone.append(time.perf_counter() - began)
    if rank == 0:
        from chainrule.distributed.threads import available_cores

        step_time = statistics.median(times)
        global_batch = batch * world if per_rank else batch
        print(json.dumps({
            "processes": world,
            "global_batch": global_batch,
            "step_ms": step_time * 1e3,
            "samples_per_s": global_batch / step_time,
            "allreduce_ms": statistics.median(waits) * 1e3,
            "allreduce_alone_ms": statistics.median(alone) * 1e3,
            "buckets": len(model.buckets.buckets),
            "threads": int(os.environ.get("CHAINRULE_THREADS") or 0)
            or max(1, available_cores() // world),
        }))  # fmt: skip
    dist.destroy_process_group()


CONFIGS = [  # (name, processes, per_rank, bucket_mb, BLAS threads: None = cores // ranks)
    ("1 process", 1, False, 25.0, None),
    ("1 process, 1 thread", 1, False, 25.0, 1),
    ("2 processes, global batch 128", 2, False, 25.0, None),
    ("2 processes, global batch 128, one allreduce per tensor", 2, False, 0.0, None),
    ("2 processes, 128 per rank", 2, True, 25.0, None),
]


def run_config(
    nproc: int, per_rank: bool, bucket_mb: float, threads: int | None, steps: int, warmup: int
) -> dict:
    from chainrule.distributed.launch import mpiexec_path, rank_environment

    env = dict(os.environ)
    for name in ("CHAINRULE_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.pop(name, None)
    env = rank_environment(nproc, threads, env)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")])
    command = [mpiexec_path(), "-n", str(nproc), sys.executable, "-m", "benchmarks.distributed",
               "--worker", "--steps", str(steps), "--warmup", str(warmup),
               "--bucket-mb", str(bucket_mb)] + (["--per-rank"] if per_rank else [])  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--per-rank", action="store_true")
    parser.add_argument("--bucket-mb", type=float, default=25.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a few steps, one round")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "distributed.json"))
    args = parser.parse_args()
    if args.worker:
        worker(args.steps, args.warmup, args.batch, args.per_rank, args.bucket_mb)
        return
    steps, warmup, rounds = (10, 2, 1) if args.quick else (args.steps, args.warmup, args.rounds)
    seen: dict[str, list[dict]] = {name: [] for name, *_ in CONFIGS}
    loads = []
    for _ in range(rounds):
        for name, nproc, per_rank, bucket_mb, threads in CONFIGS:
            result = run_config(nproc, per_rank, bucket_mb, threads, steps, warmup)
            result["load_average"] = os.getloadavg()[0]
            loads.append(result["load_average"])
            seen[name].append(result)
    # efficiency against the faster of the one-process runs (2 threads or 1), the honest base
    base = max(statistics.median(r["samples_per_s"] for r in seen[c[0]]) for c in CONFIGS[:2])
    rows = []
    for name, nproc, *_ in CONFIGS:
        runs = seen[name]
        rate = [r["samples_per_s"] for r in runs]
        row = {
            "config": name,
            "processes": nproc,
            "threads_per_process": runs[0]["threads"],
            "buckets": runs[0]["buckets"],
            "samples_per_s": statistics.median(rate),
            "samples_per_s_range": [min(rate), max(rate)],
            "step_ms": statistics.median(r["step_ms"] for r in runs),
            "allreduce_ms": statistics.median(r["allreduce_ms"] for r in runs),
            "allreduce_ms_range": [
                min(r["allreduce_ms"] for r in runs),
                max(r["allreduce_ms"] for r in runs),
            ],  # fmt: skip
            "allreduce_alone_ms": statistics.median(r["allreduce_alone_ms"] for r in runs),
            "efficiency": statistics.median(rate) / (nproc * base),
        }
        rows.append(row)
    report = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cores": os.cpu_count(),
        "rounds": rounds,
        "steps": steps,
        "load_average": [min(loads), max(loads)],
        "rows": rows,
    }
    if not args.quick:
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(f"W1-sized MLP (784-256-128-10), {rounds} rounds of {steps} steps, "
          f"{os.cpu_count()} cores, load average {min(loads):.1f}-{max(loads):.1f}")  # fmt: skip
    print("| configuration | threads/process | allreduces/step | samples/s (range) | "
          "step ms | allreduce ms/step (range) | allreduce alone ms | efficiency |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        low, high = row["samples_per_s_range"]
        a_low, a_high = row["allreduce_ms_range"]
        print(f"| {row['config']} | {row['threads_per_process']} | {row['buckets']} | "
              f"{row['samples_per_s']:,.0f} ({low:,.0f}-{high:,.0f}) | {row['step_ms']:.2f} | "
              f"{row['allreduce_ms']:.3f} ({a_low:.3f}-{a_high:.3f}) | "
              f"{row['allreduce_alone_ms']:.3f} | "
              f"{row['efficiency']:.0%} |")  # fmt: skip


if __name__ == "__main__":
    main()
