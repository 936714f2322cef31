"""Fuzz `chainrule.text.read_corpus` (one item per line, UTF-8): only ValueError (invalid
UTF-8, an empty corpus) may escape.

    python tests/hostile/fuzz/fuzz_corpus.py -atheris_runs=10000
"""

from __future__ import annotations

import contextlib

import atheris
from common import as_file, run

with atheris.instrument_imports():
    from chainrule.text.corpus import read_corpus


def test_one_input(data: bytes) -> None:
    with contextlib.suppress(ValueError):
        read_corpus(as_file(data, ".txt"))


if __name__ == "__main__":
    run(test_one_input)
