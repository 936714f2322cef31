"""11 · A layer of neurons with Python loops vs one matrix product: same numbers, far faster.

Each of 64 sigmoid neurons computes σ(Σᵢ wᵢxᵢ + b) for each of 256 examples: written with
`for` loops, that is 256 · 64 · 32 multiply-adds one Python step at a time. Written as one
matrix product, σ(X Wᵀ + b), NumPy does the same arithmetic in compiled code, the bias is
broadcast over every row and exp runs over the whole matrix at once. The results agree to
rounding; the speed-up is printed (it depends on the machine, so it is not a test).

Run: python examples/11_loops_vs_vectorised.py [--out runs/examples]
"""

from __future__ import annotations

import argparse
import math
import timeit
from pathlib import Path
from typing import Any

import numpy as np

import chainrule
from chainrule.nn import functional as F

SAMPLES, INPUTS, NEURONS = 256, 32, 64


def layer_with_loops(
    X: list[list[float]], W: list[list[float]], b: list[float]
) -> list[list[float]]:
    out = []
    for x in X:  # every example
        row = []
        for w, bias in zip(W, b, strict=True):  # every neuron
            t = bias
            for w_i, x_i in zip(w, x, strict=True):  # every input
                t += w_i * x_i
            row.append(1 / (1 + math.exp(-t)))
        out.append(row)
    return out


def vectorised_layer(X: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-(X @ W.T + b)))  # b is broadcast to every row


def main(out_dir: str | Path = "runs/examples") -> dict[str, Any]:
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(SAMPLES, INPUTS))
    W = rng.normal(size=(NEURONS, INPUTS)) / math.sqrt(INPUTS)
    b = rng.normal(size=NEURONS)
    X_list, W_list, b_list = X.tolist(), W.tolist(), b.tolist()

    # the best of several runs: the least disturbed by whatever else the machine is doing
    loop_seconds = min(
        timeit.repeat(lambda: layer_with_loops(X_list, W_list, b_list), number=1, repeat=3)
    )
    looped = np.array(layer_with_loops(X_list, W_list, b_list))
    numpy_seconds = min(timeit.repeat(lambda: vectorised_layer(X, W, b), number=20, repeat=5)) / 20
    vectorised = vectorised_layer(X, W, b)

    with chainrule.no_grad():  # the same layer in chainrule: F.linear + sigmoid
        as_tensors = [chainrule.tensor(a, dtype=chainrule.float64) for a in (X, W, b)]
        layer = F.linear(*as_tensors).sigmoid().numpy()

    difference = float(np.abs(looped - vectorised).max())
    difference_chainrule = float(np.abs(looped - layer).max())
    print(f"{NEURONS} sigmoid neurons on {SAMPLES} examples of {INPUTS} features")
    print(f"python loops: {loop_seconds * 1e3:8.2f} ms")
    print(
        f"one matmul:   {numpy_seconds * 1e3:8.3f} ms   ({loop_seconds / numpy_seconds:,.0f}× "
        "faster)"
    )
    print(
        f"largest difference: loops vs NumPy {difference:.1e}, loops vs chainrule "
        f"{difference_chainrule:.1e}"
    )
    return {
        "max_difference": difference,
        "max_difference_chainrule": difference_chainrule,
        "loop_seconds": loop_seconds,
        "vectorised_seconds": numpy_seconds,
        "speedup": loop_seconds / numpy_seconds,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/examples", help="output folder (unused)")
    main(parser.parse_args().out)
