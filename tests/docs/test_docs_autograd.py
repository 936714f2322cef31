"""docs/autograd.md: every example runs, and prints what the page says it prints."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "autograd.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)


def test_the_page_has_its_examples() -> None:
    assert len(BLOCKS) == 8


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_an_example_runs_and_prints_what_its_comments_say(index: int) -> None:
    code = BLOCKS[index]
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code, f"docs/autograd.md example {index}", "exec"), {})  # noqa: S102
    printed = output.getvalue()
    # `print(...)  # what it prints` and a `# ...` line right after a print: both are claims
    claims = re.findall(r"print\(.*\)\s+# (.+)", code)
    claims += re.findall(r"print\(.*\)\n# (.+)", code)
    for claim in claims:
        assert claim.strip() in printed.replace("\n", " "), (claim, printed)
    if index == 0:  # the training loop learned
        assert float(printed.split()[-1]) < 2.0
