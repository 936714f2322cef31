"""The `chainrule` command and the run folders it trains, evaluates and exports.

    chainrule train --data digits --hidden 64 --epochs 20 --out runs/digits
    chainrule train --resume runs/digits            # continue an interrupted run
    chainrule evaluate runs/digits [--data NAME]
    chainrule predict runs/digits --input rows.csv [--output predictions.csv]
    chainrule summary runs/digits
    chainrule export runs/digits model.onnx         # ONNX, for onnxruntime and friends
    chainrule datasets
    chainrule generate --corpus names --n 20        # a network that invents names
    chainrule playground                            # train in the browser

Bad arguments, bad input and failures (a full disk, a run folder in use, a diverged run) end
with exit status 2 and a one-line message, no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from chainrule.checkpoint import CheckpointError
from chainrule.cli.arguments import USAGE_ERROR, Parser, UsageError
from chainrule.cli.commands import (
    add_datasets,
    add_evaluate,
    add_export,
    add_predict,
    add_summary,
    add_train,
    current_rank,
)
from chainrule.cli.evaluation import evaluate_run, load_run, predict_file
from chainrule.cli.onnx_export import export_run
from chainrule.cli.run_config import RunConfig
from chainrule.cli.run_schema import RunFolderError
from chainrule.cli.training import RunFailed, train_run

if TYPE_CHECKING:
    from chainrule.cli.arguments import Subcommands

# the command's entry points, and its run folders from Python (what each command calls)
__all__ = [
    "USAGE_ERROR", "RunConfig", "RunFailed", "RunFolderError", "UsageError", "build_parser",
    "evaluate_run", "export_run", "load_run", "main", "predict_file", "train_run",
]  # fmt: skip


# ---------------------------------------------------------------------- optional commands
def _add_optional(
    commands: Subcommands, name: str, module: str, adder: str, runner: str, description: str
) -> None:
    """Commands that live in their own subpackage (text generation, the playground)."""
    import importlib

    try:
        package = importlib.import_module(module)
    except ImportError:
        return
    p = commands.add_parser(name, help=description)
    getattr(package, adder)(p)
    p.set_defaults(run=getattr(package, runner))


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="chainrule",
                     description="chainrule: train, evaluate, keep and share neural networks "
                                 "built from first principles on NumPy.",
                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True
    adders: Sequence[Callable[[Subcommands], None]] = (
        add_train, add_evaluate, add_predict, add_summary, add_export, add_datasets,
    )  # fmt: skip
    for add in adders:
        add(commands)
    _add_optional(
        commands,
        "generate",
        "chainrule.text.cli",
        "add_generate_arguments",
        "run_generate",
        "train a character-level model on names and invent new ones",
    )
    _add_optional(commands, "playground", "chainrule.playground.cli", "add_playground_arguments",
                  "run_playground", "train small networks in the browser")  # fmt: skip
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `chainrule` console script; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        args.argv = list(sys.argv[1:] if argv is None else argv)
        return int(args.run(args) or 0)
    except UsageError as error:
        print(f"{error}", file=sys.stderr)
        return USAGE_ERROR
    except (ValueError, OSError, ImportError, IndexError, CheckpointError,
            np.linalg.LinAlgError) as error:  # fmt: skip
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        rank = current_rank()
        where = "" if rank is None else f"rank {rank}: "
        print(f"chainrule: error: {where}{message}", file=sys.stderr)
        return USAGE_ERROR
    except MemoryError:  # the limits should prevent it; never a traceback if they do not
        print("chainrule: error: out of memory (MemoryError): use smaller settings",
              file=sys.stderr)  # fmt: skip
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130
