"""The names model in JAX, in a process of its own: `benchmarks.names`'s third contender.

    python -m benchmarks.names_jax      # started by benchmarks.names, never by hand

The same CharMLP (embedding, Linear, tanh, Linear; cross-entropy on the next character)
as one `jax.jit` step of plain SGD with donated parameters, the learning rate an argument
(so the lr/10 phase does not recompile): what a JAX user writes. It starts from
chainrule's initial weights and takes, chunk by chunk, the same minibatch rows and rates
as chainrule and PyTorch, when `benchmarks.names` tells it to (one JSON line on stdin), and
times each chunk itself (the step is compiled before, at init); XLA runs on one thread,
as the other two do. It never shares a
process with PyTorch (their thread pools slow each other down).

Protocol, one JSON line each way: {"init": {name: nested list}} -> {"ok": true};
{"rows": [[...], ...], "rates": [...]} -> {"seconds": s};
{"loss": "val" | "train"} -> {"loss": nats/char}; {"quit": true} ends it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def serve(commands: IO[str], answers: IO[str]) -> None:
    from benchmarks.jax_contender import limit_threads

    limit_threads(1)
    import time

    import jax
    import jax.numpy as jnp

    from chainrule.text import Vocabulary, build_examples, load_names, split_items

    def logits(params: dict[str, Any], x: Any) -> Any:
        h = params["embed.weight"][x].reshape(x.shape[0], -1)
        h = jnp.tanh(h @ params["fc.weight"].T + params["fc.bias"])
        return h @ params["out.weight"].T + params["out.bias"]

    def loss_of(params: dict[str, Any], x: Any, y: Any) -> Any:
        log_p = jax.nn.log_softmax(logits(params, x), axis=1)
        return -jnp.mean(jnp.take_along_axis(log_p, y[:, None], axis=1))

    def train_step(params: dict[str, Any], x: Any, y: Any, rate: Any) -> Any:
        grads = jax.grad(loss_of)(params, x, y)
        return jax.tree_util.tree_map(lambda p, g: p - rate * g, params, grads)

    step = jax.jit(train_step, donate_argnums=(0,))
    total_loss = jax.jit(lambda p, x, y: -jnp.sum(jnp.take_along_axis(
        jax.nn.log_softmax(logits(p, x), axis=1), y[:, None], axis=1)))  # fmt: skip
    params: dict[str, Any] = {}
    data: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for line in commands:
        command = json.loads(line)
        if "init" in command:
            settings = command["init"]
            items = load_names()
            vocab = Vocabulary.from_items(items)
            train_items, val_items = split_items(items, 0.1, settings["seed"])
            X, Y = build_examples(train_items, vocab, 3)
            Xv, Yv = build_examples(val_items, vocab, 3)
            data = {"train": (X, Y.astype(np.int32)), "val": (Xv, Yv.astype(np.int32))}
            params = {
                k: jnp.asarray(np.asarray(v, np.float32)) for k, v in settings["state"].items()
            }
            warm = jax.tree_util.tree_map(jnp.copy, params)  # compile now, not in a turn
            jax.block_until_ready(step(warm, X[:64], data["train"][1][:64], np.float32(0)))
            answer: dict[str, Any] = {"ok": True}
        elif "rows" in command:
            X, Y = data["train"]
            rows = [np.asarray(r, dtype=np.int64) for r in command["rows"]]
            rates = [np.float32(r) for r in command["rates"]]
            start = time.perf_counter()
            for r, rate in zip(rows, rates, strict=True):
                params = step(params, X[r], Y[r], rate)
            jax.block_until_ready(params)
            answer = {"seconds": time.perf_counter() - start}
        elif "loss" in command:
            X, Y = data["val" if command["loss"] == "val" else "train"]
            total = sum(float(total_loss(params, X[b : b + 8192], Y[b : b + 8192]))
                        for b in range(0, len(Y), 8192))  # fmt: skip
            answer = {"loss": total / len(Y) if len(Y) else float("nan")}
        else:
            return
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


class JaxNames:
    """The parent's handle: init(state, seed), chunk(rows, rates) -> seconds, loss(which)."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"),
               str(ROOT), os.environ.get("PYTHONPATH", "")]))}  # fmt: skip
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.names_jax"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )

    def _ask(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the JAX names worker ended (exit {self.process.poll()})")
        return dict(json.loads(line))

    def init(self, state: dict[str, np.ndarray], seed: int) -> None:
        self._ask({"init": {"seed": seed, "state": {k: v.tolist() for k, v in state.items()}}})

    def chunk(self, rows: list[np.ndarray], rates: list[float]) -> float:
        return float(self._ask({"rows": [r.tolist() for r in rows], "rates": rates})["seconds"])

    def loss(self, which: str) -> float:
        return float(self._ask({"loss": which})["loss"])

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(RuntimeError, OSError, ValueError):
                self._ask({"quit": True})
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def main() -> None:
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr  # anything a library prints must not reach the protocol
    serve(sys.stdin, answers)


if __name__ == "__main__":
    main()
