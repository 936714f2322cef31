"""The safetensors validator: a file's structure is checked from its header alone (sizes,
dtypes, shapes, byte ranges that tile the data exactly) before any tensor is read."""

from __future__ import annotations

import io
import math
import os
from typing import IO

import numpy as np

from chainrule.checkpoint.format import (
    DTYPES,
    MAX_DIMS,
    MAX_HEADER_BYTES,
    CheckpointError,
    StrPath,
    is_int,
    safetensors_module,
)
from chainrule.files import loads_strict, open_regular
from chainrule.limits import (
    MAX_CHECKPOINT_BYTES,
    MAX_TENSORS,
)


def _foreign_format(head: bytes) -> str:
    """A hint when the first bytes show a well-known non-safetensors format."""
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return (
            "it starts like a Python pickle (pickle.dump / old torch.save), which chainrule "
            "never loads"
        )
    if head.startswith(b"PK\x03\x04"):
        return "it is a zip archive, as torch.save writes, which chainrule never unpickles"
    if head.startswith(b"\x93NUMPY"):
        return "it is a NumPy .npy file"
    return ""


def read_header(path: StrPath) -> tuple[dict[str, str], list[str]]:
    """Check a file's safetensors structure; returns its metadata and tensor names in
    file order. Reads only the header: the tensor bytes are checked by size."""
    try:
        file = open_regular(path, MAX_CHECKPOINT_BYTES, "checkpoint file")
    except ValueError as error:  # a folder, FIFO, device, symlink loop, too large
        raise CheckpointError(path, str(error)) from None
    with file:
        return _read_header(file, os.fstat(file.fileno()).st_size, path)


def read_header_bytes(data: bytes, shown: str) -> tuple[dict[str, str], list[str]]:
    """`read_header` for a checkpoint already in memory (read from a stream), ``shown``
    naming it in messages."""
    return _read_header(io.BytesIO(data), len(data), shown)


def _read_header(file: IO[bytes], size: int, path: StrPath) -> tuple[dict[str, str], list[str]]:
    """The header of the ``size`` bytes that ``file`` holds, checked."""
    head = file.read(8)
    hint = _foreign_format(head)

    def bad(problem: str) -> CheckpointError:
        return CheckpointError(path, f"{problem} ({hint})" if hint else problem)

    if size == 0:
        raise bad("the file is empty (0 bytes)")
    if size < 8 or len(head) < 8:
        raise bad(f"the file is only {size} bytes, too short for a safetensors header")
    length = int.from_bytes(head, "little")
    if length == 0:
        raise bad("header length is 0")
    if length > size - 8:
        raise bad(f"header length {length} exceeds file size {size}")
    if length > MAX_HEADER_BYTES:
        raise bad(f"header length {length} is over the {MAX_HEADER_BYTES}-byte limit")
    raw = file.read(length)
    if len(raw) != length:
        raise bad("the file shrank while being read")
    if raw.count(b'"data_offsets"') > MAX_TENSORS:  # before building a huge JSON tree
        raise bad(f"the header describes more than {MAX_TENSORS} tensors")
    try:
        text = raw.decode("utf-8")
        if not text.startswith("{"):
            raise ValueError("it does not start with '{'")
        header = loads_strict(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise bad(f"the {length}-byte header is not a JSON object: {error}") from None
    if not isinstance(header, dict):
        raise bad("the header is not a JSON object")

    metadata = header.pop("__metadata__", None)
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise bad("__metadata__ must be a JSON object of strings")

    data_size = size - 8 - length
    spans = []
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise bad(f"tensor {name!r} needs exactly the fields dtype, shape and data_offsets")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(dtype, str) or dtype not in DTYPES:
            raise bad(f"tensor {name!r} has dtype {dtype!r}; supported: {', '.join(DTYPES)}")
        if not isinstance(shape, list) or not all(is_int(n) and n >= 0 for n in shape):
            raise bad(f"tensor {name!r} has an invalid shape {shape!r}")
        if len(shape) > MAX_DIMS:
            raise bad(f"tensor {name!r} has {len(shape)} dimensions; at most {MAX_DIMS} are read")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(is_int(n) for n in offsets)
            or not 0 <= offsets[0] <= offsets[1]
        ):
            raise bad(f"tensor {name!r} has invalid data_offsets {offsets!r}")
        needed = math.prod(shape) * DTYPES[dtype].itemsize
        if offsets[1] - offsets[0] != needed:
            raise bad(
                f"tensor {name!r} of shape {shape} and dtype {dtype} needs {needed} bytes, "
                f"but its data_offsets {offsets} span {offsets[1] - offsets[0]}"
            )
        spans.append((offsets[0], offsets[1], name))
    spans.sort()
    position = 0
    for begin, end, name in spans:
        if begin != position:
            raise bad(
                f"tensor {name!r} starts at data byte {begin}, expected {position} "
                "(tensors overlap or leave a gap)"
            )
        position = end
    if position > data_size:
        raise bad(
            f"the file is truncated: its tensors need {position} bytes after the header, "
            f"only {data_size} are there (file size {size})"
        )
    if position < data_size:
        raise bad(f"{data_size - position} unexpected bytes after the last tensor")
    return metadata, [name for _, _, name in spans]


def read_tensors_bytes(data: bytes, names: list[str], shown: str) -> dict[str, np.ndarray]:
    """`read_tensors` for a checkpoint in memory whose header `read_header_bytes` checked."""
    st = safetensors_module()
    try:
        arrays = st.numpy.load(data)
    except (st.SafetensorError, ValueError) as error:
        raise CheckpointError(shown, f"safetensors could not read it: {error}") from None
    return {name: np.array(arrays[name], copy=True) for name in names}


def read_tensors(path: StrPath, names: list[str]) -> dict[str, np.ndarray]:
    st = safetensors_module()
    try:
        with st.safe_open(os.fspath(path), framework="numpy") as file:
            arrays = {name: np.array(file.get_tensor(name), copy=True) for name in names}
    except (st.SafetensorError, ValueError) as error:  # e.g. the file changed since checked
        raise CheckpointError(path, f"safetensors could not read it: {error}") from None
    return arrays
