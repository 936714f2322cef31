"""chainrule.sklearn's MLPs against scikit-learn's on scikit-learn's bundled data sets.

    python -m benchmarks.sklearn_compare              # 5 seeds, 3 timed fits per model/seed
    python -m benchmarks.sklearn_compare --seeds 2 --repeats 1 --threads 1

For each data set and seed: a stratified split (25% held out; plain for regression), features
standardized on the training part (the diabetes target too, so R² is reached in a few
hundred epochs), then both estimators are fitted with the same hyperparameters and
``random_state=seed``. Scores are held-out accuracy (classification) or R² (regression),
averaged over the seeds. Fits alternate between the two libraries (which one goes first
alternates too), in one process, so machine noise hits both alike; the table shows the
median fit time and ``speed`` = scikit-learn's median / chainrule's (> 1: chainrule faster).

Prints a markdown table (docs/sklearn.md shows one).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Case:
    name: str
    load: Callable[..., Any]
    task: str  # "classification" or "regression"
    params: dict[str, Any]


def cases() -> list[Case]:
    from sklearn import datasets

    classifier = {"hidden_layer_sizes": (100,), "max_iter": 300}
    return [
        Case("digits", datasets.load_digits, "classification", classifier),
        Case("breast_cancer", datasets.load_breast_cancer, "classification", classifier),
        Case("wine", datasets.load_wine, "classification", classifier),
        Case(
            "diabetes",
            datasets.load_diabetes,
            "regression",
            {"hidden_layer_sizes": (100,), "max_iter": 500, "early_stopping": True},
        ),
    ]


def split(case: Case, seed: int) -> tuple[np.ndarray, ...]:
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = case.load(return_X_y=True)
    stratify = y if case.task == "classification" else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=stratify, random_state=seed
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    if case.task == "regression":
        mean, std = y_train.mean(), y_train.std()
        y_train, y_test = (y_train - mean) / std, (y_test - mean) / std
    return X_train, X_test, y_train, y_test


def estimators(case: Case, seed: int) -> dict[str, Any]:
    from sklearn import neural_network

    from chainrule import sklearn as chainrule_sklearn

    kind = "MLPClassifier" if case.task == "classification" else "MLPRegressor"
    return {
        lib: getattr(module, kind)(random_state=seed, **case.params)
        for lib, module in (("sklearn", neural_network), ("chainrule", chainrule_sklearn))
    }


def run(seeds: int, repeats: int) -> list[dict[str, Any]]:
    from sklearn.exceptions import ConvergenceWarning

    rows = []
    for case in cases():
        scores: dict[str, list[float]] = {"sklearn": [], "chainrule": []}
        seconds: dict[str, list[float]] = {"sklearn": [], "chainrule": []}
        epochs: dict[str, list[int]] = {"sklearn": [], "chainrule": []}
        for seed in range(seeds):
            X_train, X_test, y_train, y_test = split(case, seed)
            for repeat in range(repeats):
                order = ["sklearn", "chainrule"]
                if (seed + repeat) % 2:
                    order.reverse()
                for lib in order:
                    model = estimators(case, seed)[lib]
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", ConvergenceWarning)
                        start = time.perf_counter()
                        model.fit(X_train, y_train)
                        seconds[lib].append(time.perf_counter() - start)
                    if repeat == 0:
                        scores[lib].append(float(model.score(X_test, y_test)))
                        epochs[lib].append(int(model.n_iter_))
        sk, cr = (statistics.median(seconds[lib]) for lib in ("sklearn", "chainrule"))
        rows.append(
            {
                "dataset": case.name,
                "metric": "accuracy" if case.task == "classification" else "R²",
                "sklearn": float(np.mean(scores["sklearn"])),
                "chainrule": float(np.mean(scores["chainrule"])),
                "epochs": (float(np.mean(epochs["sklearn"])), float(np.mean(epochs["chainrule"]))),
                "sklearn_s": sk,
                "chainrule_s": cr,
            }
        )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| dataset | metric | sklearn score | chainrule score | difference | epochs (sk / cr) "
        "| sklearn fit s | chainrule fit s | speed (sk / cr) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        diff = round(r["chainrule"] - r["sklearn"], 9) + 0.0  # no "-0.0000"
        points = f"{100 * diff:+.2f} pt" if r["metric"] == "accuracy" else f"{diff:+.4f}"
        lines.append(
            f"| {r['dataset']} | {r['metric']} | {r['sklearn']:.4f} | {r['chainrule']:.4f} "
            f"| {points} | {r['epochs'][0]:.0f} / {r['epochs'][1]:.0f} "
            f"| {r['sklearn_s']:.3f} | {r['chainrule_s']:.3f} "
            f"| {r['sklearn_s'] / r['chainrule_s']:.2f}× |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds (splits and models)")
    parser.add_argument("--repeats", type=int, default=3, help="timed fits per model and seed")
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (default: all)")
    args = parser.parse_args(argv)

    import sklearn
    from threadpoolctl import threadpool_info, threadpool_limits

    if args.threads:
        threadpool_limits(args.threads)
    blas = ", ".join(f"{i['internal_api']} × {i['num_threads']}" for i in threadpool_info())
    rows = run(args.seeds, args.repeats)
    print(table(rows))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"\n{args.seeds} seeds × {args.repeats} timed fits each; medians. Python "
        f"{platform.python_version()}, NumPy {np.__version__}, scikit-learn {sklearn.__version__}, "
        f"BLAS {blas}, {os.cpu_count()} CPUs, load average {load:.1f} at the end."
    )


if __name__ == "__main__":
    main()
