"""Checkpoints in file-like objects, as ``torch.save(obj, buffer)`` and
``torch.load`` of a buffer take them (an ``io.BytesIO``, a file opened in binary mode, a
socket's file): what is written is the same safetensors bytes a file gets, and what is read
is checked as a file is.

A stream is untrusted like a file: it is read in chunks up to the checkpoint size limit
(``chainrule.limits.MAX_CHECKPOINT_BYTES``) and refused beyond it before more is kept;
then the header is checked before any tensor is made. Writing to a stream is not atomic
(the stream is the caller's): `save` to a path is.
"""

from __future__ import annotations

import os
from typing import Any

from chainrule.checkpoint.format import CheckpointError
from chainrule.limits import MAX_CHECKPOINT_BYTES

CHUNK = 1 << 20  # bytes read at a time


def is_stream(target: Any) -> bool:
    """Whether `save`/`load` got a file-like object rather than a path."""
    if isinstance(target, (str, bytes, os.PathLike)):
        return False
    return hasattr(target, "read") or hasattr(target, "write")


def stream_name(stream: Any) -> str:
    """How messages name a stream: its file's name when it has one (``open(path, 'rb')``),
    else ``<BytesIO>`` and the like."""
    name = getattr(stream, "name", None)
    return name if isinstance(name, str) else f"<{type(stream).__name__}>"


def read_stream(stream: Any, shown: str) -> bytes:
    """All of the stream's bytes, at most MAX_CHECKPOINT_BYTES (CheckpointError beyond, or
    for a text stream or one that cannot be read)."""
    if not hasattr(stream, "read"):
        raise CheckpointError(shown, "the object has no read() method: pass a path or a stream")
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise CheckpointError(shown, "the stream gives text: open it in binary mode ('rb')")
        total += len(chunk)
        if total > MAX_CHECKPOINT_BYTES:
            raise CheckpointError(
                shown, f"the stream holds more than the {MAX_CHECKPOINT_BYTES}-byte limit"
            )
        chunks.append(bytes(chunk))
    return b"".join(chunks)


def write_stream(stream: Any, data: bytes) -> None:
    """The checkpoint's bytes written to the stream (flushed when it can be)."""
    if not hasattr(stream, "write"):
        raise TypeError(f"cannot save to a {type(stream).__name__}: it has no write() method")
    try:
        stream.write(data)
    except TypeError:
        raise TypeError(
            f"cannot save to {stream_name(stream)}: it takes text; open it in binary mode ('wb')"
        ) from None
    flush = getattr(stream, "flush", None)
    if flush is not None:
        flush()
