"""The tree codec: a checkpoint object (modules, optimizers, dicts, tuples, tensors, numbers)
to JSON for the ``chainrule.contents`` metadata key plus named arrays, and back.

A value JSON cannot hold is a single-key object with a marker: ``{"__tensor__": name}``,
``{"__tuple__": [...]}``, ``{"__items__": [[key, value], ...]}`` (non-string keys),
``{"__float__": "nan"}``, ``{"__module__": {...}}``, ``{"__state_dict__": {...}}``.
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

from chainrule.checkpoint.format import DTYPES, KEY_CONTENTS, CheckpointError, StrPath
from chainrule.creation import from_numpy
from chainrule.nn.config import model_to_config
from chainrule.nn.modules.module import Module
from chainrule.random import Generator
from chainrule.tensor import Tensor

# single-key JSON objects that stand for something other than a dict in chainrule.contents
_TENSOR, _NDARRAY, _TUPLE, _ITEMS = "__tensor__", "__ndarray__", "__tuple__", "__items__"
_MODULE, _STATE, _FLOAT = "__module__", "__state_dict__", "__float__"
_MARKERS = frozenset({_TENSOR, _NDARRAY, _TUPLE, _ITEMS, _MODULE, _STATE, _FLOAT})
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}

PRIMARY: Any = object()  # see Encoder.module

_STORABLE = {dtype: code for code, dtype in DTYPES.items()}


def _storable(value: Any, key: str) -> np.ndarray:
    """The array of a Tensor / ndarray, C-contiguous in native byte order (copied only if
    needed: safetensors reads the raw buffer), after checking its dtype."""
    array = np.asarray(value._data if isinstance(value, Tensor) else value)
    native = array.dtype.newbyteorder("=")
    if native not in _STORABLE:
        raise TypeError(
            f"cannot save {key!r}: dtype {array.dtype} is not one of "
            "float16/32/64, int8/16/32/64, uint8, bool"
        )
    if array.dtype != native or not array.flags.c_contiguous:
        array = np.array(array, dtype=native, order="C")  # ascontiguousarray makes 0-d 1-d
    return array


def describe_model(module: Module) -> dict[str, Any] | None:
    try:
        return model_to_config(module)
    except ValueError:
        return None  # not a Sequential of built-in layers: only its weights are saved


class Encoder:
    """Turns a checkpoint object into JSON-able data, moving arrays into `tensors`."""

    def __init__(self) -> None:
        self.tensors: dict[str, np.ndarray] = {}

    def add(self, key: str, value: Any) -> str:
        array = _storable(value, key)
        name, n = key, 1
        while name in self.tensors:  # 'a.b' and ('a', 'b') both give "a.b": keep both
            n += 1
            name = f"{key}~{n}"
        self.tensors[name] = array
        return name

    def module(self, module: Module, path: str, config: Any) -> Any:
        """A module's node; `config` is its config, None (not describable) or PRIMARY
        (the model whose config is stored once, in the chainrule.config metadata key)."""
        node: dict[str, Any] = {"class": type(module).__name__}
        if config is not PRIMARY:
            node["config"] = config
        node["state"] = self.encode(module.state_dict(), path)
        return {_MODULE: node}

    def encode(self, value: Any, path: str) -> Any:
        def child(key: Any) -> str:
            return f"{path}.{key}" if path else str(key)

        if isinstance(value, Module):
            return self.module(value, path, describe_model(value))
        if isinstance(value, Tensor):
            return {_TENSOR: self.add(path, value)}
        if isinstance(value, np.ndarray):
            return {_NDARRAY: self.add(path, value)}
        if isinstance(value, Generator):
            return self.encode(value.get_state(), path)
        if isinstance(value, np.generic) and not isinstance(value, np.void):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            return {_FLOAT: str(value)}  # 'nan', 'inf', '-inf': NaN is not valid JSON
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, tuple):
            return {_TUPLE: [self.encode(v, child(i)) for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [self.encode(v, child(i)) for i, v in enumerate(value)]
        if isinstance(value, Mapping):
            keys = list(value)
            if all(isinstance(k, str) for k in keys) and _MARKERS.isdisjoint(keys):
                return {k: self.encode(v, child(k)) for k, v in value.items()}
            items = []
            for k, v in value.items():
                key = k.item() if isinstance(k, np.generic) else k
                if key is not None and not isinstance(key, (str, int, float, bool)):
                    raise TypeError(
                        f"cannot save {path or 'the checkpoint'!r}: dict key {k!r} "
                        f"({type(k).__name__}) is not a str, int, float, bool or None"
                    )
                items.append([key, self.encode(v, child(key))])
            return {_ITEMS: items}
        if callable(getattr(value, "state_dict", None)):  # optimizers, LR schedulers
            return {
                _STATE: {
                    "class": type(value).__name__,
                    "state_dict": self.encode(value.state_dict(), path),
                }
            }
        raise TypeError(
            f"cannot save {path or 'the checkpoint'!r}: a {type(value).__name__} is not a "
            "Module, optimizer, Tensor, ndarray or JSON data (None, bool, int, float, str, "
            "list, tuple, dict)"
        )


def dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class Decoder:
    """Turns chainrule.contents back into Python data, with arrays from the file."""

    def __init__(self, path: StrPath, tensors: dict[str, np.ndarray]) -> None:
        self.path = path
        self.tensors = tensors
        self.configs: dict[str, dict[str, Any] | None] = {}

    def error(self, where: str, problem: str) -> CheckpointError:
        place = f" at {where!r}" if where else ""
        return CheckpointError(self.path, f"metadata {KEY_CONTENTS!r}{place}: {problem}")

    def array(self, key: Any, where: str) -> np.ndarray:
        if not isinstance(key, str) or key not in self.tensors:
            raise self.error(where, f"refers to a tensor {key!r} that is not in the file")
        return self.tensors[key]

    def decode(self, node: Any, where: str) -> Any:
        if isinstance(node, list):
            return [self.decode(v, f"{where}.{i}") for i, v in enumerate(node)]
        if not isinstance(node, dict):
            return node
        if len(node) == 1 and next(iter(node)) in _MARKERS:
            ((marker, body),) = node.items()
            return self.marker(marker, body, where)
        return {k: self.decode(v, f"{where}.{k}" if where else k) for k, v in node.items()}

    def marker(self, marker: str, body: Any, where: str) -> Any:
        if marker == _TENSOR:
            return from_numpy(self.array(body, where))
        if marker == _NDARRAY:
            return self.array(body, where)
        if marker == _FLOAT:
            if not isinstance(body, str) or body not in _NON_FINITE:
                raise self.error(where, f"{_FLOAT} must be 'nan', 'inf' or '-inf', got {body!r}")
            return _NON_FINITE[body]
        if marker == _TUPLE:
            if not isinstance(body, list):
                raise self.error(where, f"{_TUPLE} needs a list")
            return tuple(self.decode(body, where))
        if marker == _ITEMS:
            if not isinstance(body, list) or not all(
                isinstance(pair, list) and len(pair) == 2 and not isinstance(pair[0], list | dict)
                for pair in body
            ):
                raise self.error(where, f"{_ITEMS} needs a list of [key, value] pairs")
            return {k: self.decode(v, f"{where}.{k}" if where else str(k)) for k, v in body}
        if marker == _MODULE:
            if not isinstance(body, dict) or not isinstance(body.get("config"), dict | None):
                raise self.error(where, f"{_MODULE} needs an object (with an optional config)")
            state = self.decode(body.get("state", {}), where)
            if not isinstance(state, dict) or not all(
                isinstance(v, Tensor) for v in state.values()
            ):
                raise self.error(where, "a module's state must map names to tensors")
            self.configs[where] = body.get("config")
            return OrderedDict(state)
        # _STATE: an optimizer's or scheduler's state_dict
        if not isinstance(body, dict) or "state_dict" not in body:
            raise self.error(where, f"{_STATE} needs an object with a state_dict")
        return self.decode(body["state_dict"], where)
