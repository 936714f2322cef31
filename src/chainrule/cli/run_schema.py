"""The schema of a run folder's metadata: the type and range of every field, checked before
anything is built from it.

A run folder is data from anywhere (a download, a colleague's share): its checkpoint's
entries (``run``, ``task``, ``feature_names``, ``epoch``, ...) are validated here, and
`RunConfig.check` then checks the settings' ranges. Every problem is a `RunFolderError`
(a ValueError) naming the folder's checkpoint and the field, one line, e.g.::

    runs/x/model.safetensors: run metadata 'epoch' must be an int, got 'x' (str)

Nothing here opens a file: a data source stored in ``run.data`` is only a string to it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from chainrule.limits import MAX_CLASSES, MAX_EPOCHS, MAX_FEATURES
from chainrule.random import Generator

__all__ = ["MAX_NAME_CHARS", "RunFolderError", "check_run_entries", "check_settings_types"]

MAX_NAME_CHARS = 1_000
"""The longest feature or class name, and the longest data spec, a run folder may hold."""

_TASKS = ("classification", "regression")


class RunFolderError(ValueError):
    """A run folder that cannot be used as it is: bad metadata, in use, or a refusal."""


def _kind(value: Any) -> str:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{shown} ({type(value).__name__})"


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float | np.floating)) and not isinstance(
        value, bool
    )


class _Checker:
    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, field: str, problem: str) -> RunFolderError:
        return RunFolderError(f"{self.where}: run metadata {field!r} {problem}")

    def int_in(self, field: str, value: Any, low: int, high: int) -> int:
        if not _is_int(value):
            raise self.fail(field, f"must be an int, got {_kind(value)}")
        if not low <= value <= high:
            raise self.fail(field, f"must lie in {low}..{high}, got {value}")
        return int(value)

    def text(self, field: str, value: Any) -> str:
        if not isinstance(value, str):
            raise self.fail(field, f"must be a string, got {_kind(value)}")
        if not 0 < len(value) <= MAX_NAME_CHARS or not value.isprintable():
            # printable: a name is echoed to the terminal, where escapes could act
            raise self.fail(field, f"must be 1..{MAX_NAME_CHARS} printable characters")
        return value

    def names(self, field: str, value: Any, low: int, high: int) -> list[str]:
        if not isinstance(value, list):
            raise self.fail(field, f"must be a list of strings, got {_kind(value)}")
        if not low <= len(value) <= high:
            raise self.fail(field, f"must hold {low}..{high} names, it holds {len(value)}")
        return [self.text(f"{field}[{i}]", name) for i, name in enumerate(value)]


def check_settings_types(values: Any, defaults: Mapping[str, Any], where: str) -> None:
    """Check the types of a run's saved settings (``run``) against the defaults' types:
    ints are ints (not bools), floats are finite numbers, strings are strings, tuples are
    lists of ints. Unknown keys are ignored; ranges are `RunConfig.check`'s job."""
    check = _Checker(where)
    if not isinstance(values, Mapping):
        raise check.fail("run", f"must be an object of settings, got {_kind(values)}")
    for key, value in values.items():
        if key not in defaults:
            continue
        field = f"run.{key}"
        default = defaults[key]
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise check.fail(field, f"must be true or false, got {_kind(value)}")
        elif isinstance(default, int):
            if not _is_int(value):
                raise check.fail(field, f"must be an int, got {_kind(value)}")
            if abs(int(value)) >= 2**63:
                raise check.fail(field, f"is out of range: {value}")
        elif isinstance(default, float):
            if not _is_number(value) or not math.isfinite(float(value)):
                raise check.fail(field, f"must be a finite number, got {_kind(value)}")
        elif isinstance(default, str):
            check.text(field, value)
        elif isinstance(default, tuple) and (
            not isinstance(value, list) or not all(_is_int(v) for v in value)
        ):
            raise check.fail(field, f"must be a list of ints, got {_kind(value)}")


def _check_history(check: _Checker, history: Any) -> None:
    if not isinstance(history, Mapping):
        raise check.fail("history", f"must be an object, got {_kind(history)}")
    epochs = history.get("epoch", [])
    if not isinstance(epochs, list) or not all(_is_int(e) and 0 <= e < MAX_EPOCHS for e in epochs):
        raise check.fail("history.epoch", f"must be a list of epoch numbers, got {_kind(epochs)}")
    columns = history.get("history", {})
    if not isinstance(columns, Mapping):
        raise check.fail("history.history", f"must be an object of lists, got {_kind(columns)}")
    for key, values in columns.items():
        ok = isinstance(values, list) and all(v is None or _is_number(v) for v in values)
        if not ok:
            raise check.fail(f"history.history.{key}", "must be a list of numbers")
        if len(values) != len(epochs):
            raise check.fail(
                f"history.history.{key}", f"has {len(values)} values for {len(epochs)} epochs"
            )
    reason = history.get("stopped_reason")
    if reason is not None and not isinstance(reason, str):
        raise check.fail("history.stopped_reason", f"must be a string, got {_kind(reason)}")
    stopped = history.get("stopped_epoch")
    if stopped is not None:
        check.int_in("history.stopped_epoch", stopped, 0, MAX_EPOCHS)


def _check_rng(check: _Checker, field: str, state: Any) -> None:
    """A generator state (torch's 5056-byte layout), tried on a scratch generator (never the
    real one)."""
    if isinstance(state, Mapping):
        raise check.fail(
            field, "is a NumPy PCG64 state from an older chainrule: start the run again"
        )
    try:
        Generator().set_state(state)
    except (TypeError, ValueError, RuntimeError) as error:
        raise check.fail(field, f"is not a valid random-generator state ({error})") from None


def _check_scaler(check: _Checker, field: str, value: Any, n_features: int, std: bool) -> None:
    if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
        raise check.fail(field, f"must be a float array, got {_kind(value)}")
    if value.shape != (n_features,):
        raise check.fail(field, f"must have shape ({n_features},), got {value.shape}")
    if not np.isfinite(value).all() or (std and (value < 0).any()):
        raise check.fail(field, "must hold finite values" + (" >= 0" if std else ""))


def check_run_entries(entries: Mapping[str, Any], where: str) -> None:
    """Check every entry of a run checkpoint except ``run`` (see `check_settings_types`)
    and the model and optimizer (checked when they are used). Raises RunFolderError."""
    check = _Checker(where)
    for key in ("run", "task", "feature_names", "epoch", "scaler_mean", "scaler_std"):
        if key not in entries:
            raise check.fail(key, "is missing: this is not a complete chainrule run folder")
    task = entries["task"]
    if task not in _TASKS:
        raise check.fail("task", f"must be 'classification' or 'regression', got {_kind(task)}")
    features = check.names("feature_names", entries["feature_names"], 1, MAX_FEATURES)
    classes = entries.get("num_classes")
    if task == "classification":
        classes = check.int_in("num_classes", classes, 1, MAX_CLASSES)
        names = entries.get("class_names")
        if names is not None:
            check.names("class_names", names, classes, classes)
    elif classes is not None:
        raise check.fail("num_classes", f"must be null for regression, got {_kind(classes)}")
    check.int_in("epoch", entries["epoch"], 0, MAX_EPOCHS - 1)
    _check_scaler(check, "scaler_mean", entries["scaler_mean"], len(features), std=False)
    _check_scaler(check, "scaler_std", entries["scaler_std"], len(features), std=True)
    if "history" in entries:
        _check_history(check, entries["history"])
    for key in ("rng", "loader_rng"):
        if key in entries:
            _check_rng(check, key, entries[key])
