"""Where each contender's time goes on a workload: the figures of docs/speed.md.

    python -m benchmarks.profile                    # W3, deep narrow, wide regression
    python -m benchmarks.profile --workloads W1

One thread for BLAS, PyTorch and XLA, and the CPU time of this process (time.process_time,
all its threads: XLA runs a step on a thread of its own) rather than wall time, so that
other processes on a shared machine disturb the figures less. Per training
step it reports, for each contender:

- chainrule eager: microseconds in forward, backward and the optimizer step, and the
  Python function calls per step (cProfile) - the engine's bookkeeping;
- chainrule captured: microseconds, and the NumPy calls its program makes (counted in the
  program's text, the fast path);
- hand NumPy: microseconds;
- PyTorch: microseconds in forward, backward and step, and the ATen ops it ran per step
  (torch.profiler);
- JAX: microseconds per jitted step, and the fused kernels XLA made of the step.

PyTorch and JAX are imported into this process here: this is a profile, not the benchmark.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import time
from typing import Any

import numpy as np

from benchmarks.workloads import WORKLOADS, Workload, make_data

STEPS = 60  # per repetition


def _median_time(run: Any, reps: int = 7) -> float:
    """Median CPU microseconds per step over `reps` repetitions of STEPS steps."""
    run(STEPS)  # warm-up
    values = []
    for _ in range(reps):
        start = time.process_time()
        run(STEPS)
        values.append((time.process_time() - start) / STEPS * 1e6)
    return statistics.median(values)


def _batches(workload: Workload, X: np.ndarray, y: np.ndarray, wrap: Any) -> list[Any]:
    count, size = min(STEPS, workload.samples // workload.batch), workload.batch
    return [(wrap(X[i * size : (i + 1) * size]), wrap(y[i * size : (i + 1) * size]))
            for i in range(count)]  # fmt: skip


def chainrule_eager(workload: Workload, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    import chainrule
    import chainrule.nn.functional as F
    from benchmarks.contenders import _chainrule_model, _chainrule_optimizer

    model = _chainrule_model(workload)
    optimizer = _chainrule_optimizer(workload, model)
    loss_fn = F.mse_loss if workload.loss == "mse" else F.cross_entropy
    batches = _batches(workload, X, y, chainrule.from_numpy)
    parts = {"forward": 0.0, "backward": 0.0, "step": 0.0}

    def run(steps: int, timed: bool = False) -> None:
        for i in range(steps):
            xb, yb = batches[i % len(batches)]
            t0 = time.process_time()
            loss = loss_fn(model(xb), yb)
            t1 = time.process_time()
            optimizer.zero_grad()
            loss.backward()
            t2 = time.process_time()
            optimizer.step()
            if timed:
                parts["forward"] += t1 - t0
                parts["backward"] += t2 - t1
                parts["step"] += time.process_time() - t2

    total = _median_time(run)
    reps = 5
    for _ in range(reps):
        run(STEPS, timed=True)
    profiler = cProfile.Profile()
    profiler.enable()
    run(STEPS)
    profiler.disable()
    calls = pstats.Stats(profiler).total_calls  # type: ignore[attr-defined]
    split = {k: v / (reps * STEPS) * 1e6 for k, v in parts.items()}
    return {"us_per_step": total, **{f"us_{k}": v for k, v in split.items()},
            "python_calls_per_step": calls / STEPS}  # fmt: skip


def chainrule_captured(workload: Workload, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    import chainrule
    from benchmarks.contenders import _chainrule_model, _chainrule_optimizer
    from chainrule import nn

    model = _chainrule_model(workload)
    loss_fn = nn.MSELoss() if workload.loss == "mse" else nn.CrossEntropyLoss()
    step = chainrule.compile_step(model, loss_fn, _chainrule_optimizer(workload, model))
    batches = _batches(workload, X, y, chainrule.from_numpy)

    def run(steps: int) -> None:
        for i in range(steps):
            step(*batches[i % len(batches)])

    total = _median_time(run)
    fast = step.code.split("    else:\n")[0] + step.code.split("    else:\n")[-1].split("\n", 2)[-1]
    calls = (
        fast.count("np.")
        - fast.count("np.ndarray")
        - fast.count("np.int64")
        - fast.count("np.float")
    )
    return {"us_per_step": total, "numpy_calls_per_step": calls,
            "optimizer_written_out": "if update:" in step.code}  # fmt: skip


def hand_numpy(workload: Workload, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    from benchmarks.contenders import prepare_numpy

    epoch = prepare_numpy(workload, X, y)
    span = STEPS * workload.batch

    def run(steps: int) -> None:
        epoch(0, min(span, workload.samples))

    return {"us_per_step": _median_time(run) * STEPS / max(1, min(span, workload.samples)
                                                              // workload.batch)}  # fmt: skip


def pytorch(workload: Workload, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    import torch

    from benchmarks.contenders import prepare_torch

    torch.set_num_threads(1)
    epoch = prepare_torch(workload, X, y)
    span = min(STEPS * workload.batch, workload.samples)
    steps = span // workload.batch

    def run(_: int) -> None:
        epoch(0, span)

    total = _median_time(run) * STEPS / steps
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        epoch(0, span)
    ops = sum(1 for e in prof.events() if e.name.startswith("aten::"))
    return {"us_per_step": total, "aten_ops_per_step": ops / steps}


def jax_jit(workload: Workload, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    from benchmarks.jax_contender import limit_threads

    limit_threads(1)
    from benchmarks.jax_contender import prepare_jax

    epoch = prepare_jax(workload, X, y)
    span = min(STEPS * workload.batch, workload.samples)
    steps = span // workload.batch

    def run(_: int) -> None:
        epoch(0, span)

    return {"us_per_step": _median_time(run) * STEPS / steps}


def profile(workload: Workload) -> dict[str, Any]:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    X, y = make_data(workload)
    report: dict[str, Any] = {"workload": workload.id, "layers": workload.describe()}
    for name, function in (("chainrule", chainrule_eager), ("chainrule captured",
                           chainrule_captured), ("numpy", hand_numpy), ("pytorch", pytorch),
                           ("jax", jax_jit)):  # fmt: skip
        try:
            report[name] = function(workload, X, y)
        except ImportError as error:
            report[name] = {"missing": str(error)}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="*", default=["W3", "deep narrow", "wide regression"])
    args = parser.parse_args()
    chosen = [w for w in WORKLOADS if w.id in args.workloads]
    print(json.dumps([profile(w) for w in chosen], indent=1))


if __name__ == "__main__":
    main()
