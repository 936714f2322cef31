"""Build the lecture notebooks from their Python sources: ``python course/build.py``.

Each ``course/sources/NN_name.py`` is a notebook in the "percent" format that Jupytext,
VS Code and Spyder read too: ``# %%`` starts a code cell and ``# %% [markdown]`` a Markdown
cell (each line a ``# `` comment). Two more kinds mark the exercises:

- ``# %% [exercise]``: a code cell for the student. The lines between ``# BEGIN SOLUTION``
  and ``# END SOLUTION`` are the teacher's answer; the notebook a student gets has
  ``raise NotImplementedError("your code here")`` in their place.
- ``# %% [check]``: the check a student runs after the exercise ("assert your gradient
  matches autograd"); its source is collapsed in JupyterLab (``source_hidden``).

The notebooks are written without outputs (what git keeps); `tests/course/test_course.py` checks
that they are up to date with their sources, that they hold no outputs, and runs each one
top to bottom twice: as students get it, and with the solutions filled in.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources"
PLACEHOLDER = 'raise NotImplementedError("your code here")'
_MARKER = re.compile(r"^# %%(?: \[(markdown|exercise|check)\])?\s*$")
_SOLUTION = re.compile(r"^(\s*)# BEGIN SOLUTION\s*$(.*?)^\s*# END SOLUTION\s*\n?", re.M | re.S)


def _cells(text: str) -> list[tuple[str, str]]:
    """(kind, source) pairs: kind is 'code', 'markdown', 'exercise' or 'check'."""
    cells: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        marker = _MARKER.match(line)
        if marker:
            cells.append((marker.group(1) or "code", []))
        elif cells:
            cells[-1][1].append(line)
    return [(kind, "\n".join(lines).strip("\n")) for kind, lines in cells]


def _markdown(source: str) -> str:
    return "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in
                     source.splitlines())  # fmt: skip


def student_version(source: str) -> str:
    """An exercise's source with each solution block replaced by the placeholder."""
    return _SOLUTION.sub(lambda m: f"{m.group(1)}{PLACEHOLDER}\n", source).rstrip("\n")


def solution_version(source: str) -> str:
    """An exercise's source with the solution markers dropped (the teacher's answer)."""
    return _SOLUTION.sub(lambda m: m.group(2).lstrip("\n"), source).rstrip("\n")


def build(path: Path, solutions: bool = False) -> nbformat.NotebookNode:
    """The notebook of one source file, without outputs (students' or with solutions)."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for number, (kind, source) in enumerate(_cells(path.read_text(encoding="utf-8"))):
        cell_id = f"{path.stem}-{number:02d}"
        if kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(_markdown(source))
        elif kind == "exercise":
            text = solution_version(source) if solutions else student_version(source)
            cell = nbformat.v4.new_code_cell(text, metadata={"tags": ["exercise"]})
        elif kind == "check":
            cell = nbformat.v4.new_code_cell(
                source, metadata={"tags": ["check"], "jupyter": {"source_hidden": True}}
            )
        else:
            cell = nbformat.v4.new_code_cell(source)
        cell.id = cell_id  # stable ids: rebuilding changes nothing
        notebook.cells.append(cell)
    return notebook


def sources() -> list[Path]:
    return sorted(SOURCES.glob("[0-9][0-9]_*.py"))


def notebook_path(source: Path) -> Path:
    return HERE / f"{source.stem}.ipynb"


def main() -> int:
    for source in sources():
        target = notebook_path(source)
        text = nbformat.writes(build(source)) + "\n"
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
