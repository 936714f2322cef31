"""Save and load models and training checkpoints as safetensors files.

A safetensors file is an 8-byte little-endian header length, a JSON header (each tensor's
dtype, shape and byte range, plus a ``__metadata__`` dict of strings) and the raw tensor
bytes. Loading one reads JSON and copies bytes: it never unpickles and never runs code, so
a checkpoint from anywhere is safe to open (unlike ``torch.load`` of a pickle).

What `save(obj, path)` accepts and writes:

* a Module: its ``state_dict()`` under the same names (``0.weight``, ``0.bias``, ...), so
  the file is also a PyTorch-style state_dict file (``safetensors.torch.load_file`` reads
  it), plus, for a `Sequential` of built-in layers, its architecture as JSON in the
  metadata key ``chainrule.config`` (see `chainrule.nn.config`): `load` then rebuilds the
  model with no code from you.
* a dict of Tensors / ndarrays (a state_dict): saved as is, under its own keys.
* a dict "training checkpoint", for example::

      chainrule.save({
          "model": model, "optimizer": optimizer, "epoch": epoch,
          "rng": chainrule.get_rng_state(), "history": history,
      }, "runs/1/last.safetensors")

  Every Tensor / ndarray in it (a module's weights, the optimizer's moment buffers, an array
  in ``history``) becomes a tensor named by its path: ``model.0.weight``,
  ``optimizer.state.0.exp_avg``, ``history.curve``. Everything else (the epoch, the optimizer
  step counts and param_groups, the RNG state, lists of losses, strings) is stored as JSON in
  the metadata key ``chainrule.contents``. Values may be None, bools, ints, floats
  (including nan and inf), strings, lists, tuples and dicts (keys of any of those scalar
  types) of these, Tensors, ndarrays, Modules, optimizers and other objects with a
  ``state_dict()`` (LR schedulers), whose state dict is stored.

PyTorch's spelling works unchanged with `import chainrule as torch` (still safetensors)::

    chainrule.save(model.state_dict(), "model.pth")
    model.load_state_dict(chainrule.load("model.pth", weights_only=True, map_location="cpu"))
    chainrule.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, p)
    state = chainrule.load(p); opt.load_state_dict(state["optimizer"])

Loading, with what chainrule adds::

    ckpt = chainrule.load("runs/1/last.safetensors")            # a Checkpoint
    model = ckpt.model                 # rebuilt from the config, weights loaded (or None)
    ckpt.state_dict                    # name -> Tensor: the model's weights
    ckpt = chainrule.load(path, model=model)    # load the weights into your model (strict)
    chainrule.checkpoint.restore_optimizer(ckpt, optimizer)   # or:
    optimizer.load_state_dict(ckpt.optimizer_state)
    chainrule.set_rng_state(ckpt.rng_state)
    start_epoch = ckpt.epoch + 1
    ckpt["history"]                    # any other entry, as saved

Saves are atomic (`chainrule.files.atomic_write_bytes`): a crash leaves the previous file
intact. A damaged or foreign file raises `CheckpointError` (a ValueError) naming the file
and what is wrong with it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from chainrule.creation import from_numpy
from chainrule.devices import check_device
from chainrule.files import atomic_write_bytes, atomic_write_text, loads_strict, open_regular
from chainrule.limits import (
    MAX_CHECKPOINT_BYTES,
    MAX_CONFIG_BYTES,
    MAX_LAYERS,
    MAX_TENSORS,
    MAX_WIDTH,
)
from chainrule.nn.config import model_from_config, model_to_config
from chainrule.nn.modules.module import Module
from chainrule.nn.registry import LAYERS, Option
from chainrule.random import Generator, default_generator
from chainrule.tensor import Tensor
from chainrule.version import __version__

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "atomic_write_bytes",
    "atomic_write_text",
    "load",
    "restore_optimizer",
    "save",
]

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

_STORABLE = {dtype: code for code, dtype in DTYPES.items()}

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

_PRIMARY: Any = object()  # see _Encoder.module

_INSTALL_HINT = 'install it with: pip install "chainrule[checkpoints]"'


class CheckpointError(ValueError):
    """A file that is not a valid (chainrule or plain) safetensors checkpoint.

    Attributes: ``path`` (the file, as given) and ``problem`` (what is wrong with it).
    """

    def __init__(self, path: StrPath, problem: str) -> None:
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path} is not a chainrule checkpoint: {problem}")


def _safetensors() -> Any:
    try:
        import safetensors  # optional dependency
        import safetensors.numpy
    except ImportError as error:
        raise ImportError(
            f"chainrule.save and chainrule.load need the safetensors package: {_INSTALL_HINT}"
        ) from error
    return safetensors


# ====================================================================== saving


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


def _describe_model(module: Module) -> dict[str, Any] | None:
    try:
        return model_to_config(module)
    except ValueError:
        return None  # not a Sequential of built-in layers: only its weights are saved


class _Encoder:
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
        """A module's node; `config` is its config, None (not describable) or _PRIMARY
        (the model whose config is stored once, in the chainrule.config metadata key)."""
        node: dict[str, Any] = {"class": type(module).__name__}
        if config is not _PRIMARY:
            node["config"] = config
        node["state"] = self.encode(module.state_dict(), path)
        return {_MODULE: node}

    def encode(self, value: Any, path: str) -> Any:
        def child(key: Any) -> str:
            return f"{path}.{key}" if path else str(key)

        if isinstance(value, Module):
            return self.module(value, path, _describe_model(value))
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


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _primary_module(obj: Mapping[str, Any]) -> str | None:
    """The entry holding "the" model: 'model' if it is a Module, else the only Module."""
    if isinstance(obj.get("model"), Module):
        return "model"
    modules = [key for key, value in obj.items() if isinstance(value, Module)]
    return modules[0] if len(modules) == 1 else None


def save(
    obj: Any,
    path: StrPath,
    *,
    metadata: Mapping[str, str] | None = None,
    pickle_module: Any = None,
    pickle_protocol: Any = None,
    _use_new_zipfile_serialization: Any = None,
) -> None:
    """Save a Module, a state_dict or a training-checkpoint dict to a safetensors file.

    See the module docstring for what `obj` may hold and the layout written. `metadata`
    (a dict of strings) is stored in the file's header next to chainrule's own keys and comes
    back as ``Checkpoint.metadata``. The file is replaced atomically: if saving fails, the
    previous file at `path` is left as it was.

    Raises TypeError for something that cannot be stored (naming where it is in `obj`).
    """
    st = _safetensors()
    header: dict[str, str] = {KEY_FORMAT: str(FORMAT_VERSION), KEY_VERSION: __version__}
    encoder = _Encoder()
    config: dict[str, Any] | None = None
    if isinstance(obj, Module):
        kind = "module"
        config = _describe_model(obj)
        contents = encoder.module(obj, "", _PRIMARY if config is not None else None)
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
                    described = _describe_model(value)
                    if key == primary and described is not None:
                        config, described = described, _PRIMARY
                    contents[key] = encoder.module(value, key, described)
                else:
                    contents[key] = encoder.encode(value, key)
    else:  # torch.save(tensor) / torch.save([losses, ...]): any storable value, as saved
        kind = "value"
        contents = encoder.encode(obj, "value")
    header[KEY_KIND] = kind
    header[KEY_CONTENTS] = _dumps(contents)
    if config is not None:
        header[KEY_CONFIG] = _dumps(config)
    header.update(_user_metadata(metadata))

    data = st.numpy.save(encoder.tensors, metadata=header)
    header_bytes = int.from_bytes(data[:8], "little")
    if header_bytes > MAX_HEADER_BYTES:
        raise ValueError(
            f"cannot save {os.fspath(path)}: the JSON header would be {header_bytes} bytes, "
            f"more than safetensors reads ({MAX_HEADER_BYTES}); store large data as arrays"
        )
    atomic_write_bytes(path, data)


# ====================================================================== reading the header


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


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _read_header(path: StrPath) -> tuple[dict[str, str], list[str]]:
    """Check a file's safetensors structure; returns its metadata and tensor names in
    file order. Reads only the header: the tensor bytes are checked by size."""
    try:
        file = open_regular(path, MAX_CHECKPOINT_BYTES, "checkpoint file")
    except ValueError as error:  # a folder, FIFO, device, symlink loop, too large
        raise CheckpointError(path, str(error)) from None
    with file:
        size = os.fstat(file.fileno()).st_size
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
        if not isinstance(shape, list) or not all(_is_int(n) and n >= 0 for n in shape):
            raise bad(f"tensor {name!r} has an invalid shape {shape!r}")
        if len(shape) > MAX_DIMS:
            raise bad(f"tensor {name!r} has {len(shape)} dimensions; at most {MAX_DIMS} are read")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_is_int(n) for n in offsets)
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


def _read_tensors(path: StrPath, names: list[str]) -> dict[str, np.ndarray]:
    st = _safetensors()
    try:
        with st.safe_open(os.fspath(path), framework="numpy") as file:
            arrays = {name: np.array(file.get_tensor(name), copy=True) for name in names}
    except (st.SafetensorError, ValueError) as error:  # e.g. the file changed since checked
        raise CheckpointError(path, f"safetensors could not read it: {error}") from None
    return arrays


# ====================================================================== decoding


class _Decoder:
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


def _parse_json(path: StrPath, metadata: dict[str, str], key: str) -> Any:
    if key == KEY_CONFIG and len(metadata[key]) > MAX_CONFIG_BYTES:
        raise CheckpointError(
            path,
            f"metadata {key!r} is {len(metadata[key])} characters, over the "
            f"{MAX_CONFIG_BYTES} allowed for a model architecture",
        )
    try:
        return json.loads(metadata[key])
    except (ValueError, RecursionError) as error:
        raise CheckpointError(path, f"metadata {key!r} is not valid JSON: {error}") from None


def _config_values(spec: Any) -> int:
    """How many parameter and buffer values building the model `spec` describes allocates
    (0 for what the config checks will refuse anyway)."""
    if not isinstance(spec, Mapping):
        return 0
    name, args = spec.get("class"), spec.get("args", {})
    if name == "Sequential":
        layers = spec.get("layers")
        return sum(map(_config_values, layers)) if isinstance(layers, list) else 0
    declared = LAYERS.get(name) if isinstance(name, str) else None
    if declared is None or not isinstance(args, Mapping):
        return 0
    # the declared shapes (nn.registry), on options made safe to count: a negative or
    # non-integer size counts 0 and any bool option but false counts as true, so a malformed
    # config gives a bound, and the config checks refuse it afterwards
    safe: dict[str, Any] = {}
    for option, value in {**declared.defaults(), **args}.items():
        kind = declared.options.get(option)
        if kind in (Option.INT, Option.SIZE):
            safe[option] = max(value, 0) if _is_int(value) else 0
        elif kind is Option.BOOL:
            safe[option] = value is not False
        else:
            safe[option] = value
    try:
        return declared.parameter_count(safe)
    except (KeyError, TypeError):
        return 0


def _config_limits(spec: Any, counted: list[int], where: str = "") -> str | None:
    """What in a model config is over the limits of `chainrule.limits` (too many layers, a
    layer of width 0 or over MAX_WIDTH), or None. Walks the JSON only: nothing is built."""
    if not isinstance(spec, Mapping):
        return None
    counted[0] += 1
    if counted[0] > MAX_LAYERS:
        return f"it describes more than {MAX_LAYERS} layers"
    layers = spec.get("layers")
    if spec.get("class") == "Sequential" and isinstance(layers, list):
        if len(layers) > MAX_LAYERS:
            return f"it describes {len(layers)} layers, more than {MAX_LAYERS}"
        for index, layer in enumerate(layers):
            name = layer.get("name", index) if isinstance(layer, Mapping) else index
            problem = _config_limits(layer, counted, f"{where}.{name}" if where else str(name))
            if problem is not None:
                return problem
        return None
    args = spec.get("args")
    if not isinstance(args, Mapping):
        return None
    name = spec.get("class")
    declared = LAYERS.get(name) if isinstance(name, str) else None
    widths = [] if declared is None else declared.options_of(Option.SIZE)
    for option in widths:  # declared SIZE in nn.registry: each must lie in 1..MAX_WIDTH
        value: Any = args.get(option)
        if _is_int(value) and not 1 <= value <= MAX_WIDTH:
            return (
                f"layer {where!r} ({spec.get('class')}) has {option}={value}; layer widths "
                f"must lie in 1..{MAX_WIDTH}"
            )
    return None


def _is_state_dict(value: Any) -> bool:
    return isinstance(value, Mapping) and all(
        isinstance(v, Tensor | np.ndarray) for v in value.values()
    )


def _is_optimizer_state(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and isinstance(value.get("state"), Mapping)
        and isinstance(value.get("param_groups"), list)
    )


@contextlib.contextmanager
def _rng_untouched() -> Iterator[None]:
    """Building a model draws initial weights: keep the default generator where it was."""
    state = default_generator.get_state()
    try:
        yield
    finally:
        default_generator.set_state(state)


class Checkpoint(dict[str, Any]):
    """What `chainrule.load` returns: the weights, model, optimizer state and other entries.

    Attributes:
        path: the file loaded.
        kind: ``'module'``, ``'state_dict'`` or ``'checkpoint'`` (as saved by chainrule), or
            ``'safetensors'`` for any other safetensors file (e.g. from PyTorch).
        state_dict: the model's weights, name -> Tensor (for a training checkpoint: those of
            its ``'model'`` entry, or of its only Module).
        config: the model's architecture (`chainrule.nn.config`), or None.
        model: the model: the one passed to `load`, else rebuilt from `config` with the
            weights loaded (in training mode, as a new model is), else None.
        optimizer_state: the ``'optimizer'`` entry, ready for ``optimizer.load_state_dict``.
        epoch, rng_state: the ``'epoch'`` and ``'rng'`` (or ``'rng_state'``) entries.
        metadata: the ``metadata`` given to `save` (every header string not starting with
            ``chainrule.``); ``raw_metadata`` has every header string.
        tensors: every array in the file by its key, as stored.

    A Checkpoint is also a dict of what was saved, as ``torch.load`` returns it: for a
    saved state_dict or Module, the state_dict (so ``model.load_state_dict(load(path))``
    works); for a dict checkpoint, its entries: ``ckpt["history"]``, ``"extra" in ckpt``.
    A Module entry comes back as its state_dict, an optimizer as its state_dict, tuples as
    tuples, Tensors as Tensors and ndarrays as ndarrays. Anything else saved on its own (a
    Tensor, a list of losses, a number) is returned by `load` as that value.
    """

    def __init__(
        self,
        path: StrPath,
        kind: str,
        entries: dict[str, Any],
        state_dict: OrderedDict[str, Tensor],
        config: dict[str, Any] | None,
        model: Module | None,
        raw_metadata: dict[str, str],
        tensors: dict[str, np.ndarray],
    ) -> None:
        self.path = os.fspath(path)
        self.kind = kind
        self.entries = entries
        # as a dict, a Checkpoint is what was saved (torch.load's contract): the entries of a
        # dict checkpoint, else the state_dict (model.load_state_dict(chainrule.load(path)))
        super().__init__(entries if kind == "checkpoint" else state_dict)
        self.state_dict = state_dict
        self.config = config
        self.model = model
        self.raw_metadata = raw_metadata
        self.metadata = {k: v for k, v in raw_metadata.items() if not k.startswith("chainrule.")}
        self.tensors = tensors

    @property
    def optimizer_state(self) -> dict[str, Any] | None:
        value = self.entries.get("optimizer")
        if _is_optimizer_state(value):
            return value
        found = [v for v in self.entries.values() if _is_optimizer_state(v)]
        return found[0] if len(found) == 1 else None

    @property
    def epoch(self) -> Any:
        return self.entries.get("epoch")

    @property
    def rng_state(self) -> Any:
        return self.entries.get("rng", self.entries.get("rng_state"))

    def __repr__(self) -> str:
        model = type(self.model).__name__ if self.model is not None else None
        return (
            f"Checkpoint({self.path!r}, kind={self.kind!r}, tensors={len(self.state_dict)}, "
            f"model={model}, entries={list(self.entries)})"
        )


def load(
    path: StrPath,
    model: Module | None = None,
    *,
    strict: bool = True,
    map_location: Any = None,
    weights_only: Any = None,
    mmap: Any = None,
) -> Any:
    """Read a safetensors checkpoint written by `save` (or by safetensors from PyTorch).

    With `model`, its weights are loaded into it (``load_state_dict``, `strict` by default:
    every key must match) and it becomes ``Checkpoint.model``; without, a model is rebuilt
    from the saved config when there is one (the default RNG is left untouched).

    Raises FileNotFoundError for a missing file, CheckpointError (a ValueError) naming the
    file for anything that is not a valid safetensors file or has invalid chainrule
    metadata, and RuntimeError when the weights do not fit `model`. Never unpickles and
    never evaluates code: the header is JSON and the tensors are raw bytes.
    """
    _check_map_location(map_location)
    metadata, names = _read_header(path)
    if len(metadata.get(KEY_CONFIG, "")) > MAX_CONFIG_BYTES:  # before reading any tensor
        _parse_json(path, metadata, KEY_CONFIG)  # raises: over the limit
    tensors = _read_tensors(path, names)
    shown = os.fspath(path)

    version = metadata.get(KEY_FORMAT)
    if version is not None and (
        not (version.isascii() and version.isdigit()) or int(version) > FORMAT_VERSION
    ):
        raise CheckpointError(
            path,
            f"its format {version!r} is newer than this chainrule reads "
            f"({FORMAT_VERSION}): upgrade chainrule",
        )
    config = _parse_json(path, metadata, KEY_CONFIG) if KEY_CONFIG in metadata else None
    if config is not None and not isinstance(config, dict):
        raise CheckpointError(path, f"metadata {KEY_CONFIG!r} is not a JSON object")

    entries: dict[str, Any] = {}
    state: Any
    if KEY_CONTENTS in metadata:
        kind = metadata.get(KEY_KIND, "checkpoint")
        decoder = _Decoder(path, tensors)
        try:
            contents = decoder.decode(_parse_json(path, metadata, KEY_CONTENTS), "")
        except RecursionError:
            raise CheckpointError(path, f"metadata {KEY_CONTENTS!r} is nested too deeply") from None
        if kind == "value":  # a tensor, list, number ... saved on its own: returned as is
            return contents
        if kind == "checkpoint":
            if not isinstance(contents, dict):
                raise CheckpointError(path, f"metadata {KEY_CONTENTS!r} is not a JSON object")
            entries = contents
            primary = "model" if _is_state_dict(entries.get("model")) else None
            if primary is None:
                modules = [key for key in decoder.configs if key in entries]
                primary = modules[0] if len(modules) == 1 else None
            state = entries[primary] if primary is not None else OrderedDict()
            if config is None and primary is not None:
                config = decoder.configs.get(primary)
        else:
            state = contents
            if config is None:
                config = decoder.configs.get("")
        if not _is_state_dict(state):
            raise CheckpointError(path, f"metadata {KEY_CONTENTS!r} does not hold a state_dict")
        state = OrderedDict(
            (k, v if isinstance(v, Tensor) else from_numpy(v)) for k, v in state.items()
        )
    else:  # any other safetensors file: a state_dict, e.g. exported from PyTorch
        kind = "safetensors"
        state = OrderedDict((name, from_numpy(array)) for name, array in tensors.items())

    if model is not None:
        try:
            model.load_state_dict(state, strict=strict)
        except RuntimeError as error:
            message = str(error).replace("\n\t", " ")
            raise RuntimeError(f"cannot load {shown} into the model: {message}") from None
    elif config is not None:
        problem = _config_limits(config, [0])
        if problem is not None:
            raise CheckpointError(path, f"metadata {KEY_CONFIG!r}: {problem}")
        needed = _config_values(config)
        held = sum(int(np.asarray(v._data).size) for v in state.values())
        if needed > held:  # a tiny file must not make load allocate a huge model
            raise CheckpointError(
                path,
                f"metadata {KEY_CONFIG!r} describes a model of {needed} values but the file "
                f"holds {held}",
            )
        try:
            with _rng_untouched():
                model = model_from_config(config)
        except (ValueError, TypeError) as error:
            raise CheckpointError(path, f"metadata {KEY_CONFIG!r}: {error}") from None
        try:
            model.load_state_dict(state)
        except RuntimeError as error:
            message = str(error).replace("\n\t", " ")
            raise CheckpointError(path, f"its weights do not fit its config: {message}") from None
    return Checkpoint(path, kind, entries, state, config, model, metadata, tensors)


def _check_map_location(map_location: Any) -> None:
    """torch.load's map_location: the CPU (None, 'cpu', a CPU device, a dict or function
    that maps storages, which all live on the CPU here); a GPU is a clear error."""
    if map_location is None or callable(map_location) or isinstance(map_location, dict):
        return
    check_device(map_location)


def restore_optimizer(checkpoint: Checkpoint | StrPath, optimizer: Any) -> Any:
    """Load a checkpoint's optimizer state into `optimizer` (built over the same
    parameters, in the same order, as the saved one) and return the optimizer.

    Same as ``optimizer.load_state_dict(checkpoint.optimizer_state)``, with a clear error
    when the checkpoint holds no optimizer state.
    """
    if not isinstance(checkpoint, Checkpoint):
        loaded = load(checkpoint)
        if not isinstance(loaded, Checkpoint):
            raise ValueError(f"{os.fspath(checkpoint)} holds a single value, no optimizer state")
        checkpoint = loaded
    state = checkpoint.optimizer_state
    if state is None:
        raise ValueError(
            f"{checkpoint.path} holds no optimizer state (entries: {list(checkpoint.entries)})"
        )
    optimizer.load_state_dict(state)
    return optimizer
