"""`save`: a Module, state_dict or training-checkpoint dict to a safetensors file, atomically."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import IO, Any

import numpy as np

from chainrule.checkpoint.codec import PRIMARY, Encoder, describe_model, dumps
from chainrule.checkpoint.format import (
    FORMAT_VERSION,
    KEY_CONFIG,
    KEY_CONTENTS,
    KEY_FORMAT,
    KEY_KIND,
    KEY_VERSION,
    MAX_HEADER_BYTES,
    StrPath,
    safetensors_module,
)
from chainrule.checkpoint.streams import is_stream, stream_name, write_stream
from chainrule.files import atomic_write_bytes
from chainrule.nn.modules.module import Module
from chainrule.tensor import Tensor
from chainrule.version import __version__


def _user_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a dict of strings, got {type(metadata).__name__}")
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(
                f"metadata must map strings to strings (safetensors stores text only): "
                f"{key!r}: {type(value).__name__}; use json.dumps for other values"
            )
        if key.startswith("chainrule."):
            raise ValueError(f"metadata key {key!r}: the 'chainrule.' prefix is reserved")
    return dict(metadata)


def _primary_module(obj: Mapping[str, Any]) -> str | None:
    """The entry holding "the" model: 'model' if it is a Module, else the only Module."""
    if isinstance(obj.get("model"), Module):
        return "model"
    modules = [key for key, value in obj.items() if isinstance(value, Module)]
    return modules[0] if len(modules) == 1 else None


def save(
    obj: object,
    path: StrPath | IO[bytes],
    *,
    metadata: Mapping[str, str] | None = None,
    pickle_module: object = None,  # torch.save's, accepted and ignored: nothing is pickled
    pickle_protocol: object = None,
    _use_new_zipfile_serialization: object = None,
) -> None:
    """Save a Module, a state_dict or a training-checkpoint dict to a safetensors file.

    See the module docstring for what `obj` may hold and the layout written. `metadata`
    (a dict of strings) is stored in the file's header next to chainrule's own keys and comes
    back as ``Checkpoint.metadata``. `path` may be a file-like object opened for binary
    writing (``io.BytesIO``), as torch.save takes, which gets the same bytes (not
    atomically: the stream is the caller's). The file is replaced atomically: if saving fails, the
    previous file at `path` is left as it was.

    Raises TypeError for something that cannot be stored (naming where it is in `obj`).
    """
    st = safetensors_module()
    header: dict[str, str] = {KEY_FORMAT: str(FORMAT_VERSION), KEY_VERSION: __version__}
    encoder = Encoder()
    config: dict[str, Any] | None = None
    if isinstance(obj, Module):
        kind = "module"
        config = describe_model(obj)
        contents = encoder.module(obj, "", PRIMARY if config is not None else None)
    elif isinstance(obj, Mapping):
        bad = [key for key in obj if not isinstance(key, str) or not key]
        if bad:
            raise TypeError(f"cannot save a dict with key {bad[0]!r}: keys must be non-empty str")
        if all(isinstance(value, (Tensor, np.ndarray)) for value in obj.values()):
            kind = "state_dict"
            contents = encoder.encode(obj, "")
        else:
            kind = "checkpoint"
            primary = _primary_module(obj)
            contents = {}
            for key, value in obj.items():
                if isinstance(value, Module):
                    described = describe_model(value)
                    if key == primary and described is not None:
                        config, described = described, PRIMARY
                    contents[key] = encoder.module(value, key, described)
                else:
                    contents[key] = encoder.encode(value, key)
    else:  # torch.save(tensor) / torch.save([losses, ...]): any storable value, as saved
        kind = "value"
        contents = encoder.encode(obj, "value")
    header[KEY_KIND] = kind
    header[KEY_CONTENTS] = dumps(contents)
    if config is not None:
        header[KEY_CONFIG] = dumps(config)
    header.update(_user_metadata(metadata))

    data = st.numpy.save(encoder.tensors, metadata=header)
    header_bytes = int.from_bytes(data[:8], "little")
    stream = is_stream(path)
    if header_bytes > MAX_HEADER_BYTES:
        shown = stream_name(path) if stream else os.fspath(path)  # type: ignore[arg-type]
        raise ValueError(
            f"cannot save {shown}: the JSON header would be {header_bytes} bytes, "
            f"more than safetensors reads ({MAX_HEADER_BYTES}); store large data as arrays"
        )
    if stream:
        write_stream(path, data)  # the caller's stream: written as is, not atomically
    else:
        atomic_write_bytes(path, data)  # type: ignore[arg-type]
