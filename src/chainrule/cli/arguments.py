"""The command line's parser pieces: the usage error (exit status 2), the argument types
that give one-line messages, and the options whose default depends on the dataset."""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING, NoReturn

USAGE_ERROR = 2


class UsageError(Exception):
    """Raised for bad arguments; main() prints it on one line and exits with status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


if TYPE_CHECKING:
    # what `parser.add_subparsers()` returns: each command adds its parser to it
    Subcommands = argparse._SubParsersAction[Parser]


def hidden_sizes(text: str) -> tuple[int, ...]:
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


def finite_float(text: str) -> float:
    """A finite number (inf and nan are never a meaningful setting)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def positive_float(text: str) -> float:
    value = finite_float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


# ---------------------------------------------------------------------- train and friends
# the options whose default depends on the dataset (see run_config.DATASET_DEFAULTS)
TUNABLE = ("hidden", "activation", "optimizer", "lr", "weight_decay", "dropout", "epochs",
            "batch_size", "samples", "noise", "test_fraction", "val_fraction")  # fmt: skip
