"""The names model in chainrule and in PyTorch: same data, weights, batches and schedule.

    python -m benchmarks.names                 # 20000 steps, the defaults of chainrule.text
    python -m benchmarks.names --quick         # a few hundred steps: proves it still runs
    python -m benchmarks.names --steps 5000 --threads 1

Both frameworks train `chainrule.text.CharMLP` (context 3, embedding 10, hidden 200) on
the ``names`` corpus with plain SGD in float32: the same train/validation split, the same
initial weights (chainrule's, copied into PyTorch), the same minibatch indices at every
step and the same learning-rate schedule (lr, then lr/10 for the last 25% of the steps).
Training alternates between them in chunks of steps, so machine noise hits them alike;
examples/s counts training examples (one per predicted character). When JAX is installed
(a bench-only extra) it is the third contender, a jitted step in a process of its own
(benchmarks/names_jax.py) that takes the same rows and rates in its turn.
chainrule's step is `chainrule.text.model.make_step`, the loop `train_language_model`
runs (a `compile_step` program); a throwaway copy of the model takes two steps before the
timing, as JAX compiles its step before, so numba's kernels are loaded (or compiled) then.
Their validation losses should agree within 2%: they differ only by float32
rounding, which the chaotic SGD trajectory amplifies a little.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from typing import Any

import numpy as np

from benchmarks.machine import machine, set_threads

CHUNK = 250


def _torch_model(config: dict[str, Any], state: dict[str, np.ndarray]) -> Any:
    """The same architecture in PyTorch, with chainrule's weights copied in."""
    import torch
    from torch import nn

    class TorchCharMLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            k, e, h, v = (config[key] for key in ("context", "embedding", "hidden", "vocab_size"))
            self.size = k * e
            self.embed = nn.Embedding(v, e)
            self.fc = nn.Linear(k * e, h, bias=not config["batch_norm"])
            self.norm = nn.BatchNorm1d(h) if config["batch_norm"] else nn.Identity()
            self.out = nn.Linear(h, v)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.embed(x).reshape(x.shape[0], self.size)
            return self.out(torch.tanh(self.norm(self.fc(x))))

    model = TorchCharMLP()
    model.load_state_dict({name: torch.from_numpy(array.copy()) for name, array in state.items()})
    return model


def _torch_loss(model: Any, X: np.ndarray, Y: np.ndarray, batch: int = 8192) -> float:
    import torch
    import torch.nn.functional as F

    if len(Y) == 0:
        return float("nan")
    model.eval()
    total = 0.0
    with torch.no_grad():
        for begin in range(0, len(Y), batch):
            x = torch.from_numpy(X[begin : begin + batch])
            y = torch.from_numpy(Y[begin : begin + batch])
            total += float(F.cross_entropy(model(x), y, reduction="sum"))
    model.train()
    return total / len(Y)


