"""Fuzz `chainrule.load` (safetensors checkpoints): only CheckpointError may escape.

python tests/hostile/fuzz/fuzz_checkpoint.py -atheris_runs=10000
"""

from __future__ import annotations

import contextlib

import atheris
from common import SCRATCH, as_file, mutate, run

with atheris.instrument_imports():
    import chainrule as cr
    from chainrule import nn, optim
    from chainrule.checkpoint import CheckpointError, load, save


def seeds() -> list[bytes]:
    folder = SCRATCH / "seeds"
    folder.mkdir()
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    optimizer = optim.Adam(model.parameters())
    model(cr.randn(4, 3)).sum().backward()
    optimizer.step()
    objects = [
        model,
        {"w": cr.randn(2, 3)},
        {"model": model, "optimizer": optimizer, "epoch": 1, "history": {"loss": [1.0]}},
    ]
    files = []
    for index, obj in enumerate(objects):
        save(obj, folder / f"{index}.safetensors")
        files.append((folder / f"{index}.safetensors").read_bytes())
    return files


SEEDS = seeds()


def test_one_input(data: bytes) -> None:
    if data[:1] == b"\x00":  # raw bytes
        candidate = data[1:]
    else:  # an edited valid checkpoint
        candidate = mutate(SEEDS[data[0] % len(SEEDS)] if data else SEEDS[0], data[1:])
    with contextlib.suppress(CheckpointError):
        load(as_file(candidate, ".safetensors"))


if __name__ == "__main__":
    run(test_one_input)
