"""What drawing torch's numbers costs: chainrule's random streams against torch's own and
against the NumPy PCG64 draws chainrule used before.

    python -m benchmarks.random_streams            # 7 repeats of each workload
    python -m benchmarks.random_streams --quick    # 3 repeats, smaller sizes

Workloads: rand and randn of a 1000 x 1000 float32 tensor (1M values), randn of 100 x 100
(the 16-block path), randn in float64, nn.Linear(784, 128) built under manual_seed (its
kaiming_uniform_ init), randperm(60,000) (one MNIST epoch's shuffle), and one epoch of
`fit` on 60,000 x 20 rows with shuffle=True. Each is timed `repeats` times; the report
gives the median and the range, in milliseconds. Timings on a loaded machine say so.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def _time(fn: Callable[[], Any], repeats: int) -> dict[str, float]:
    fn()  # warm
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return {"median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times)}


def workloads(quick: bool) -> dict[str, dict[str, Callable[[], Any]]]:
    import torch

    import chainrule as cr
    from chainrule import nn, optim
    from chainrule.train import fit

    big = (300, 300) if quick else (1000, 1000)
    pcg = np.random.default_rng(0)
    rows = 6_000 if quick else 60_000
    X = pcg.standard_normal((rows, 20)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)

    def one_epoch() -> None:
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 2))
        fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (X, y),
            epochs=1, batch_size=256, progress=False, shuffle=True)  # fmt: skip

    return {
        "rand float32 1M": {
            "chainrule": lambda: cr.rand(*big),
            "torch": lambda: torch.rand(*big),
            "numpy PCG64 (before)": lambda: pcg.random(big, dtype=np.float32),
        },
        "randn float32 1M": {
            "chainrule": lambda: cr.randn(*big),
            "torch": lambda: torch.randn(*big),
            "numpy PCG64 (before)": lambda: pcg.standard_normal(big, dtype=np.float32),
        },
        "randn float32 100x100": {
            "chainrule": lambda: cr.randn(100, 100),
            "torch": lambda: torch.randn(100, 100),
            "numpy PCG64 (before)": lambda: pcg.standard_normal((100, 100), dtype=np.float32),
        },
        "randn float64 100x100": {
            "chainrule": lambda: cr.randn(100, 100, dtype=cr.float64),
            "torch": lambda: torch.randn(100, 100, dtype=torch.float64),
            "numpy PCG64 (before)": lambda: pcg.standard_normal((100, 100)),
        },
        "Linear(784, 128) init": {
            "chainrule": lambda: nn.Linear(784, 128),
            "torch": lambda: torch.nn.Linear(784, 128),
        },
        "randperm 60,000": {
            "chainrule": lambda: cr.randperm(60_000),
            "torch": lambda: torch.randperm(60_000),
            "numpy PCG64 (before)": lambda: pcg.permutation(60_000),
        },
        f"fit 1 epoch, {rows} rows, shuffled": {"chainrule": one_epoch},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=None, help="write the report as JSON here")
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    report: dict[str, Any] = {"load_average": os.getloadavg(), "repeats": repeats, "results": {}}
    for name, contenders in workloads(args.quick).items():
        report["results"][name] = {who: _time(fn, repeats) for who, fn in contenders.items()}
        cells = ", ".join(
            f"{who} {r['median_ms']:.2f} ms ({r['min_ms']:.2f}-{r['max_ms']:.2f})"
            for who, r in report["results"][name].items()
        )
        print(f"{name}: {cells}")
    print(f"load average {report['load_average'][0]:.1f} on {os.cpu_count()} cores")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)


if __name__ == "__main__":
    main()
