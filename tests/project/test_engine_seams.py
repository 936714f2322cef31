"""The engine's seams are public functions: no module reads autograd's or grad_mode's
underscore names, and the seams do what their docstrings say."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import chainrule
from chainrule import autograd, nn

SOURCE = Path(chainrule.__file__).parent
PRIVATE_READ = re.compile(
    r"\b(?:autograd|grad_mode)\._[A-Za-z]"  # autograd._recorders
    r"|from chainrule\.(?:autograd|grad_mode) import [^\n]*\b_[A-Za-z]"  # import _GradMode
)


def test_no_module_reads_the_engines_underscore_names() -> None:
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        if path.name in ("autograd.py", "grad_mode.py") and path.parent == SOURCE:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if PRIVATE_READ.search(line):
                found.append(f"{path.relative_to(SOURCE)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


def test_the_pattern_finds_a_private_read() -> None:
    assert PRIVATE_READ.search("if autograd._recorders:")
    assert PRIVATE_READ.search("from chainrule.grad_mode import MODE, _GradModeState")
    assert not PRIVATE_READ.search("if autograd.is_recording():")


def test_is_recording_is_true_inside_a_recording_only() -> None:
    assert not autograd.is_recording()
    with autograd.recording() as ops:
        assert autograd.is_recording()
        nn.Linear(2, 3)(chainrule.ones(4, 2))
    assert not autograd.is_recording()
    assert [type(op).__name__ for op, *_ in ops] == ["Linear"]


def test_the_clock_moves_forward_and_in_place_changes_are_stamped() -> None:
    first = autograd.next_creation_number()
    assert autograd.next_creation_number() > first
    x = chainrule.zeros(3)
    x.add_(1)
    assert autograd.last_change() > first


def test_a_missing_implementation_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="nothing registered as 'no such thing'"):
        autograd.implementation("no such thing")
    assert autograd.implementation("grad") is not None  # autograd_function registered it


def test_accumulate_gives_each_grad_an_array_of_its_own() -> None:
    a, b = chainrule.zeros(3, requires_grad=True), chainrule.zeros(3, requires_grad=True)
    g, handed_out = np.ones(3, np.float32), set[int]()
    autograd.accumulate(a, g, handed_out)
    autograd.accumulate(b, g, handed_out)
    assert a.grad is not None and b.grad is not None
    assert not np.shares_memory(a.grad.detach().numpy(), b.grad.detach().numpy())
