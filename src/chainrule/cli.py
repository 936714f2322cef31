"""The `chainrule` command: a thin layer over `chainrule.runs` and friends.

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
import io
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from chainrule.checkpoint import CheckpointError

USAGE_ERROR = 2


class UsageError(Exception):
    """Raised for bad arguments; main() prints it on one line and exits with status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _hidden(text: str) -> tuple[int, ...]:
    """'64,32' -> (64, 32); '' -> () (no hidden layer)."""
    if not text.strip():
        return ()
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"malformed --hidden {text!r}: give layer sizes separated by commas, e.g. 64,32"
        ) from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"--hidden sizes must be >= 1, got {text!r}")
    return sizes


def _finite_float(text: str) -> float:
    """A finite number (inf and nan are never a meaningful setting)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = _finite_float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = _finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


# ---------------------------------------------------------------------- train and friends
# the options whose default depends on the dataset (see runs.DATASET_DEFAULTS)
_TUNABLE = ("hidden", "activation", "optimizer", "lr", "weight_decay", "dropout", "epochs",
            "batch_size", "samples", "noise", "test_fraction", "val_fraction")  # fmt: skip


def _add_train(commands: Any) -> None:
    from chainrule.runs import ACTIVATIONS, OPTIMIZERS, RunConfig

    defaults = RunConfig()
    p = commands.add_parser(
        "train",
        help="train an MLP on a dataset and write a run folder",
        description="Options left out take the dataset's defaults (`chainrule datasets` lists "
        "those that differ from the ones below).",
    )
    p.add_argument(
        "--data",
        default=None,
        help=f"dataset name or spec (see `chainrule datasets`), default {defaults.data}; with "
        "--resume, the data of a run trained on files (a run folder's paths are never "
        "opened unless named here)",
    )
    p.add_argument(
        "--hidden",
        type=_hidden,
        default=None,
        help="hidden layer sizes, e.g. 64,32 (default 64)",
    )
    p.add_argument("--activation", choices=list(ACTIVATIONS), default=None,
                   help=f"default {defaults.activation}")  # fmt: skip
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=None,
                   help=f"default {defaults.optimizer}")  # fmt: skip
    p.add_argument("--lr", type=_positive_float, default=None,
                   help=f"learning rate (default {defaults.lr:g})")  # fmt: skip
    p.add_argument("--weight-decay", type=_non_negative_float, default=None)
    p.add_argument("--dropout", type=_non_negative_float, default=None)
    p.add_argument("--epochs", type=_positive_int, default=None,
                   help=f"number of epochs (default {defaults.epochs}; with --resume, the new "
                        "total, else the saved one)")  # fmt: skip
    p.add_argument("--batch-size", type=_positive_int, default=None,
                   help=f"default {defaults.batch_size}")  # fmt: skip
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument(
        "--samples",
        type=_positive_int,
        default=None,
        help=f"number of points for the generated 2-D datasets (default {defaults.samples})",
    )
    p.add_argument(
        "--noise",
        type=_non_negative_float,
        default=None,
        help=f"noise of the generated datasets, 0 to 0.5 (default {defaults.noise})",
    )
    p.add_argument("--test-fraction", type=_finite_float, default=None,
                   help=f"default {defaults.test_fraction}; mnist and mnist1d have a fixed "
                        "test set")  # fmt: skip
    p.add_argument("--val-fraction", type=_finite_float, default=None,
                   help=f"default {defaults.val_fraction}")  # fmt: skip
    p.add_argument("--out", default=None, help="run folder (default runs/<data>)")
    p.add_argument("--resume", metavar="DIR", default=None,
                   help="continue the interrupted run in DIR (its settings are reused; "
                        "--epochs may extend it)")  # fmt: skip
    p.add_argument("--no-plots", action="store_true", help="do not draw PNG plots")
    p.add_argument("--export-onnx", action="store_true",
                   help="also write DIR/model.onnx (needs chainrule[onnx])")  # fmt: skip
    p.add_argument("--no-progress", action="store_true", help="no progress output")
    p.add_argument(
        "--nproc",
        type=_positive_int,
        default=1,
        metavar="N",
        help="train data-parallel in N processes on this machine (through the "
        "mpiexec of chainrule[distributed]); --batch-size is the global batch",
    )
    p.add_argument(
        "--distributed",
        action="store_true",
        help="this process is one rank of an MPI job started by mpiexec or srun "
        "(what --nproc runs; use it on a cluster, see docs/distributed.md)",
    )
    p.add_argument("--threads", type=_positive_int, default=None,
                   help="BLAS threads per rank (default: cores // ranks on the node)")  # fmt: skip
    p.set_defaults(run=_train)


def _launch_ranks(args: argparse.Namespace, config: Any) -> int:
    """`--nproc N`: run this same command as N MPI ranks with --distributed."""
    from chainrule.distributed.launch import launch

    if not args.resume:
        config.check()  # a bad setting fails once here, not once per rank
    elif not (Path(args.resume) / "model.safetensors").exists():
        raise FileNotFoundError(f"cannot resume: {Path(args.resume) / 'model.safetensors'} "
                                "does not exist")  # fmt: skip
    argv, skip = [], False
    for token in args.argv:
        if skip:
            skip = False
        elif token == "--nproc":
            skip = True
        elif not token.startswith("--nproc="):
            argv.append(token)
    command = [sys.executable, "-m", "chainrule.cli", *argv, "--distributed"]
    return launch(command, args.nproc, threads=args.threads)


def _train(args: argparse.Namespace) -> int:
    from chainrule.runs import RunConfig, defaults_for, train_run

    if args.resume:
        config = RunConfig(out=args.resume, epochs=args.epochs or 0)
    else:
        data = args.data or RunConfig.data
        settings = defaults_for(data)
        settings.update({name: getattr(args, name) for name in _TUNABLE
                         if getattr(args, name) is not None})  # fmt: skip
        settings["seed"] = args.seed
        settings["out"] = args.out or str(Path("runs") / data.split(":")[0])
        config = RunConfig(**settings)
    if args.nproc > 1 and not args.distributed:
        return _launch_ranks(args, config)
    if args.threads is not None:
        os.environ["CHAINRULE_THREADS"] = str(args.threads)
    named = args.data if args.resume else None  # the data a resumed run may read
    results = train_run(config, resume=bool(args.resume), progress=not args.no_progress,
                        plots=not args.no_plots, data=named,
                        distributed=args.distributed)  # fmt: skip
    if args.distributed and _rank() != 0:
        return 0  # rank 0 reports
    print(_metrics_table(results))
    picture = Path(config.out) / "misclassified.png"
    if not args.no_plots and picture.exists():  # image data: the test images it got wrong
        print(f"misclassified test images: {picture}")
    if args.export_onnx:
        from chainrule.onnx import export_run  # onnx is an optional extra

        print(f"wrote {export_run(config.out, Path(config.out) / 'model.onnx')}")
    print(f"run folder: {config.out}")
    return 0


def _rank() -> int | None:
    """This process's rank in a live chainrule.distributed group, else None."""
    group = sys.modules.get("chainrule.distributed.group")
    if group is None or not group.is_initialized():
        return None
    return int(group.get_rank())


