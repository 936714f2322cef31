"""The checkpoint file format: safetensors dtypes, chainrule's metadata keys and limits,
and `CheckpointError`, the one error a bad file gives."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

StrPath = str | os.PathLike[str]

FORMAT_VERSION = 1
"""The version of the ``chainrule.*`` metadata layout this module writes and reads."""

MAX_HEADER_BYTES = 100_000_000
"""The largest JSON header accepted (safetensors' own limit)."""

MAX_DIMS = 64
"""The most dimensions a tensor may have (NumPy's limit)."""

DTYPES: dict[str, np.dtype] = {
    "F16": np.dtype(np.float16),
    "F32": np.dtype(np.float32),
    "F64": np.dtype(np.float64),
    "I8": np.dtype(np.int8),
    "I16": np.dtype(np.int16),
    "I32": np.dtype(np.int32),
    "I64": np.dtype(np.int64),
    "U8": np.dtype(np.uint8),
    "BOOL": np.dtype(np.bool_),
}
"""The safetensors dtypes chainrule reads and writes (those of chainrule's tensors)."""


# metadata keys (safetensors metadata is a dict of strings)
KEY_FORMAT = "chainrule.format"
KEY_KIND = "chainrule.kind"
KEY_CONFIG = "chainrule.config"
KEY_CONTENTS = "chainrule.contents"
KEY_VERSION = "chainrule.version"

# single-key JSON objects that stand for something other than a dict in chainrule.contents
_TENSOR, _NDARRAY, _TUPLE, _ITEMS = "__tensor__", "__ndarray__", "__tuple__", "__items__"
_MODULE, _STATE, _FLOAT = "__module__", "__state_dict__", "__float__"
_MARKERS = frozenset({_TENSOR, _NDARRAY, _TUPLE, _ITEMS, _MODULE, _STATE, _FLOAT})
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}

PRIMARY: Any = object()  # see Encoder.module

_INSTALL_HINT = 'install it with: pip install "chainrule[checkpoints]"'


class CheckpointError(ValueError):
    """A file that is not a valid (chainrule or plain) safetensors checkpoint.

    Attributes: ``path`` (the file, as given) and ``problem`` (what is wrong with it).
    """

    def __init__(self, path: StrPath, problem: str) -> None:
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path} is not a chainrule checkpoint: {problem}")


def safetensors_module() -> Any:
    try:
        import safetensors  # optional dependency
        import safetensors.numpy
    except ImportError as error:
        raise ImportError(
            f"chainrule.save and chainrule.load need the safetensors package: {_INSTALL_HINT}"
        ) from error
    return safetensors


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
