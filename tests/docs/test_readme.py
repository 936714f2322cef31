"""The README's example runs and does what the README says it prints."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _example() -> str:
    section = README.read_text().split("## Example: an MLP in the PyTorch style")[1]
    return section.split("```python")[1].split("```")[0]


def test_readme_example_prints_what_the_readme_says() -> None:
    code = _example()
    assert len([line for line in code.splitlines() if line.strip()]) <= 15
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code, "README example", "exec"), {})  # noqa: S102 - our own README
    printed = output.getvalue().split()
    claimed = README.read_text().split("It prints `")[1].split("`")[0].split()
    # BLAS kernels may differ in the last bits between machines: compare the numbers
    assert abs(float(printed[1].rstrip(",")) - float(claimed[1].rstrip(","))) < 2e-3
    assert abs(float(printed[-1].rstrip("%")) - float(claimed[-1].rstrip("%"))) <= 1.0
    assert float(printed[-1].rstrip("%")) >= 97.0
