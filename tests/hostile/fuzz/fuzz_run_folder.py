"""Fuzz a run folder's metadata (issue 14): `load_run` and `predict_file` on a run whose
checkpoint's ``chainrule.contents`` JSON is the fuzzer's edit of a real run's. Only
ValueError (RunFolderError, CheckpointError) and FileNotFoundError may escape.

python tests/hostile/fuzz/fuzz_run_folder.py -atheris_runs=10000
"""

from __future__ import annotations

import contextlib
import json
import warnings

import atheris
from common import SCRATCH, as_file, mutate, run

with atheris.instrument_imports():
    from chainrule.cli import RunConfig, load_run, predict_file, train_run

SEED_RUN = SCRATCH / "seed-run"
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    train_run(RunConfig(data="xor", hidden=(3,), epochs=1, samples=60, out=str(SEED_RUN)),
              progress=False, plots=False)  # fmt: skip
SEED = (SEED_RUN / "model.safetensors").read_bytes()
LENGTH = int.from_bytes(SEED[:8], "little")
HEADER, BODY = json.loads(SEED[8 : 8 + LENGTH]), SEED[8 + LENGTH :]
CONTENTS = HEADER["__metadata__"]["chainrule.contents"].encode()
ROWS = as_file(b"x1,x2\n0.5,-1\n2,3\n", ".csv")
FOLDER = SCRATCH / "fuzzed-run"
FOLDER.mkdir()


def test_one_input(data: bytes) -> None:
    contents = mutate(CONTENTS, data).decode("utf-8", "replace")
    header = {**HEADER, "__metadata__": {**HEADER["__metadata__"], "chainrule.contents": contents}}
    text = json.dumps(header).encode()
    (FOLDER / "model.safetensors").write_bytes(len(text).to_bytes(8, "little") + text + BODY)
    with contextlib.suppress(ValueError, FileNotFoundError), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a hostile scaler may overflow
        load_run(FOLDER)
        predict_file(FOLDER, ROWS)


if __name__ == "__main__":
    run(test_one_input)
