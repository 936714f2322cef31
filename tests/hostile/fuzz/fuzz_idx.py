"""Fuzz `chainrule.data.load_idx` (MNIST's IDX format, raw or gzip): only ValueError may
escape.

    python tests/hostile/fuzz/fuzz_idx.py -atheris_runs=10000
"""

from __future__ import annotations

import contextlib
import gzip

import atheris
from common import as_file, mutate, run

with atheris.instrument_imports():
    from chainrule.data.idx import load_idx

RAW = b"\x00\x00\x08\x03" + b"".join(n.to_bytes(4, "big") for n in (2, 3, 4)) + bytes(range(24))
SEEDS = (RAW, gzip.compress(RAW), b"\x00\x00\x0d\x01" + (2).to_bytes(4, "big") + bytes(8))


def test_one_input(data: bytes) -> None:
    if data[:1] == b"\x00":
        candidate = data[1:]
    else:
        candidate = mutate(SEEDS[data[0] % len(SEEDS)] if data else RAW, data[1:])
    with contextlib.suppress(ValueError):
        load_idx(as_file(candidate, ".idx"))


if __name__ == "__main__":
    run(test_one_input)
