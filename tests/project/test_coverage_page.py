"""docs/pytorch-coverage.md is generated from torch's namespaces and must be current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_coverage_page_is_current() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "pytorch_coverage.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_page_lists_what_chainrule_has_and_lacks() -> None:
    page = (ROOT / "docs" / "pytorch-coverage.md").read_text(encoding="utf-8")
    assert "| `torch.sin` | supported, parity-tested |" in page
    assert "| `torch.nn.Conv2d` | not supported: convolutions are out of scope |" in page
