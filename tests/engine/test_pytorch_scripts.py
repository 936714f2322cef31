"""Real-style PyTorch scripts run unchanged on chainrule and print what torch prints.

Each ``tests/pytorch_scripts/*.py`` is written for PyTorch (``import torch``,
``import torch.nn as nn``, ``from torch.utils.data import DataLoader`` ...). It runs twice
in fresh processes: once with the real torch 2.13, once with ``tests/pytorch_scripts/shim``
first on sys.path, where ``torch`` *is* chainrule (see shim/torch/__init__.py). The script
text is the same in both runs. Their stdout must agree line by line: words exactly,
numbers to 1e-4 (float32 sums in a different order differ in the last digits).

Two representation differences are normalised, and only these: the module prefix of a
printed name (``torch.float32`` / ``float32``, ``torch.Size`` / ``chainrule.Size``) is
dropped. chainrule's seeded random streams are torch's (chainrule.random), so the scripts
print seeded results too: the names makemore samples with its torch.Generator, initial
weights from manual_seed, the losses of shuffled, dropout-regularised training.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[1]  # tests/
SCRIPTS = sorted((HERE / "pytorch_scripts").glob("*.py"))
SHIM = HERE / "pytorch_scripts" / "shim"
SRC = HERE.parent / "src"
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|nan|inf")


def run(script: Path, with_chainrule: bool, tmp_path: Path) -> str:
    env = dict(os.environ)
    path = [str(SHIM), str(SRC)] if with_chainrule else [str(SRC)]
    env["PYTHONPATH"] = os.pathsep.join(path)
    env["PYTHONHASHSEED"] = "0"
    env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = "1"
    workdir = tmp_path / ("chainrule" if with_chainrule else "torch")
    workdir.mkdir()
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    who = "chainrule" if with_chainrule else "torch"
    assert done.returncode == 0, f"{script.name} failed with {who}:\n{done.stderr[-3000:]}"
    return done.stdout


def normalise(line: str) -> str:
    return re.sub(r"\b(?:torch|chainrule)\.", "", line).strip()


def same_line(ours: str, theirs: str) -> bool:
    a, b = normalise(ours), normalise(theirs)
    if NUMBER.sub("#", a) != NUMBER.sub("#", b):
        return False
    for x, y in zip(NUMBER.findall(a), NUMBER.findall(b), strict=True):
        if x == y:
            continue
        try:
            fx, fy = float(x), float(y)
        except ValueError:
            return False
        if abs(fx - fy) > 1e-4 + 1e-4 * abs(fy):
            return False
    return True


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_script_prints_what_torch_prints(script: Path, tmp_path: Path) -> None:
    expected = run(script, False, tmp_path).splitlines()
    actual = run(script, True, tmp_path).splitlines()
    assert expected, f"{script.name} printed nothing with torch"
    for i, (ours, theirs) in enumerate(zip(actual, expected, strict=False)):
        assert same_line(ours, theirs), (
            f"{script.name} line {i + 1}:\n  chainrule: {ours}\n  torch:     {theirs}"
        )
    assert len(actual) == len(expected), f"{len(actual)} lines vs torch's {len(expected)}"


def test_shim_serves_chainrule(tmp_path: Path) -> None:
    """The comparison is honest only if the second run really uses chainrule."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import torch, torch.nn.functional as F\nfrom torch.utils.data import DataLoader\n"
        "print(torch.__name__, F.__name__, DataLoader.__module__)\n"
    )
    out = run(probe, True, tmp_path).split()
    assert out == ["chainrule", "chainrule.nn.functional", "chainrule.data.loader"]


def test_comparison_can_fail() -> None:
    assert same_line("loss 2.3456", "loss 2.34561")
    assert not same_line("loss 2.3456", "loss 2.3466")
    assert not same_line("loss 2.3456", "acc 2.3456")
    assert same_line("dtype float32", "dtype torch.float32")
