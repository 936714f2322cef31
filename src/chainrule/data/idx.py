"""`load_idx`: read an IDX file (the format of MNIST and Fashion-MNIST), raw or gzip-compressed.

Layout (all integers big-endian):

- magic, 4 bytes: 0x00 0x00, a type code, then the number of dimensions D (>= 1);
  type codes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64;
- D dimension sizes, each a 4-byte unsigned int;
- the values, row-major, exactly prod(sizes) * itemsize bytes.

The reader checks every part and reads at most the payload the header promises plus one
byte, in bounded chunks, so a corrupt header can never make it allocate more than the file
actually holds.
"""

from __future__ import annotations

import gzip
import os
import zlib
from typing import IO

import numpy as np

from chainrule.files import open_regular
from chainrule.limits import MAX_IDX_BYTES

Stream = IO[bytes] | gzip.GzipFile

_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20


def _read_upto(stream: Stream, limit: int) -> bytearray:
    """Up to `limit` bytes (fewer at end of file), read in chunks of at most 1 MiB."""
    parts = bytearray()
    while len(parts) < limit:
        chunk = stream.read(min(_CHUNK, limit - len(parts)))
        if not chunk:
            break
        parts += chunk
    return parts


def _parse(stream: Stream, name: str) -> np.ndarray:
    magic = _read_upto(stream, 4)
    if len(magic) < 4:
        raise ValueError(f"{name}: not an IDX file (only {len(magic)} bytes, no 4-byte magic)")
    if magic[:2] != b"\x00\x00" or magic[2] not in _DTYPES:
        raise ValueError(
            f"{name}: not an IDX file (magic {magic.hex()}; expected 0000 then a type code "
            f"among {', '.join(f'{code:02x}' for code in _DTYPES)} and the number of dims)"
        )
    dtype, ndim = _DTYPES[magic[2]], magic[3]
    if ndim == 0:
        raise ValueError(f"{name}: IDX header declares 0 dimensions")
    header = _read_upto(stream, 4 * ndim)
    if len(header) < 4 * ndim:
        raise ValueError(f"{name}: truncated IDX header ({ndim} dimension sizes expected)")
    shape = tuple(int(size) for size in np.frombuffer(header, dtype=">u4"))
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
    payload = _read_upto(stream, expected + 1)
    if len(payload) < expected:
        raise ValueError(
            f"{name}: truncated IDX data: the header declares shape {shape} of {dtype.name} "
            f"({expected} bytes) but only {len(payload)} bytes follow the header"
        )
    if len(payload) > expected:
        raise ValueError(
            f"{name}: IDX data has trailing bytes: the header declares shape {shape} of "
            f"{dtype.name} ({expected} bytes) but more bytes follow"
        )
    try:
        array = np.frombuffer(payload, dtype=dtype).reshape(shape)
    except ValueError as error:  # e.g. more dimensions than NumPy supports
        raise ValueError(f"{name}: IDX shape {shape} cannot be read: {error}") from None
    return array.astype(dtype.newbyteorder("="), copy=False)


def load_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """The array stored in the IDX file at `path` (gzip-compressed or raw, detected by content).

    Returns an ndarray of the declared shape, in native byte order (uint8 for MNIST).
    Raises FileNotFoundError if absent and ValueError, naming the file, if it is not a valid
    IDX file: bad magic, truncated header or data, trailing bytes, or a broken gzip stream.
    """
    name = os.fspath(path)
    with open_regular(name, MAX_IDX_BYTES, "IDX file") as raw:  # no FIFO, device or folder
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if not compressed:
            return _parse(raw, name)
        try:
            with gzip.GzipFile(fileobj=raw) as stream:
                return _parse(stream, name)
        except (OSError, EOFError, zlib.error) as error:
            raise ValueError(f"{name}: broken gzip stream ({error})") from error
