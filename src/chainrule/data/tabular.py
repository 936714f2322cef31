"""`load_csv`: a numeric table with a header row -> (X, y, feature_names), via the csv module;
`load_features`: the named columns of such a table (what `chainrule predict` reads).

Rows are numbered as in the file, 1-based with the header as row 1, so an error message
points at the line to fix (for files without multi-line quoted cells). Blank lines are
skipped but still counted.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Sequence

import numpy as np

from chainrule.files import read_regular
from chainrule.limits import MAX_CSV_BYTES


def _number(cell: str, row: int, column: str, name: str) -> float:
    text = cell.strip()
    if not text:
        raise ValueError(f"{name}: row {row}, column {column!r}: missing value")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(
            f"{name}: row {row}, column {column!r}: non-numeric value {cell!r}"
        ) from None
    if not math.isfinite(value):
        raise ValueError(f"{name}: row {row}, column {column!r}: missing or non-finite {cell!r}")
    return value


def _is_integer_text(text: str) -> bool:
    try:
        int(text.strip())
    except ValueError:
        return False
    return True


def load_csv(
    path: str | os.PathLike[str], target_column: str | int
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read a CSV of numbers whose first row names the columns.

    Args:
        path: the CSV file (comma-separated, optionally quoted, UTF-8).
        target_column: the name of the target column (or its 0-based position).

    Returns:
        X: float32 of shape (rows, columns - 1), the other columns in file order.
        y: shape (rows,); int64 when every target cell is written as an integer
            (classification), else float32 (regression).
        feature_names: the header names of X's columns.

    Raises:
        ValueError naming the file, the row (1-based, header = row 1) and the column for a
        missing, non-numeric or non-finite cell, a value too large for float32, or a row of
        the wrong length; also for bytes that are not UTF-8, a malformed CSV row, an empty
        file, a missing header (a first row of numbers), a target not in the header or a
        file with no data rows, or one whose only column is the target. The file must be
        a regular file of at most `chainrule.limits.MAX_CSV_BYTES`.
    """
    name, header, body = _read_table(path)
    target = _target_position(header, target_column, name)
    if len(header) == 1:
        raise ValueError(
            f"{name}: the only column is the target {header[target]!r}: there are no feature "
            "columns to learn from"
        )
    values = _numbers(name, header, body, range(len(header)))
    integral = all(_is_integer_text(row[target]) for _, row in body)
    # every cell parsed as a finite float64; it must also fit the float32 (or int64) it becomes
    if integral and float(np.abs(values[:, target]).max()) >= 2.0**63:
        integral = False  # not an int64 class label: a (huge) regression target
    features = [j for j in range(len(header)) if j != target]
    _check_float32(name, header, body, values, features if integral else range(len(header)))
    X = values[:, features].astype(np.float32)
    y = values[:, target].astype(np.int64 if integral else np.float32)
    return X, y, [header[j] for j in features]


def load_features(path: str | os.PathLike[str], columns: list[str]) -> np.ndarray:
    """The named columns of a CSV with a header row, as float32 (rows, len(columns)), in the
    order given: what a trained model's `chainrule predict` reads. Other columns may hold
    anything. Raises ValueError as `load_csv` does, and for a named column the header lacks.
    """
    name, header, body = _read_table(path)
    missing = [column for column in columns if column not in header]
    if missing:
        raise ValueError(
            f"{name}: missing feature column(s) {', '.join(missing)}; columns are "
            f"{', '.join(header)}"
        )
    positions = [header.index(column) for column in columns]
    values = _numbers(name, header, body, positions)
    _check_float32(name, [header[j] for j in positions], body, values, range(len(positions)))
    return values.astype(np.float32)


def _read_table(path: str | os.PathLike[str]) -> tuple[str, list[str], list[tuple[int, list[str]]]]:
    """The file's name, its header (stripped names) and its non-blank rows with their row
    numbers; errors for undecodable bytes, malformed CSV, no header, no rows."""
    name = os.fspath(path)
    data = read_regular(name, MAX_CSV_BYTES, "CSV file")  # no FIFO, device or folder
    if data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ValueError(
            f"{name}: row {line} is not valid UTF-8 (byte 0x{data[error.start]:02x}); save the "
            "file as UTF-8"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = list(reader)
    except csv.Error as error:  # e.g. a cell over csv.field_size_limit() characters
        raise ValueError(f"{name}: row {reader.line_num}: {error}") from None
    numbered = [(number, row) for number, row in enumerate(rows, start=1) if row]
    if not numbered:
        raise ValueError(f"{name}: the file is empty (a header row is required)")
    header_number, header = numbered[0]
    header = [column.strip() for column in header]
    if all(_is_number(column) for column in header):
        raise ValueError(
            f"{name}: row {header_number} holds numbers, not column names; a header row "
            "naming the columns is required"
        )
    if len(set(header)) != len(header) or not all(header):
        raise ValueError(f"{name}: the header has empty or duplicate column names: {header}")
    body = numbered[1:]
    if not body:
        raise ValueError(f"{name}: no data rows after the header")
    return name, header, body


def _numbers(
    name: str, header: list[str], body: list[tuple[int, list[str]]], columns: Sequence[int]
) -> np.ndarray:
    """float64 (rows, len(columns)): the given columns of every row, each cell a finite
    number; every row must have the header's length."""
    values = np.empty((len(body), len(columns)), dtype=np.float64)
    for out, (number, row) in enumerate(body):
        if len(row) < len(header):
            raise ValueError(
                f"{name}: row {number}, column {header[len(row)]!r}: missing value (the row "
                f"has {len(row)} cells, the header {len(header)})"
            )
        if len(row) > len(header):
            raise ValueError(
                f"{name}: row {number} has {len(row)} cells but the header has {len(header)}"
            )
        values[out] = [_number(row[j], number, header[j], name) for j in columns]
    return values


def _check_float32(
    name: str,
    header: list[str],
    body: list[tuple[int, list[str]]],
    values: np.ndarray,
    columns: Sequence[int],
) -> None:
    """A clear error for the first value of `columns` too large to become float32."""
    columns = list(columns)
    too_big = np.abs(values[:, columns]) > float(np.finfo(np.float32).max)
    if too_big.any():
        out, column = (int(i) for i in np.argwhere(too_big)[0])
        raise ValueError(
            f"{name}: row {body[out][0]}, column {header[columns[column]]!r}: value "
            f"{values[out, columns[column]]:g} is too large for float32 (at most 3.4e38)"
        )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _target_position(header: list[str], target_column: str | int, name: str) -> int:
    if isinstance(target_column, int) and not isinstance(target_column, bool):
        if not -len(header) <= target_column < len(header):
            raise ValueError(
                f"{name}: target column {target_column} out of range for {len(header)} columns"
            )
        return target_column % len(header)
    if target_column not in header:
        raise ValueError(
            f"{name}: target column {target_column!r} is not in the header; columns are "
            f"{', '.join(header)}"
        )
    return header.index(target_column)
