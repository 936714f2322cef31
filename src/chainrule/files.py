"""Files on disk, written crash-safe and read defensively (not tensor I/O: that is checkpoint).

Writing: a file is either fully replaced or left exactly as it was.

`atomic_write_bytes(path, data)` writes `data` to a temporary file in the same folder,
flushes it to disk (fsync), renames it over `path` with `os.replace` (atomic on POSIX and
Windows) and fsyncs the folder so the rename itself survives a power cut. If anything fails
(an exception, Ctrl-C) the temporary file is removed and the previous `path` is untouched.

Readers therefore see the old file or the new one, never a half-written one; use these for
checkpoints, history.json, metrics.json, ...::

    from chainrule.files import atomic_write_json
    atomic_write_json("runs/1/history.json", history)

Reading: `open_regular` / `read_regular` open regular files only (no FIFO, device or folder)
and refuse one over its size limit before reading; `read_json` / `loads_strict` parse strict
JSON (no NaN or Infinity, no duplicate key).
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import stat
import tempfile
from collections.abc import Mapping
from typing import IO, Any

__all__ = [
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "open_regular",
    "read_json",
    "read_regular",
    "strict_json_data",
]

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
    try:
        tmp = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below; outlives the block
            mode="wb", dir=folder, prefix=f".{name}.", suffix=".tmp", delete=False
        )
    except OSError as error:  # a read-only folder, no permission, ...
        raise _write_error(path, error) from None
    try:
        with tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp.name, mode)
        os.replace(tmp.name, target)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(tmp.name)
        if isinstance(error, OSError):  # disk full, quota, ...: say which file
            raise _write_error(path, error) from None
        raise
    _fsync_folder(folder)


def _write_error(path: StrPath, error: OSError) -> OSError:
    """The same kind of OSError, with a message that names the file being written (the
    previous file, if any, is left intact)."""
    reason = error.strerror or str(error)
    message = f"cannot write {os.fspath(path)}: {reason} (the previous file, if any, is intact)"
    wrapped = type(error)(message)  # one argument: str() is the message, without "[Errno]"
    wrapped.errno = error.errno
    return wrapped


def orphan_temporaries(folder: StrPath) -> list[str]:
    """The temporary files an interrupted `atomic_write_bytes` left in `folder`
    (``.NAME.XXXXXXXX.tmp``), to be removed by whoever owns the folder."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return [
        os.path.join(folder, n)
        for n in names
        if n.startswith(".") and n.endswith(".tmp") and n.count(".") >= 3
    ]


def atomic_write_text(path: StrPath, text: str, encoding: str = "utf-8") -> None:
    """Replace the file at `path` with `text`, atomically (newlines are written as given)."""
    atomic_write_bytes(path, text.encode(encoding))


def strict_json_data(data: Any) -> Any:
    """`data` with every non-finite float (NaN, ±inf) replaced by None, so that it is
    strict JSON (``json.dumps(..., allow_nan=False)``; bare NaN is not JSON)."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, Mapping):
        return {key: strict_json_data(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [strict_json_data(value) for value in data]
    if hasattr(data, "item") and callable(data.item) and getattr(data, "ndim", None) == 0:
        return strict_json_data(data.item())  # NumPy scalars
    return data


def atomic_write_json(path: StrPath, data: Any, *, indent: int | None = 2, **kwargs: Any) -> None:
    """Replace the file at `path` with `data` as strict JSON, atomically: NaN and ±inf are
    written as null (extra kwargs go to json.dumps)."""
    text = json.dumps(strict_json_data(data), indent=indent, allow_nan=False, **kwargs)
    atomic_write_text(path, text + "\n")


# ---------------------------------------------------------------------- reading
def open_regular(path: StrPath, max_bytes: int, what: str = "file") -> IO[bytes]:
    """Open `path` for reading in binary mode, after checking (on the opened file, so it
    cannot be swapped in between) that it is a regular file of at most `max_bytes` bytes.

    A FIFO, a device (``/dev/zero``), a socket, a folder or a symlink loop is refused
    without reading a byte and without blocking (the file is opened with O_NONBLOCK, which
    a regular file ignores). Raises FileNotFoundError for a missing file and ValueError,
    naming the file, for everything else.
    """
    shown = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(shown, flags)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"no {what} at {shown}", shown) from None
    except IsADirectoryError:
        raise ValueError(f"{shown} is a folder, not a {what}") from None
    except OSError as error:
        reason = "a symlink loop" if error.errno == errno.ELOOP else error.strerror or str(error)
        raise ValueError(f"cannot read {what} {shown}: {reason}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ValueError(f"{shown} is a folder, not a {what}")
        if not stat.S_ISREG(info.st_mode):
            kind = "a FIFO" if stat.S_ISFIFO(info.st_mode) else "a device or socket"
            raise ValueError(f"{shown} is {kind}, not a regular file: refusing to read it")
        if info.st_size > max_bytes:
            raise ValueError(
                f"{shown} is {info.st_size} bytes, over the {max_bytes}-byte limit for a {what}"
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: StrPath, max_bytes: int, what: str = "file") -> bytes:
    """The bytes of the regular file at `path` (see `open_regular`), at most `max_bytes`
    of them even if the file grows while being read."""
    with open_regular(path, max_bytes, what) as file:
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(f"{os.fspath(path)} grew over the {max_bytes}-byte limit while read")
    return data


def _no_duplicate_keys(items: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in items:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads_strict(text: str) -> Any:
    """json.loads that refuses what strict parsers refuse: NaN, Infinity, duplicate keys
    (ValueError)."""
    return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicate_keys)


def read_json(path: StrPath, max_bytes: int, what: str = "JSON file") -> Any:
    """Strict JSON from a regular file: NaN, Infinity and duplicate keys are errors."""
    data = read_regular(path, max_bytes, what)
    try:
        return loads_strict(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ValueError(f"{os.fspath(path)} is not strict JSON: {error}") from None
