"""What an uploaded checkpoint may describe, checked on its raw header before any work.

`chainrule.load` has limits for files from anywhere (chainrule.limits); an upload to the
playground, which shares one engine with every tab, must be far smaller: a playground
network has at most 8 hidden layers of 32 neurons, and its checkpoint (model, Adam state,
settings) has a header of about 11 KB and 54 tensors. So before `load` builds anything:

- the safetensors header is at most `MAX_HEADER_BYTES` (64 KiB) and within the file;
- it names at most `MAX_TENSORS` (128) tensors, each of at most `MAX_ELEMENTS` numbers;
- the model architecture it describes has at most `MAX_MODULES` layers (17: 9 Linear and
  8 activations, plus the Sequential around them);
- every tensor is float32, float64, float16 or bfloat16 (the others are converted to
  float32 after loading) or an integer (optimizer step counts).

`reason(error)` turns a load error into a line for the page: no server path (the upload
lives in a temporary folder), no raw bytes.
"""

from __future__ import annotations

import json
import re
from typing import Any

from chainrule.playground.messages import MAX_LAYERS, MAX_NEURONS, ProtocolError

MAX_HEADER_BYTES = 64 * 1024
MAX_TENSORS = 128
MAX_MODULES = 2 * MAX_LAYERS + 2  # Linear + activation per hidden layer, output, Sequential
MAX_ELEMENTS = MAX_NEURONS * MAX_NEURONS
FLOATS = {"F32", "F64", "F16", "BF16"}
INTEGERS = {"I64", "I32", "U8", "BOOL"}


def check_header(raw: bytes) -> None:
    """Refuse an upload whose header describes more than a playground network could."""
    if len(raw) < 8:
        raise ProtocolError("the checkpoint is too short to be a safetensors file")
    length = int.from_bytes(raw[:8], "little")
    if length > MAX_HEADER_BYTES:
        raise ProtocolError(
            f"the checkpoint's header is {length:,} bytes: a playground checkpoint's is at "
            f"most {MAX_HEADER_BYTES:,}"
        )
    if 8 + length > len(raw):
        raise ProtocolError("the checkpoint is cut short (its header runs past its end)")
    try:
        header = json.loads(raw[8 : 8 + length])
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ProtocolError("the checkpoint's header is not valid JSON") from None
    if not isinstance(header, dict):
        raise ProtocolError("the checkpoint's header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if len(header) > MAX_TENSORS:
        raise ProtocolError(
            f"the checkpoint holds {len(header):,} tensors: a playground network has at "
            f"most {MAX_TENSORS}"
        )
    for name, info in header.items():
        _check_tensor(str(name)[:40], info)
    config = metadata.get("chainrule.config") if isinstance(metadata, dict) else None
    if isinstance(config, str):
        try:
            modules = _count_modules(json.loads(config))
        except (json.JSONDecodeError, RecursionError):
            raise ProtocolError("the checkpoint's model description is not valid JSON") from None
        if modules > MAX_MODULES:
            raise ProtocolError(
                f"the checkpoint describes more than {MAX_MODULES} layers: a playground "
                f"network has at most {MAX_LAYERS} hidden layers ({MAX_MODULES} in all)"
            )


def _check_tensor(name: str, info: Any) -> None:
    if not isinstance(info, dict):
        raise ProtocolError(f"tensor {name!r} has no valid description")
    dtype, shape = info.get("dtype"), info.get("shape")
    if dtype not in FLOATS | INTEGERS:
        raise ProtocolError(f"tensor {name!r} has the unsupported dtype {str(dtype)[:12]!r}")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise ProtocolError(f"tensor {name!r} has no valid shape")
    elements = 1
    for d in shape[:8]:
        elements *= d
    if len(shape) > 4 or elements > MAX_ELEMENTS:
        raise ProtocolError(
            f"tensor {name!r} is larger than a playground layer ({MAX_NEURONS}x{MAX_NEURONS})"
        )


def _count_modules(spec: Any, depth: int = 0) -> int:
    """How many layers (dicts with a "class") a model description holds, without building
    anything; counting stops soon after MAX_MODULES."""
    if depth > 8:
        return MAX_MODULES + 1  # deeper nesting than any playground network
    if isinstance(spec, dict):
        own = 1 if "class" in spec else 0
        return own + sum(_count_modules(v, depth + 1) for v in spec.values())
    if isinstance(spec, list):
        total = 0
        for item in spec:
            total += _count_modules(item, depth + 1)
            if total > MAX_MODULES:
                break
        return total
    return 0


_BYTES = re.compile(r"b'(?:[^'\\]|\\.)*'|b\"(?:[^\"\\]|\\.)*\"")


def reason(error: BaseException, folder: str) -> str:
    """The problem in a load error, for the page: the temporary folder and any bytes
    literal replaced, non-printable characters dropped, at most 200 characters."""
    text = getattr(error, "problem", None) or str(error)
    text = text.replace(folder, "<upload>")
    text = _BYTES.sub("<bytes>", text)
    text = "".join(c for c in text if c.isprintable())
    return text[:200]
