"""Where a captured step's time goes, statement by statement (`compile_step`'s program).

    python -m benchmarks.step_lines                      # W1 and W2, two BLAS threads
    python -m benchmarks.step_lines --workloads W2 --threads 1 --steps 300 --rounds 9

The program a `CompiledStep` runs is Python source (`step.code`); this tool parses it,
puts ``time.perf_counter()`` around each simple statement (a product, a kernel call, an
assignment: not the ``if``/``else`` around them, whose tests are timed in the statements
they guard), compiles that copy into the program's own namespace and times it step by
step. Rounds alternate the plain program and the timed copy, so the plain step's time is
measured in the same minutes as the statements it is split into; each round also
records what other processes took of the machine (`benchmarks.load`), since a round
under load says little. The timers add about 0.1 µs a statement.

It answers what a profile of the whole step cannot: which of the program's passes costs
what inside the step, where caches, the other BLAS thread and the order of the work
differ from a kernel timed alone (docs/speed.md, "W1 and W2, product by product", has
its figures: the SGD update of W1's and W2's first weight took 98-105 µs inside the
step at two BLAS threads and 48-51 at one, against 42 alone).
"""

from __future__ import annotations

import argparse
import ast
import os
import statistics
import time
from collections import defaultdict
from typing import Any

from benchmarks.load import LoadMeter
from benchmarks.workloads import WORKLOADS, Workload, make_data


class _Timed(ast.NodeTransformer):
    """Each simple statement of every block becomes ``t = clock(); <it>; spent[key] +=
    clock() - t``; compound statements are walked into, ``return`` is left alone."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.labels: dict[str, str] = {}

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if not (isinstance(block, list) and block and isinstance(block[0], ast.stmt)):
                continue
            timed: list[ast.stmt] = []
            for statement in block:
                compound = (ast.If, ast.For, ast.While, ast.With, ast.Try, ast.FunctionDef)
                if isinstance(statement, (*compound, ast.Return)):
                    timed.append(statement)
                    continue
                key = f"{statement.lineno}:{statement.col_offset}"
                text = self.lines[statement.lineno - 1][statement.col_offset :]
                self.labels[key] = text.split("  #")[0].strip()
                timed += ast.parse("_line_start = _line_clock()").body
                timed.append(statement)
                timed += ast.parse(f"_line_spent[{key!r}] += _line_clock() - _line_start").body
            setattr(node, field, timed)
        return node


def timed_program(step: Any) -> tuple[Any, Any, dict[str, float], dict[str, str]]:
    """(the plain run, the timed run, seconds spent per statement key, key -> its source)
    for the single program `step` has recorded. The timed run is compiled into the
    program's namespace under another name: the plain one stays as it was."""
    (program,) = step.programs.values()
    namespace = program.write.namespace
    lines = step.code.splitlines()
    tree = ast.parse(step.code)
    timer = _Timed(lines)
    timer.visit(tree)
    tree.body[0].name = "_timed_run"
    ast.fix_missing_locations(tree)
    spent: dict[str, float] = defaultdict(float)
    namespace.update(_line_clock=time.perf_counter, _line_spent=spent)
    exec(compile(tree, "<compile_step, timed>", "exec"), namespace)  # noqa: S102
    return program.run, namespace["_timed_run"], spent, timer.labels


def line_times(workload: Workload, steps: int = 300, rounds: int = 7) -> dict[str, Any]:
    """The captured step of `workload` timed plain and statement by statement, `rounds`
    rounds of `steps` steps each (the batches cycle through the data set). Returns the
    plain and timed µs a step (median, low, high), the statements' median µs a step
    (largest first, with their source) and the others' CPU share of each round."""
    import chainrule
    from benchmarks.contenders import _chainrule_model, _chainrule_optimizer
    from chainrule import nn

    X, y = make_data(workload)
    model = _chainrule_model(workload)
    loss_fn = nn.MSELoss() if workload.loss == "mse" else nn.CrossEntropyLoss()
    step = chainrule.compile_step(model, loss_fn, _chainrule_optimizer(workload, model))
    inputs, targets = chainrule.from_numpy(X), chainrule.from_numpy(y)
    batches = max(1, len(X) // workload.batch)
    starts = [(i % batches) * workload.batch for i in range(steps)]
    pairs = [(inputs[s : s + workload.batch], targets[s : s + workload.batch]) for s in starts]
    step(*pairs[0])  # recorded
    plain_run, timed_run, spent, labels = timed_program(step)
    (program,) = step.programs.values()

    def run() -> float:
        start = time.perf_counter()
        for x, t in pairs:
            step(x, t)
        return (time.perf_counter() - start) / len(pairs) * 1e6

    plain, timed, others = [], [], []
    per_line: dict[str, list[float]] = defaultdict(list)
    for _ in range(rounds):
        meter = LoadMeter([os.getpid()])
        program.run = plain_run
        plain.append(run())
        program.run = timed_run
        spent.clear()
        timed.append(run())
        for key, seconds in spent.items():
            per_line[key].append(seconds / len(pairs) * 1e6)
        others.append(meter.stop()["others"])
    program.run = plain_run
    lines = sorted(((statistics.median(v), labels[k]) for k, v in per_line.items()), reverse=True)

    def spread(values: list[float]) -> tuple[float, float, float]:
        return statistics.median(values), min(values), max(values)

    return {"plain_us": spread(plain), "timed_us": spread(timed), "lines": lines,
            "others": others}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workloads", nargs="+", default=["W1", "W2"])
    parser.add_argument("--threads", type=int, default=2, help="BLAS threads (threadpoolctl)")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--smallest", type=float, default=0.5, help="µs: shorter ones hidden")
    args = parser.parse_args(argv)
    from benchmarks.machine import set_threads

    set_threads(args.threads, with_torch=False)
    chosen = [w for w in WORKLOADS if w.id in args.workloads]
    if not chosen:
        parser.error(f"no workload among {args.workloads}: {[w.id for w in WORKLOADS]}")
    for workload in chosen:
        report = line_times(workload, args.steps, args.rounds)
        median, low, high = report["plain_us"]
        shares = ", ".join(f"{share:.0%}" for share in report["others"] if share is not None)
        print(f"{workload.id}, {args.threads} BLAS thread(s): {median:.1f} µs a step "
              f"({low:.0f}-{high:.0f}), timed {report['timed_us'][0]:.1f}; "
              f"others' CPU share by round: {shares or 'unknown'}")  # fmt: skip
        total = 0.0
        for us, text in report["lines"]:
            total += us
            if us >= args.smallest:
                print(f"  {us:8.1f} µs  {text[:100]}")
        print(f"  {total:8.1f} µs  the statements' medians added")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
