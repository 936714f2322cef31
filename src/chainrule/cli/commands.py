"""The commands: for each, the parser it adds and the function that runs it, over the
run modules of this package (imported when the command runs, so `--help` stays quick)."""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chainrule.cli.arguments import Subcommands
from chainrule.cli.arguments import (
    TUNABLE,
    finite_float,
    hidden_sizes,
    non_negative_float,
    positive_float,
    positive_int,
)
from chainrule.cli.evaluation import evaluate_run, load_run, predict_file
from chainrule.cli.factories import ACTIVATIONS, OPTIMIZERS
from chainrule.cli.onnx_export import export_run
from chainrule.cli.run_config import DATASET_DEFAULTS, RunConfig, defaults_for
from chainrule.cli.training import train_run


def add_train(commands: Subcommands) -> None:

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
        type=hidden_sizes,
        default=None,
        help="hidden layer sizes, e.g. 64,32 (default 64)",
    )
    p.add_argument("--activation", choices=list(ACTIVATIONS), default=None,
                   help=f"default {defaults.activation}")  # fmt: skip
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=None,
                   help=f"default {defaults.optimizer}")  # fmt: skip
    p.add_argument("--lr", type=positive_float, default=None,
                   help=f"learning rate (default {defaults.lr:g})")  # fmt: skip
    p.add_argument("--weight-decay", type=non_negative_float, default=None)
    p.add_argument("--dropout", type=non_negative_float, default=None)
    p.add_argument("--epochs", type=positive_int, default=None,
                   help=f"number of epochs (default {defaults.epochs}; with --resume, the new "
                        "total, else the saved one)")  # fmt: skip
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help=f"default {defaults.batch_size}")  # fmt: skip
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument(
        "--samples",
        type=positive_int,
        default=None,
        help=f"number of points for the generated 2-D datasets (default {defaults.samples})",
    )
    p.add_argument(
        "--noise",
        type=non_negative_float,
        default=None,
        help=f"noise of the generated datasets, 0 to 0.5 (default {defaults.noise})",
    )
    p.add_argument("--test-fraction", type=finite_float, default=None,
                   help=f"default {defaults.test_fraction}; mnist and mnist1d have a fixed "
                        "test set")  # fmt: skip
    p.add_argument("--val-fraction", type=finite_float, default=None,
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
        type=positive_int,
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
    p.add_argument("--threads", type=positive_int, default=None,
                   help="BLAS threads per rank (default: cores // ranks on the node)")  # fmt: skip
    p.set_defaults(run=_train)


def _launch_ranks(args: argparse.Namespace, config: RunConfig) -> int:
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
    if args.resume:
        config = RunConfig(out=args.resume, epochs=args.epochs or 0)
    else:
        data = args.data or RunConfig.data
        settings = defaults_for(data)
        settings.update({name: getattr(args, name) for name in TUNABLE
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
    if args.distributed and current_rank() != 0:
        return 0  # rank 0 reports
    print(metrics_table(results))
    picture = Path(config.out) / "misclassified.png"
    if not args.no_plots and picture.exists():  # image data: the test images it got wrong
        print(f"misclassified test images: {picture}")
    if args.export_onnx:
        print(f"wrote {export_run(config.out, Path(config.out) / 'model.onnx')}")
    print(f"run folder: {config.out}")
    return 0


def current_rank() -> int | None:
    """This process's rank in a live chainrule.distributed group, else None."""
    group = sys.modules.get("chainrule.distributed.group")
    if group is None or not group.is_initialized():
        return None
    return int(group.get_rank())


def metrics_table(results: dict[str, float]) -> str:
    width = max((len(k) for k in results), default=0)
    lines = ["final metrics"]
    for key, value in results.items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        lines.append(f"  {key:<{width}}  {shown}")
    return "\n".join(lines)


def add_evaluate(commands: Subcommands) -> None:
    p = commands.add_parser("evaluate", help="test metrics of a saved run")
    p.add_argument("run_dir")
    p.add_argument("--data", default=None,
                   help="evaluate on this dataset spec (needed for a run trained on files: "
                        "a run folder's paths are never opened unless named here)")  # fmt: skip
    p.set_defaults(run=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    print(metrics_table(evaluate_run(args.run_dir, args.data)))
    return 0


def add_predict(commands: Subcommands) -> None:
    p = commands.add_parser("predict", help="predict each row of a CSV of features")
    p.add_argument("run_dir")
    p.add_argument("--input", required=True, help="CSV with a header naming the features")
    p.add_argument("--output", default=None, help="write predictions here (default stdout)")
    p.set_defaults(run=_predict)


def _predict(args: argparse.Namespace) -> int:
    from chainrule.files import atomic_write_text

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


def add_summary(commands: Subcommands) -> None:
    p = commands.add_parser("summary", help="layers, output shapes and parameter counts")
    p.add_argument("run_dir")
    p.set_defaults(run=_summary)


def _summary(args: argparse.Namespace) -> int:
    from chainrule.train import summary

    saved, model, config = load_run(args.run_dir)
    n_features = len(saved["feature_names"])
    print(f"run {args.run_dir}: data {config.data}, {saved['task']}, epoch {saved.epoch + 1}")
    print(summary(model, (n_features,)))
    return 0


def add_export(commands: Subcommands) -> None:
    p = commands.add_parser("export", help="export a saved run's model to ONNX")
    p.add_argument("run_dir")
    p.add_argument("path", help="the .onnx file to write")
    p.add_argument("--raw-standardized", action="store_true",
                   help="leave out the standardisation: the model then takes standardised "
                        "features, as inside chainrule")  # fmt: skip
    p.add_argument("--opset", type=positive_int, default=17)
    p.set_defaults(run=_export)


def _export(args: argparse.Namespace) -> int:
    path = export_run(args.run_dir, args.path, opset=args.opset,
                      include_standardization=not args.raw_standardized)  # fmt: skip
    print(f"wrote {path}")
    return 0


def add_datasets(commands: Subcommands) -> None:
    p = commands.add_parser("datasets", help="list the datasets `--data` accepts")
    p.set_defaults(run=_datasets)


def _datasets(args: argparse.Namespace) -> int:
    from chainrule.data import list_datasets

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
