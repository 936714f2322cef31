"""A contender in a process of its own, timed on request: PyTorch and JAX each run in one,
so that their thread pools never share a process with each other or with NumPy's.

    python -m benchmarks.worker pytorch 2      # contender name, thread count

It reads one JSON command a line on stdin and answers one JSON line on stdout:
{"prepare": <workload fields>} -> {"ok": true}; {"run": [first, stop]} (or [] for a whole
epoch) -> {"seconds": s}, timed inside the worker; {"quit": true} ends it. While it waits
for a command it blocks on its stdin and uses no CPU, so the contenders still take turns.
`Remote` is the parent's side.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from benchmarks.workloads import Workload

ROOT = Path(__file__).resolve().parent.parent


def serve(name: str, threads: int, commands: IO[str], answers: IO[str]) -> None:
    from benchmarks.machine import set_threads

    if name == "jax":
        from benchmarks.jax_contender import limit_threads

        limit_threads(threads)
    set_threads(threads, with_torch=name == "pytorch")
    from benchmarks.contenders import CONTENDERS
    from benchmarks.workloads import make_data, workload_from_dict

    epoch: Any = None
    for line in commands:
        command = json.loads(line)
        try:
            if "prepare" in command:
                workload = workload_from_dict(command["prepare"])
                X, y = make_data(workload)
                epoch = CONTENDERS[name](workload, X, y)
                answer: dict[str, Any] = {"ok": True}
            elif "run" in command:
                start = time.perf_counter()
                epoch(*command["run"])
                answer = {"seconds": time.perf_counter() - start}
            else:
                return
        except Exception as error:  # reported to the parent, which stops
            answer = {"error": f"{type(error).__name__}: {error}"}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


class Remote:
    """The parent's handle on a worker: prepare(workload), then timed runs of its epoch."""

    def __init__(self, name: str, threads: int) -> None:
        self.name = name
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"),
               str(ROOT), os.environ.get("PYTHONPATH", "")]))}  # fmt: skip
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.worker", name, str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def _ask(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"benchmark worker {self.name} ended (exit {self.process.poll()})")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"benchmark worker {self.name}: {answer['error']}")
        return answer

    def prepare(self, workload: Workload) -> None:
        self._ask({"prepare": dataclasses.asdict(workload)})

    def __call__(self, first: int | None = None, stop: int | None = None) -> float:
        """Runs the batches of samples first..stop (the whole epoch without them) in the
        worker; returns the seconds it took there."""
        bounds = [] if first is None else [first, stop]
        return float(self._ask({"run": bounds})["seconds"])

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(RuntimeError, OSError, ValueError):
                self._ask({"quit": True})
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def main() -> None:
    name, threads = sys.argv[1], int(sys.argv[2])
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr  # anything a library prints must not reach the protocol
    serve(name, threads, sys.stdin, answers)


if __name__ == "__main__":
    main()
