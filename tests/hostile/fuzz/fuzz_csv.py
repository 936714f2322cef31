"""Fuzz `chainrule.data.load_csv`: only ValueError (UnicodeDecodeError is one) may escape.

python tests/hostile/fuzz/fuzz_csv.py -atheris_runs=10000
"""

from __future__ import annotations

import contextlib

import atheris
from common import as_file, mutate, run

with atheris.instrument_imports():
    from chainrule.data.tabular import load_csv

SEED = b"x1,x2,label\n0.5,-1,0\n1e3,2.25,1\n\n-3,4,2\n"
TARGETS = (0, -1, "label", "x2", 7)


def test_one_input(data: bytes) -> None:
    target = TARGETS[data[0] % len(TARGETS)] if data else "label"
    candidate = data[2:] if data[1:2] == b"\x00" else mutate(SEED, data[1:])
    with contextlib.suppress(ValueError):
        load_csv(as_file(candidate, ".csv"), target)


if __name__ == "__main__":
    run(test_one_input)
