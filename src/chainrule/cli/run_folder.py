"""One run per folder, one writer at a time: the lock and the clean-up of a run folder.

`claim(folder)` is a context manager that `chainrule train` holds for the whole run:

- it refuses a path that is a file (``--out`` naming a file) with one clear line;
- it takes an exclusive ``fcntl.flock`` on ``folder/.lock`` (non-blocking): a second
  ``chainrule train --out SAME`` is refused, naming the process that holds it, instead of
  interleaving two runs' files. The kernel drops the lock when the process ends, however
  it ends (SIGKILL included), so a stale lock file never blocks the next run;
- it removes the temporary files an interrupted atomic save left behind.

`clear_results(folder)` removes the files that describe a trained model (metrics, history,
plots, ONNX export) before the model changes, so a run that fails or diverges never leaves
an old run's results beside its own model.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from chainrule.cli.run_schema import RunFolderError
from chainrule.files import orphan_temporaries

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; runs are not protected from each other
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_FILE", "RESULT_FILES", "claim", "clear_results"]

LOCK_FILE = ".lock"

RESULT_FILES = (
    "history.json",
    "metrics.json",
    "history.png",
    "confusion_matrix.png",
    "decision_boundary.png",
    "predictions.png",
    "misclassified.png",
    "model.onnx",
)
"""The files a finished run writes from its model (besides the model itself)."""


def _holder(lock: Path) -> str:
    try:
        pid = lock.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return "another process"
    return f"process {pid}" if pid.isdigit() else "another process"


@contextlib.contextmanager
def claim(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """Create `folder` if needed and hold its lock until the block ends (see module doc)."""
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise RunFolderError(
            f"{os.fspath(folder)} is a file, not a run folder: choose another --out"
        )
    path.mkdir(parents=True, exist_ok=True)
    lock = path / LOCK_FILE
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RunFolderError(
                    f"run folder {os.fspath(folder)} is in use by {_holder(lock)}: wait for "
                    "that run to finish, or choose another --out"
                ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        for orphan in orphan_temporaries(path):  # ours to remove: we hold the folder
            with contextlib.suppress(OSError):
                os.unlink(orphan)
        yield path
    finally:
        os.close(fd)  # releases the flock


def clear_results(folder: Path, model_too: bool) -> list[str]:
    """Remove the run's result files (and its model with `model_too`); the names removed."""
    removed = []
    for name in (*RESULT_FILES, *(("model.safetensors",) if model_too else ())):
        target = folder / name
        if target.is_file() or target.is_symlink():
            target.unlink()
            removed.append(name)
    return removed