def _metrics_table(results: dict[str, float]) -> str:
    width = max((len(k) for k in results), default=0)
    lines = ["final metrics"]
    for key, value in results.items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        lines.append(f"  {key:<{width}}  {shown}")
    return "\n".join(lines)


def _add_evaluate(commands: Any) -> None:
    p = commands.add_parser("evaluate", help="test metrics of a saved run")
    p.add_argument("run_dir")
    p.add_argument("--data", default=None,
                   help="evaluate on this dataset spec (needed for a run trained on files: "
                        "a run folder's paths are never opened unless named here)")  # fmt: skip
    p.set_defaults(run=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    from chainrule.runs import evaluate_run

    print(_metrics_table(evaluate_run(args.run_dir, args.data)))
    return 0


def _add_predict(commands: Any) -> None:
    p = commands.add_parser("predict", help="predict each row of a CSV of features")
    p.add_argument("run_dir")
    p.add_argument("--input", required=True, help="CSV with a header naming the features")
    p.add_argument("--output", default=None, help="write predictions here (default stdout)")
    p.set_defaults(run=_predict)


def _predict(args: argparse.Namespace) -> int:
    from chainrule.files import atomic_write_text
    from chainrule.runs import predict_file

    columns, rows = predict_file(args.run_dir, args.input)
    buffer = io.StringIO()
    buffer.write(",".join(columns) + "\n")
    for row in rows:
        cells = [str(int(row[0])) if columns[0] == "prediction" and len(columns) > 1 else
                 f"{row[0]:.6g}"] + [f"{v:.6g}" for v in row[1:]]  # fmt: skip
        buffer.write(",".join(cells) + "\n")
    if args.output:
        atomic_write_text(args.output, buffer.getvalue())
        print(f"wrote {len(rows)} predictions to {args.output}")
    else:
        sys.stdout.write(buffer.getvalue())
    return 0


def _add_summary(commands: Any) -> None:
    p = commands.add_parser("summary", help="layers, output shapes and parameter counts")
    p.add_argument("run_dir")
    p.set_defaults(run=_summary)


def _summary(args: argparse.Namespace) -> int:
    from chainrule.runs import load_run
    from chainrule.train import summary

    saved, model, config = load_run(args.run_dir)
    n_features = len(saved["feature_names"])
    print(f"run {args.run_dir}: data {config.data}, {saved['task']}, epoch {saved.epoch + 1}")
    print(summary(model, (n_features,)))
    return 0


def _add_export(commands: Any) -> None:
    p = commands.add_parser("export", help="export a saved run's model to ONNX")
    p.add_argument("run_dir")
    p.add_argument("path", help="the .onnx file to write")
    p.add_argument("--raw-standardized", action="store_true",
                   help="leave out the standardisation: the model then takes standardised "
                        "features, as inside chainrule")  # fmt: skip
    p.add_argument("--opset", type=_positive_int, default=17)
    p.set_defaults(run=_export)


def _export(args: argparse.Namespace) -> int:
    from chainrule.onnx import export_run  # onnx is an optional extra
    from chainrule.runs import load_run

    load_run(args.run_dir)  # a run folder is untrusted: its metadata is validated first
    path = export_run(args.run_dir, args.path, opset=args.opset,
                      include_standardization=not args.raw_standardized)  # fmt: skip
    print(f"wrote {path}")
    return 0


def _add_datasets(commands: Any) -> None:
    p = commands.add_parser("datasets", help="list the datasets `--data` accepts")
    p.set_defaults(run=_datasets)


def _datasets(args: argparse.Namespace) -> int:
    from chainrule.data import list_datasets
    from chainrule.runs import DATASET_DEFAULTS

    rows = [("name", "shape", "task", "description"), *list_datasets()]
    widths = [max(len(str(row[i])) for row in rows) for i in range(3)]
    for row in rows:
        line = "  ".join(str(row[i]).ljust(widths[i]) for i in range(3)) + "  " + str(row[3])
        if row[0] in DATASET_DEFAULTS:
            line += f" [train defaults: {_flags(DATASET_DEFAULTS[str(row[0])])}]"
        print(line)
    return 0


def _flags(settings: dict[str, Any]) -> str:
    """{'hidden': (128,), 'lr': 0.002} -> '--hidden 128 --lr 0.002'."""
    parts = []
    for name, value in settings.items():
        shown = ",".join(map(str, value)) if isinstance(value, tuple) else f"{value:g}"
        parts.append(f"--{name.replace('_', '-')} {shown}")
    return " ".join(parts)


# ---------------------------------------------------------------------- optional commands
def _add_optional(
    commands: Any, name: str, module: str, adder: str, runner: str, description: str
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
    parser = _Parser(prog="chainrule",
                     description="chainrule: train, evaluate, keep and share neural networks "
                                 "built from first principles on NumPy.",
                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    adders: Sequence[Callable[[Any], None]] = (
        _add_train, _add_evaluate, _add_predict, _add_summary, _add_export, _add_datasets,
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
        rank = _rank()
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


if __name__ == "__main__":
    raise SystemExit(main())
