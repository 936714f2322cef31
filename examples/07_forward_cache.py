"""07 · The forward pass caches what the backward pass needs.

Backward multiplies the upstream gradient by each node's local derivative, and those
derivatives are made of forward values: a linear layer's dW = Gᵀx needs its input x, ReLU
needs to know where it was positive, cross-entropy needs the softmax probabilities. So each
op saves exactly that during forward (`node.saved_values()` shows it), and backward reads it
right to left. Backward then frees the cache (unless `retain_graph=True`): a second backward
through the same graph is an error.

Run: python examples/07_forward_cache.py [--out runs/examples]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import chainrule
from chainrule import nn, viz
from chainrule.nn import functional as F


def describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array {value.shape} {value.dtype}"
    return repr(value)


def main(out_dir: str | Path = "runs/examples") -> dict[str, Any]:
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    X = chainrule.randn(5, 3)
    y = chainrule.tensor([0, 1, 1, 0, 1])
    loss = F.cross_entropy(model(X), y)
    print("a 2-layer MLP 3 -> 4 -> 2 on a batch of 5, forward pass; what each node saved:")
    saved: dict[str, list[str]] = {}
    nodes = viz.nodes(loss)
    for number, node in enumerate(nodes, start=1):
        values = node.saved_values()
        saved[f"{number}:{type(node).__name__}"] = sorted(values)
        print(f"  {number}. {node.name}")
        for key, value in values.items():
            print(f"       {key:14} {describe(value)}")

    first = nodes[0]  # the first Linear: its cached x is the input batch itself, not a copy
    shares_input = bool(np.shares_memory(first.saved_values()["x"], X.detach().numpy()))
    print(f"the first layer's cached x is the input batch itself (no copy): {shares_input}")
    relu_output_shared = bool(
        np.shares_memory(nodes[2].saved_values()["x"], nodes[1].saved_values()["out"])
    )
    print(f"the second layer's cached x is the very array ReLU saved: {relu_output_shared}")

    loss.backward()
    freed = all(not node.saved_values() for node in nodes)
    print(f"after backward every cache is freed: {freed}")
    try:
        loss.backward()
        second_backward_error = ""
    except RuntimeError as error:
        second_backward_error = str(error)
    print(f"a second backward: RuntimeError({second_backward_error[:60]!r}...)")
    return {
        "saved": saved,
        "shares_input": shares_input,
        "relu_output_shared": relu_output_shared,
        "freed_after_backward": freed,
        "second_backward_error": second_backward_error,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/examples", help="output folder (unused)")
    main(parser.parse_args().out)
