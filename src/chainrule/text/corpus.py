"""Corpora: a list of items (names, spells, words), one per line of a UTF-8 text file.

`load_corpus("names")` gives the built-in corpus: the US first names (male and female)
shipped in the PyPI package ``names`` (``pip install "chainrule[text]"``), lower-cased and
deduplicated. Any other argument is the path of a text file:

* one item per line, UTF-8 (a leading byte-order mark is allowed); any script works;
* whitespace around an item is stripped, blank lines are ignored;
* items are normalised to Unicode NFC (so 'é' is one character however it was typed) and
  deduplicated, keeping the first occurrence's order.
"""

from __future__ import annotations

import importlib.util
import os
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from chainrule.files import read_regular
from chainrule.limits import MAX_CORPUS_BYTES

__all__ = ["NAMES", "clean_items", "load_corpus", "load_names", "read_corpus"]

NAMES = "names"
"""The name of the built-in corpus."""

_NAMES_FILES = ("dist.male.first", "dist.female.first")
_INSTALL_HINT = 'pip install "chainrule[text]"'


def clean_items(lines: Iterable[str]) -> list[str]:
    """Stripped, NFC-normalised, non-blank, deduplicated items, in first-seen order."""
    seen: dict[str, None] = {}
    for line in lines:
        item = unicodedata.normalize("NFC", line.strip())
        if item:
            seen.setdefault(item, None)
    return list(seen)


def _decode_lines(data: bytes, shown: str) -> list[str]:
    """The lines of UTF-8 `data`; ValueError naming the first line that is not UTF-8."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        pass
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as error:
            byte = raw[error.start]
            raise ValueError(
                f"{shown}: line {number} is not valid UTF-8 (byte 0x{byte:02x} at column "
                f"{error.start + 1}); save the file as UTF-8"
            ) from None
    raise AssertionError("unreachable: the data decoded line by line")  # pragma: no cover


def read_corpus(path: str | os.PathLike[str]) -> list[str]:
    """The items of a UTF-8 text file, one per line (see the module docstring).

    Raises FileNotFoundError for a missing file and ValueError for a folder, bytes that are
    not UTF-8 (naming the line) or a file with no items.
    """
    shown = os.fspath(path)
    file = Path(path)
    if not file.exists():
        raise FileNotFoundError(f"corpus file not found: {shown}")
    if file.is_dir():
        raise ValueError(f"the corpus {shown} is a folder; give a text file, one item per line")
    data = read_regular(file, MAX_CORPUS_BYTES, "corpus file")  # no FIFO, device or folder
    items = clean_items(_decode_lines(data, shown))
    if not items:
        raise ValueError(f"the corpus {shown} is empty: it has no non-blank lines")
    return items


def _names_folder() -> Path:
    spec = importlib.util.find_spec("names")
    if spec is None or spec.origin is None:
        raise ImportError(
            f'the "names" corpus needs the names package: {_INSTALL_HINT} '
            "(or pass the path of your own text file)"
        )
    return Path(spec.origin).parent


def load_names() -> list[str]:
    """The US first names of the ``names`` package (male, then female), lower-case, unique.

    The data files hold lines like ``MARY           2.629  2.629      1`` (name, frequency
    in percent, cumulative frequency, rank); only the name is kept.
    """
    folder = _names_folder()
    lines: list[str] = []
    for filename in _NAMES_FILES:
        data_file = folder / filename
        if not data_file.is_file():
            raise ImportError(
                f"the names package at {folder} has no {filename}; reinstall it: {_INSTALL_HINT}"
            )
        text = data_file.read_text(encoding="utf-8")
        lines.extend(fields[0].lower() for fields in map(str.split, text.splitlines()) if fields)
    return clean_items(lines)


def load_corpus(source: str | os.PathLike[str]) -> list[str]:
    """`load_names()` for ``"names"``, else the items of the file at `source` (write
    ``./names`` for a file called names)."""
    if os.fspath(source) == NAMES:
        return load_names()
    return read_corpus(source)
