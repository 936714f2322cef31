"""`load`, the `Checkpoint` it returns, and `restore_optimizer`."""

from __future__ import annotations

import contextlib
import os
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any, TypeAlias, TypeVar, cast

import numpy as np

from chainrule.checkpoint.codec import Decoder
from chainrule.checkpoint.format import (
    FORMAT_VERSION,
    KEY_CONFIG,
    KEY_CONTENTS,
    KEY_FORMAT,
    KEY_KIND,
    CheckpointError,
    StrPath,
)
from chainrule.checkpoint.size_checks import config_limits, config_values
from chainrule.checkpoint.streams import is_stream, read_stream, stream_name
from chainrule.checkpoint.validator import (
    read_header,
    read_header_bytes,
    read_tensors,
    read_tensors_bytes,
)
from chainrule.creation import from_numpy
from chainrule.devices import check_device, device
from chainrule.files import loads_strict
from chainrule.limits import (
    MAX_CONFIG_BYTES,
)
from chainrule.nn.config import model_from_config
from chainrule.nn.modules.module import Module
from chainrule.random import default_generator
from chainrule.tensor import Tensor
from chainrule.types import JSONDict, StateDict

if TYPE_CHECKING:
    from chainrule.optim.optimizer import Optimizer


MapLocation = str | device | Mapping[str, str] | Callable[..., object] | None
"""torch.load's map_location: everything lives on the CPU here (a GPU is a clear error)."""

OptimizerT = TypeVar("OptimizerT", bound="Optimizer")


def _parse_json(path: StrPath, metadata: dict[str, str], key: str) -> Any:
    if key == KEY_CONFIG and len(metadata[key]) > MAX_CONFIG_BYTES:
        raise CheckpointError(
            path,
            f"metadata {key!r} is {len(metadata[key])} characters, over the "
            f"{MAX_CONFIG_BYTES} allowed for a model architecture",
        )
    try:
        return loads_strict(metadata[key])
    except (ValueError, RecursionError) as error:
        raise CheckpointError(path, f"metadata {key!r} is not valid JSON: {error}") from None


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


SavedValue: TypeAlias = Any
"""An entry of a checkpoint, or a value saved on its own: what was given to `save` (a
Tensor, an ndarray, a number, a string, None, or a list, tuple or dict of them; a Module
or an optimizer comes back as its state_dict), so as open as that."""


class Checkpoint(dict[str, SavedValue]):
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
        entries: dict[str, SavedValue],
        state_dict: OrderedDict[str, Tensor],
        config: JSONDict | None,
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
    def optimizer_state(self) -> StateDict | None:
        value = self.entries.get("optimizer")
        if _is_optimizer_state(value):
            return value
        found = [v for v in self.entries.values() if _is_optimizer_state(v)]
        return found[0] if len(found) == 1 else None

    @property
    def epoch(self) -> SavedValue:
        return self.entries.get("epoch")

    @property
    def rng_state(self) -> SavedValue:
        return self.entries.get("rng", self.entries.get("rng_state"))

    def __repr__(self) -> str:
        model = type(self.model).__name__ if self.model is not None else None
        return (
            f"Checkpoint({self.path!r}, kind={self.kind!r}, tensors={len(self.state_dict)}, "
            f"model={model}, entries={list(self.entries)})"
        )


def load(
    path: StrPath | IO[bytes],
    model: Module | None = None,
    *,
    strict: bool = True,
    map_location: MapLocation = None,
    weights_only: bool | None = None,  # torch.load's; loading never runs code either way
    mmap: bool | None = None,
) -> Checkpoint | SavedValue:
    """Read a safetensors checkpoint written by `save` (or by safetensors from PyTorch).

    With `model`, its weights are loaded into it (``load_state_dict``, `strict` by default:
    every key must match) and it becomes ``Checkpoint.model``; without, a model is rebuilt
    from the saved config when there is one (the default RNG is left untouched).

    `path` may be a file-like object opened for binary reading (``io.BytesIO``), as
    torch.load takes: it is read to its end (at most the checkpoint size limit) and checked
    as a file is.

    Raises FileNotFoundError for a missing file, CheckpointError (a ValueError) naming the
    file for anything that is not a valid safetensors file or has invalid chainrule
    metadata, and RuntimeError when the weights do not fit `model`. Never unpickles and
    never evaluates code: the header is JSON and the tensors are raw bytes.
    """
    _check_map_location(map_location)
    if is_stream(path):  # a buffer, as torch loads one: read whole (bounded), checked as a file
        shown = stream_name(path)  # how messages and Checkpoint.path name it
        return _load(shown, read_stream(path, shown), model, strict)
    return _load(cast("StrPath", path), None, model, strict)


def _load(
    path: StrPath, data: bytes | None, model: Module | None, strict: bool
) -> Checkpoint | SavedValue:
    """`load` of the file at `path`, or of the checkpoint `data` (then `path` names it)."""
    if data is not None:
        metadata, names = read_header_bytes(data, os.fspath(path))
    else:
        metadata, names = read_header(path)
    if len(metadata.get(KEY_CONFIG, "")) > MAX_CONFIG_BYTES:  # before reading any tensor
        _parse_json(path, metadata, KEY_CONFIG)  # raises: over the limit
    shown = os.fspath(path)
    tensors = read_tensors(path, names) if data is None else read_tensors_bytes(data, names, shown)

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
        decoder = Decoder(path, tensors)
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
        problem = config_limits(config, [0])
        if problem is not None:
            raise CheckpointError(path, f"metadata {KEY_CONFIG!r}: {problem}")
        needed = config_values(config)
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


def _check_map_location(map_location: MapLocation) -> None:
    """torch.load's map_location: the CPU (None, 'cpu', a CPU device, a dict or function
    that maps storages, which all live on the CPU here); a GPU is a clear error."""
    if map_location is None or callable(map_location) or isinstance(map_location, dict):
        return
    check_device(map_location)


def restore_optimizer(checkpoint: Checkpoint | StrPath, optimizer: OptimizerT) -> OptimizerT:
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
