"""MNIST-1D, the paper's MLP in chainrule and in PyTorch from the same initial weights.

Both train the residual MLP of Greydanus (2020) (examples/17_mnist1d.py) with Adam at 1e-2 on
the same in-order batches of 100 for 6,000 steps; each seed draws chainrule's initial weights
(PyTorch's init scheme) and copies them into the PyTorch model. Prints the test accuracies
per seed and their medians; the README quotes them beside the paper's 68%.

Run: python -m benchmarks.mnist1d_compare [--seeds 0,1,2,3,4] [--steps 6000]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

import chainrule
from chainrule.data.mnist1d import mnist1d

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "17_mnist1d.py"


def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("example_17_mnist1d", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def torch_twin(model: Any) -> Any:
    """The same network in PyTorch, holding a copy of `model`'s weights."""
    import torch

    class PaperMLP(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear1 = torch.nn.Linear(40, 100)
            self.linear2 = torch.nn.Linear(100, 100)
            self.linear3 = torch.nn.Linear(100, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.linear1(x).relu()
            h = h + self.linear2(h).relu()
            return self.linear3(h)

    twin = PaperMLP()
    state = {k: torch.from_numpy(v.detach().numpy().copy()) for k, v in model.state_dict().items()}
    twin.load_state_dict(state)
    return twin


def train_torch(model: Any, X: np.ndarray, y: np.ndarray, steps: int, lr: float) -> list[float]:
    import torch

    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    inputs, targets = torch.from_numpy(X), torch.from_numpy(y)
    losses = []
    for step in range(steps):
        start = (step * 100) % len(X)
        logits = model(inputs[start : start + 100])
        loss = torch.nn.functional.cross_entropy(logits, targets[start : start + 100])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.item()))
    return losses


def torch_accuracy(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    import torch

    with torch.no_grad():
        return float((model(torch.from_numpy(X)).argmax(1).numpy() == y).mean())


def compare(seeds: list[int], steps: int) -> dict[str, Any]:
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)  # one thread each: NumPy's BLAS as PyTorch
    module = example()
    X, y, X_test, y_test = mnist1d()
    rows = []
    for seed in seeds:
        chainrule.manual_seed(seed)
        ours = module.PaperMLP()
        theirs = torch_twin(ours)
        began = time.perf_counter()
        module.train_paper_mlp(ours, X, y, steps)
        ours_seconds = time.perf_counter() - began
        began = time.perf_counter()
        train_torch(theirs, X, y, steps, module.LR)
        theirs_seconds = time.perf_counter() - began
        row = {
            "seed": seed,
            "chainrule": module.accuracy(ours, X_test, y_test),
            "pytorch": torch_accuracy(theirs, X_test, y_test),
            "chainrule_s": ours_seconds,
            "pytorch_s": theirs_seconds,
        }
        rows.append(row)
        print(
            f"seed {seed}: test accuracy chainrule {row['chainrule']:.1%} "
            f"({ours_seconds:.1f}s), PyTorch {row['pytorch']:.1%} ({theirs_seconds:.1f}s)",
            flush=True,
        )
    summary = {
        name: statistics.median(row[name] for row in rows) for name in ("chainrule", "pytorch")
    }
    print(
        f"median over seeds {seeds}: chainrule {summary['chainrule']:.1%}, PyTorch "
        f"{summary['pytorch']:.1%}; the paper: {module.PAPER_MLP_ACCURACY:.0%}"
    )
    return {"rows": rows, "median": summary}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--steps", type=int, default=6000)
    options = parser.parse_args()
    compare([int(s) for s in options.seeds.split(",")], options.steps)