def run_names_benchmark(
    steps: int = 20_000,
    quick: bool = False,
    *,
    batch_size: int = 64,
    lr: float = 0.1,
    seed: int = 0,
    threads: int = 1,
    samples: int = 10,
) -> dict[str, Any]:
    """Train the names model `steps` steps in chainrule and in PyTorch, alternately.

    `quick` caps the run at 300 steps. `threads` is set for both PyTorch and NumPy's BLAS
    (default 1: the matrices are tiny, and more threads only add synchronisation).

    Returns a dict with, per framework, the validation and training loss (nats/char),
    seconds and examples/s, plus the relative difference of the validation losses
    (`val_loss_rel_diff`, and `within_2_percent`), the speed ratio and a few names sampled
    from chainrule's model.
    """
    import torch
    import torch.nn.functional as TF

    import chainrule
    from chainrule import optim
    from chainrule.text import (
        CharMLP,
        Vocabulary,
        build_examples,
        evaluate_loss,
        learning_rate_at,
        load_names,
        sample,
        split_items,
    )
    from chainrule.text.model import make_step

    if quick:
        steps = min(steps, 300)
    set_threads(threads)

    items = load_names()
    vocab = Vocabulary.from_items(items)
    train_items, val_items = split_items(items, 0.1, seed)
    X, Y = build_examples(train_items, vocab, 3)
    Xv, Yv = build_examples(val_items, vocab, 3)

    chainrule.manual_seed(seed)
    model = CharMLP(len(vocab))  # context 3, embedding 10, hidden 200: the defaults
    model.train()
    # a copy of the starting weights for PyTorch and JAX (not views of the live ones: an
    # array held elsewhere keeps compile_step from moving the parameters into one flat
    # array, chainrule.capture.flat)
    state = {name: tensor.detach().numpy().copy() for name, tensor in model.state_dict().items()}
    reference = _torch_model(model.config(), state)
    reference.train()

    step = make_step(model, optim.SGD(model.parameters(), lr=lr))
    # warm-up outside the timing, as JAX compiles its step before (names_jax): a throwaway
    # copy records its program and loads (or compiles) numba's kernels
    spare = CharMLP(len(vocab))
    spare.load_state_dict(model.state_dict())
    spare_step = make_step(spare, optim.SGD(spare.parameters(), lr=lr))
    for _ in range(2):  # the recorded step, then a replay
        spare_step(X[:batch_size], Y[:batch_size], lr)
    torch_optimizer = torch.optim.SGD(reference.parameters(), lr=lr)

    def torch_step(x: np.ndarray, y: np.ndarray, rate: float) -> float:
        for group in torch_optimizer.param_groups:
            group["lr"] = rate
        loss = TF.cross_entropy(reference(torch.from_numpy(x)), torch.from_numpy(y))
        torch_optimizer.zero_grad()
        loss.backward()
        torch_optimizer.step()
        return float(loss.item())

    def timed(run: Any) -> Any:
        def chunk(rows: list[np.ndarray], rates: list[float]) -> float:
            start = time.perf_counter()
            for r, rate in zip(rows, rates, strict=True):
                run(X[r], Y[r], rate)
            return time.perf_counter() - start

        return chunk

    runs = [("chainrule", timed(step)), ("pytorch", timed(torch_step))]
    jax_names = None
    if importlib.util.find_spec("jax") is not None:  # a bench-only extra
        from benchmarks.names_jax import JaxNames

        jax_names = JaxNames()  # a process of its own, one XLA thread, timed there
        jax_names.init(state, seed)
        runs.append(("jax", jax_names.chunk))
    batches = np.random.default_rng([1, seed])  # as train_language_model draws them
    seconds = dict.fromkeys((name for name, _ in runs), 0.0)
    try:
        for number, begin in enumerate(range(0, steps, CHUNK)):
            chunk = range(begin, min(begin + CHUNK, steps))
            rows = [batches.integers(0, len(Y), batch_size) for _ in chunk]
            rates = [learning_rate_at(i, steps, lr) for i in chunk]
            shift = number % len(runs)  # who goes first rotates
            for name, run in runs[shift:] + runs[:shift]:
                seconds[name] += run(rows, rates)
        losses = {
            "chainrule": (evaluate_loss(model, Xv, Yv), evaluate_loss(model, X, Y)),
            "pytorch": (_torch_loss(reference, Xv, Yv), _torch_loss(reference, X, Y)),
        }
        if jax_names is not None:
            losses["jax"] = (jax_names.loss("val"), jax_names.loss("train"))
    finally:
        if jax_names is not None:
            jax_names.close()
    frameworks = {}
    for name, (val_loss, train_loss) in losses.items():
        frameworks[name] = {
            "val_loss": val_loss,
            "train_loss": train_loss,
            "seconds": seconds[name],
            "examples_per_second": steps * batch_size / seconds[name] if seconds[name] else 0.0,
        }
    rel = abs(losses["chainrule"][0] - losses["pytorch"][0]) / losses["pytorch"][0]
    extra: dict[str, Any] = {}
    if "jax" in frameworks:
        extra["jax"] = frameworks["jax"]
        extra["speed_vs_jax"] = seconds["jax"] / seconds["chainrule"] if steps else float("nan")
    return {
        "machine": machine(),
        "threads": threads,
        "versions": {
            "numpy": np.__version__,
            "chainrule": chainrule.__version__,
            "torch": torch.__version__,
        },
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "lr_schedule": "lr for the first 75% of the steps, then lr/10",
        "train_items": len(train_items),
        "val_items": len(val_items),
        "train_examples": len(Y),
        "chainrule": frameworks["chainrule"],
        "pytorch": frameworks["pytorch"],
        "val_loss_rel_diff": rel,
        "within_2_percent": bool(rel <= 0.02),
        "speed_vs_pytorch": seconds["pytorch"] / seconds["chainrule"] if steps else float("nan"),
        "names": sample(model, vocab, samples, temperature=0.8, seed=seed, exclude=set(items)),
        **extra,
    }


def markdown(report: dict[str, Any]) -> str:
    v = report["versions"]
    lines = [
        f"Names model (CharMLP 3-10-200, SGD lr {report['lr']} then lr/10 for the last 25%, "
        f"batch {report['batch_size']}, {report['steps']} steps, float32) on "
        f"{report['train_items']} training names; {report['machine']}, "
        f"{report['threads']} threads. NumPy {v['numpy']}, PyTorch {v['torch']}.",
        "",
        "| framework | validation loss (nats/char) | training loss | examples/s | seconds |",
        "|---|---:|---:|---:|---:|",
    ]
    labels = [("chainrule", "chainrule"), ("pytorch", f"PyTorch {v['torch']}"), ("jax", "JAX jit")]
    for name, label in labels:
        if name not in report:
            continue
        r = report[name]
        lines.append(
            f"| {label} | {r['val_loss']:.4f} | {r['train_loss']:.4f} "
            f"| {r['examples_per_second']:,.0f} | {r['seconds']:.1f} |"
        )
    verdict = "within" if report["within_2_percent"] else "NOT within"
    lines += [
        "",
        f"Relative difference of the validation losses: {report['val_loss_rel_diff']:.1e} "
        f"({verdict} 2%); "
        f"chainrule runs at {report['speed_vs_pytorch']:.2f}x PyTorch's speed"
        + (
            f" and {report['speed_vs_jax']:.2f}x JAX's (one jitted SGD step, in a process of "
            "its own)."
            if "speed_vs_jax" in report
            else "."
        ),  # fmt: skip
        "",
        "New names from chainrule's model (temperature 0.8): " + ", ".join(report["names"]),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="at most 300 steps")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    report = run_names_benchmark(args.steps, args.quick, threads=args.threads, seed=args.seed)
    print(json.dumps(report) if args.json else markdown(report), end="")


if __name__ == "__main__":
    main()
