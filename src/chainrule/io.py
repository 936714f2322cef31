"""Crash-safe file writing: a file is either fully replaced or left exactly as it was.

`atomic_write_bytes(path, data)` writes `data` to a temporary file in the same folder,
flushes it to disk (fsync), renames it over `path` with `os.replace` (atomic on POSIX and
Windows) and fsyncs the folder so the rename itself survives a power cut. If anything fails
(an exception, Ctrl-C) the temporary file is removed and the previous `path` is untouched.

Readers therefore see the old file or the new one, never a half-written one; use these for
checkpoints, history.json, metrics.json, ...::

    from chainrule.io import atomic_write_json
    atomic_write_json("runs/1/history.json", history)
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from typing import Any

__all__ = ["atomic_write_bytes", "atomic_write_json", "atomic_write_text"]

StrPath = str | os.PathLike[str]


def _umask() -> int:
    """The process umask, read without changing it where /proc allows (it is per-process)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_folder(folder: str) -> None:
    """Make a rename in `folder` durable. A no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as error:  # some filesystems cannot fsync a folder: nothing more to do
        if error.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF, errno.EACCES):
            raise
    finally:
        os.close(fd)


def atomic_write_bytes(path: StrPath, data: bytes | bytearray | memoryview) -> None:
    """Replace the file at `path` with `data`, atomically (see the module docstring).

    The new file gets the permissions of the file it replaces, or the usual 0o666 minus the
    umask for a new file. Raises FileNotFoundError if the folder does not exist.
    """
    target = os.path.abspath(os.fspath(path))
    folder, name = os.path.split(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            errno.ENOENT, f"cannot write {os.fspath(path)}: folder {folder} does not exist", folder
        )
    try:
        mode = os.stat(target).st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    tmp = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below; must outlive the block
        mode="wb", dir=folder, prefix=f".{name}.", suffix=".tmp", delete=False
    )
    try:
        with tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp.name, mode)
        os.replace(tmp.name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp.name)
        raise
    _fsync_folder(folder)


def atomic_write_text(path: StrPath, text: str, encoding: str = "utf-8") -> None:
    """Replace the file at `path` with `text`, atomically (newlines are written as given)."""
    atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path: StrPath, data: Any, *, indent: int | None = 2, **kwargs: Any) -> None:
    """Replace the file at `path` with `data` as JSON, atomically (extra kwargs go to json)."""
    atomic_write_text(path, json.dumps(data, indent=indent, **kwargs) + "\n")
