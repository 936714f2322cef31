"""Shared plumbing for the atheris fuzz harnesses in this folder.

Each harness is a script: ``python tests/hostile/fuzz/fuzz_checkpoint.py -atheris_runs=10000``
(any libFuzzer flag works: ``-max_total_time=60``, a corpus folder, ...). A harness feeds
the fuzzer's bytes to one loader, through a file, and lets only the loader's documented
errors pass: anything else is a crash that libFuzzer reports with the input that caused it
(saved as ``crash-<sha1>``, or under ``-artifact_prefix=DIR/``).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import atheris
import numpy  # noqa: F401 - imported before instrument_imports(): only chainrule is instrumented

# atheris rewrites the bytecode of what it instruments, and numba cannot compile rewritten
# bytecode ("Unknown attribute '_trace_branch'"): the harnesses fuzz the loaders, so the
# optimizers' compiled kernels (chainrule.kernels) run on their NumPy twins here
os.environ["CHAINRULE_NUMBA"] = "0"

SCRATCH = Path(tempfile.mkdtemp(prefix="chainrule-atheris-"))
atexit.register(shutil.rmtree, SCRATCH, ignore_errors=True)


def as_file(data: bytes, suffix: str) -> Path:
    path = SCRATCH / f"input{suffix}"
    path.write_bytes(data)
    return path


def mutate(seed: bytes, data: bytes) -> bytes:
    """The fuzzer's bytes as edits of a valid `seed` file: flips, a cut and a splice, so
    most inputs get past the format's first checks."""
    fdp = atheris.FuzzedDataProvider(data)
    edited = bytearray(seed)
    for _ in range(fdp.ConsumeIntInRange(0, 8)):
        if not edited:
            break
        edited[fdp.ConsumeIntInRange(0, len(edited) - 1)] ^= 1 << fdp.ConsumeIntInRange(0, 7)
    if fdp.ConsumeBool():
        at = fdp.ConsumeIntInRange(0, len(edited))
        removed = fdp.ConsumeIntInRange(0, 32)
        edited[at : at + removed] = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 16))
    return bytes(edited)


def run(test_one_input: Callable[[bytes], Any]) -> None:
    """Fuzz `test_one_input` with the command line's libFuzzer flags (never returns)."""
    os.umask(0o077)
    warnings.simplefilter("error", RuntimeWarning)  # a NumPy overflow in a loader is a bug
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
