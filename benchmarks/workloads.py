"""The workloads: an MLP trained one epoch on random float32 data.

Most are the classic case (ReLU, cross-entropy on class indices, plain SGD); two stress
what that misses: a deep narrow tanh network (many small layers: per-op cost) and a wide
regression trained with Adam (an optimizer step of several passes over 300k parameters).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Workload:
    id: str
    layers: tuple[int, ...]  # input, hidden..., outputs (classes, or targets for "mse")
    samples: int
    batch: int
    activation: str = "relu"  # "relu" or "tanh", after every layer but the last
    loss: str = "cross_entropy"  # "cross_entropy" (int64 classes) or "mse" (float32 targets)
    optimizer: str = "sgd"  # "sgd" (plain, lr LEARNING_RATE) or "adam" (lr ADAM_LR)

    @property
    def weight_products(self) -> int:
        """Σ fan_in · fan_out: one multiply-add per weight per sample in forward."""
        return sum(a * b for a, b in zip(self.layers[:-1], self.layers[1:], strict=False))

    @property
    def flops_per_sample(self) -> int:
        """Training FLOPs per sample: forward 2·Σ(in·out), backward twice that."""
        return 6 * self.weight_products

    @property
    def parameters(self) -> int:
        return self.weight_products + sum(self.layers[1:])

    def describe(self) -> str:
        """e.g. '784-256-128-10' or '32-32x9-10 tanh, MSE, Adam' (what differs from the
        classic ReLU, cross-entropy, SGD)."""
        sizes, hidden = [str(self.layers[0])], list(self.layers[1:-1])
        while hidden:  # runs of equal widths as WxN
            width, count = hidden[0], 1
            while count < len(hidden) and hidden[count] == width:
                count += 1
            sizes.append(f"{width}x{count}" if count > 2 else "-".join([str(width)] * count))
            hidden = hidden[count:]
        text = "-".join([*sizes, str(self.layers[-1])])
        extras = [self.activation] if self.activation != "relu" else []
        extras += ["MSE"] if self.loss == "mse" else []
        extras += ["Adam"] if self.optimizer == "adam" else []
        return f"{text} {', '.join(extras)}" if extras else text


DEEP = (32, *([32] * 9), 10)  # 9 hidden tanh layers of 32 units: ten small Linear layers
WIDE = (100, 512, 512, 1)

WORKLOADS = (
    Workload("W1", (784, 256, 128, 10), 60_000, 128),
    Workload("W2", (784, 256, 128, 10), 20_000, 32),
    Workload("W3", (2, 16, 16, 2), 20_000, 32),
    Workload("W4", (2, 8, 8, 2), 8_000, 8),
    Workload("deep narrow", DEEP, 20_000, 64, activation="tanh"),
    Workload("wide regression", WIDE, 20_000, 64, loss="mse", optimizer="adam"),
)

QUICK_WORKLOADS = (
    Workload("W1", (784, 256, 128, 10), 512, 128),
    Workload("W3", (2, 16, 16, 2), 512, 32),
    Workload("deep narrow", DEEP, 512, 64, activation="tanh"),
    Workload("wide regression", WIDE, 256, 64, loss="mse", optimizer="adam"),
)

LEARNING_RATE = 0.01  # plain SGD
ADAM_LR = 1e-3  # Adam, betas (0.9, 0.999), eps 1e-8: the defaults everywhere


def make_data(workload: Workload, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (N, in) float32 and targets: int64 classes (N,), or for "mse" float32 (N, out)
    from a fixed random linear map plus noise (something to fit)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((workload.samples, workload.layers[0]), dtype=np.float32)
    if workload.loss == "mse":
        mix = rng.standard_normal((workload.layers[0], workload.layers[-1]), dtype=np.float32)
        noise = rng.standard_normal((workload.samples, workload.layers[-1]), dtype=np.float32)
        y = (X @ mix / np.float32(np.sqrt(workload.layers[0])) + np.float32(0.1) * noise).astype(
            np.float32
        )
        return X, y
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


def workload_from_dict(fields: dict) -> Workload:
    """The inverse of dataclasses.asdict (a worker process gets its workload this way)."""
    return Workload(**{**fields, "layers": tuple(fields["layers"])})
