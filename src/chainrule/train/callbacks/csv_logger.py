"""CSVLogger: each epoch's logs as a row of a CSV file, rewritten atomically."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chainrule.files import atomic_write_text

if TYPE_CHECKING:
    pass

from chainrule.train.callbacks.base import Callback, TrainState


class CSVLogger(Callback):
    """Write the epoch logs to a CSV file, one row per epoch: ``epoch,loss,...,lr``.

    The whole file is rewritten atomically after each epoch (written aside, then renamed),
    so it is always complete and readable, and a column that appears late (e.g. from a
    callback) gets its header. Epochs are counted from 0, as in `History`.

    Args:
        path: the CSV file.
        separator: the field delimiter.
        append: keep the rows already in the file (to continue a resumed run).
    """

    def __init__(self, path: str | os.PathLike[str], separator: str = ",", append: bool = False):
        self.path = Path(path)
        self.separator = separator
        self.append = append
        self._fields: list[str] = []
        self._rows: list[dict[str, Any]] = []

    def on_train_begin(self, state: TrainState) -> None:
        self._fields, self._rows = ["epoch"], []
        if self.append and self.path.exists():
            with self.path.open(newline="") as file:
                reader = csv.DictReader(file, delimiter=self.separator)
                self._fields = list(reader.fieldnames or ["epoch"])
                self._rows = list(reader)

    def on_epoch_end(self, state: TrainState) -> None:
        row: dict[str, Any] = {"epoch": state.epoch, **state.logs}
        self._fields += [key for key in row if key not in self._fields]
        self._rows.append(row)
        _atomic_write_csv(self.path, self._fields, self._rows, self.separator)


def _atomic_write_csv(
    path: Path, fields: list[str], rows: list[dict[str, Any]], separator: str
) -> None:
    """The CSV through files.atomic_write_text (written aside, fsynced, given the replaced
    file's permissions, renamed, the folder fsynced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fields, delimiter=separator, restval="")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, text.getvalue())
