"""The lecture notebooks in course/: in step with their sources, stored without outputs,
and run top to bottom — as a student gets them (exercises not done: the checks say so and
the notebook goes on) and with the solutions filled in (every check passes) — with their
plots. One kernel per run, a budget of 5 minutes a cell (a minute a notebook when the
machine is quiet; the shared 2-core machine runs them several times slower)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

COURSE = Path(__file__).resolve().parents[2] / "course"


def load_build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("course_build", COURSE / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


nbformat = pytest.importorskip("nbformat")
build = load_build()
SOURCES = build.sources()
IDS = [source.stem for source in SOURCES]


def test_four_lectures_at_least() -> None:
    assert len(SOURCES) >= 4
    for source in SOURCES:
        assert build.notebook_path(source).exists(), f"run python course/build.py ({source.name})"


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_notebook_is_built_from_its_source(source: Path) -> None:
    stored = build.notebook_path(source).read_text(encoding="utf-8")
    assert stored == nbformat.writes(build.build(source)) + "\n", (
        f"{source.name} changed: run python course/build.py"
    )


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_notebook_outputs_are_stripped(source: Path) -> None:
    """What nbstripout would remove: outputs, execution counts, widget state, run metadata."""
    raw = json.loads(build.notebook_path(source).read_text(encoding="utf-8"))
    nbformat.validate(nbformat.reads(json.dumps(raw), as_version=4))
    assert "widgets" not in raw["metadata"]
    for cell in raw["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, cell["id"]
        assert not {"execution", "collapsed", "scrolled"} & set(cell["metadata"]), cell["id"]


def test_exercises_hide_their_solutions() -> None:
    exercises = 0
    for source in SOURCES:
        notebook = build.build(source)
        solved = build.build(source, solutions=True)
        for student, teacher in zip(notebook.cells, solved.cells, strict=True):
            if "exercise" in student.metadata.get("tags", []):
                exercises += 1
                assert build.PLACEHOLDER in student.source and "SOLUTION" not in student.source
                assert build.PLACEHOLDER not in teacher.source and "SOLUTION" not in teacher.source
            if "check" in student.metadata.get("tags", []):
                assert student.metadata["jupyter"]["source_hidden"] is True
    assert exercises >= 8


def execute(notebook: nbformat.NotebookNode) -> list[dict]:
    from nbclient import NotebookClient

    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(COURSE)}})  # fmt: skip
    client.execute()
    return [output for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.get("outputs", [])]  # fmt: skip


def printed(outputs: list[dict]) -> str:
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")


def pictures(outputs: list[dict]) -> int:
    return sum(1 for o in outputs if {"image/png", "image/svg+xml"} & set(o.get("data", {})))


@pytest.mark.parametrize("solutions", [False, True], ids=["student", "solutions"])
@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_notebook_runs_top_to_bottom(source: Path, solutions: bool) -> None:
    pytest.importorskip("nbclient")
    notebook = build.build(source, solutions=solutions)
    exercises = sum("exercise" in c.metadata.get("tags", []) for c in notebook.cells)
    outputs = execute(notebook)
    text = printed(outputs)
    assert pictures(outputs) >= 3, "the plots are missing"
    assert not [o for o in outputs if o.get("output_type") == "error"]
    if solutions:
        assert text.count("[ok]") == exercises and "not done yet" not in text, text
    else:
        assert text.count("not done yet") == exercises and "[ok]" not in text, text


def test_docs_lectures_link_every_claim_to_an_existing_section() -> None:
    """Every row of docs/lectures.md's tables names a notebook section that exists."""
    import re

    page = (COURSE.parent / "docs" / "lectures.md").read_text(encoding="utf-8")
    headings = {
        source.stem: set(re.findall(r"^# ## (\d+\.\d+) ", source.read_text(encoding="utf-8"), re.M))
        for source in SOURCES
    }
    rows = [line for line in page.splitlines() if line.startswith("| ") and "---" not in line]
    headers = ("| topic", "| task", "| in the", "| lecture")
    claims = [row for row in rows if not row.startswith(headers) and not re.match(r"\| \d ·", row)]
    assert len(claims) >= 30
    for row in claims:
        links = re.findall(r"\[§(\d+)\.(\d+)\]\(\.\./course/(\w+)\.ipynb\)", row)
        assert links, f"no notebook section for: {row[:60]}"
        for lecture, section, stem in links:
            assert stem.startswith(f"0{lecture}_"), (row[:60], stem)
            assert f"{lecture}.{section}" in headings[stem], (
                f"{stem} has no section {lecture}.{section}"
            )
