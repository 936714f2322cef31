"""The workloads: an MLP with ReLU, cross-entropy and plain SGD, one epoch on random data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Workload:
    id: str
    layers: tuple[int, ...]  # input, hidden..., classes
    samples: int
    batch: int

    @property
    def weight_products(self) -> int:
        """Σ fan_in · fan_out: one multiply-add per weight per sample in forward."""
        return sum(a * b for a, b in zip(self.layers[:-1], self.layers[1:], strict=False))

    @property
    def flops_per_sample(self) -> int:
        """Training FLOPs per sample: forward 2·Σ(in·out), backward twice that."""
        return 6 * self.weight_products

    def describe(self) -> str:
        return "-".join(map(str, self.layers))


WORKLOADS = (
    Workload("W1", (784, 256, 128, 10), 60_000, 128),
    Workload("W2", (784, 256, 128, 10), 20_000, 32),
    Workload("W3", (2, 16, 16, 2), 20_000, 32),
    Workload("W4", (2, 8, 8, 2), 8_000, 8),
)

QUICK_WORKLOADS = (
    Workload("W1", (784, 256, 128, 10), 512, 128),
    Workload("W3", (2, 16, 16, 2), 512, 32),
)

LEARNING_RATE = 0.01


def make_data(workload: Workload, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((workload.samples, workload.layers[0]), dtype=np.float32)
    y = rng.integers(0, workload.layers[-1], workload.samples).astype(np.int64)
    return X, y


def make_weights(workload: Workload, seed: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    """PyTorch-default-like uniform init, shared by every contender: (W (out, in), b (out,))."""
    rng = np.random.default_rng(seed)
    weights = []
    for fan_in, fan_out in zip(workload.layers[:-1], workload.layers[1:], strict=False):
        bound = 1 / np.sqrt(fan_in)
        W = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        b = rng.uniform(-bound, bound, fan_out).astype(np.float32)
        weights.append((W, b))
    return weights
