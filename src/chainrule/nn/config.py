"""Describe a `Sequential` model of built-in layers as plain JSON data, and build it back.

`model_to_config(model)` returns a dict of JSON types only (str, int, float, bool, None,
lists and dicts) that names every layer and its constructor options, but no weights;
`model_from_config(config)` constructs the same architecture with freshly initialised
weights (load the weights with `load_state_dict`, or use `chainrule.load`, which does both).

Example::

    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 3))
    config = nn.config.model_to_config(model)
    json.dumps(config)
    # {"config_version": 1, "class": "Sequential", "layers": [
    #     {"name": "0", "class": "Linear",
    #      "args": {"in_features": 4, "out_features": 16, "bias": true, "dtype": "float32"}},
    #     {"name": "1", "class": "ReLU", "args": {}}, ...]}
    clone = nn.config.model_from_config(config)
    clone.load_state_dict(model.state_dict())

Only the layers listed in `LAYERS` (exactly those classes, not subclasses) are supported,
nested in `Sequential` containers: a layer with custom code could not be rebuilt from data.
Building never imports or evaluates anything named in the config: class names are looked
up in the fixed `LAYERS` table.
"""

from __future__ import annotations

import inspect
import math
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

import chainrule.nn.modules  # noqa: F401 - the layers register themselves on import
from chainrule.nn.modules.container import Sequential
from chainrule.nn.modules.module import Module
from chainrule.nn.registry import LAYERS as _SPECS
from chainrule.nn.registry import Option, spec_of

__all__ = ["CONFIG_VERSION", "LAYERS", "model_from_config", "model_to_config"]

CONFIG_VERSION = 1
_FLOAT_DTYPES = ("float16", "float32", "float64")


def _where(where: str) -> str:
    return f"at layer {where!r}" if where else "at the top level"


def _float_dtype(module: Module, where: str) -> str:
    """The floating dtype of a layer's parameters and buffers (float32 when it has none)."""
    found = {str(t._data.dtype) for t in module.state_dict().values() if t._data.dtype.kind == "f"}
    if len(found) > 1:
        raise ValueError(
            f"cannot describe {type(module).__name__} as a config: its tensors mix the dtypes "
            f"{', '.join(sorted(found))} ({_where(where)})"
        )
    return found.pop() if found else "float32"


LAYERS: dict[str, type[Module]] = {name: spec.cls for name, spec in _SPECS.items()}
"""The layers a config may name: exactly these classes (Sequential aside), as declared in
`chainrule.nn.registry` (each layer's options, parameter shapes and readers come from there)."""


def _accepted(cls: type[Module]) -> set[str]:
    """The keyword options `cls.__init__` takes (options added to a layer later show up)."""
    return set(inspect.signature(cls.__init__).parameters) - {"self", "args", "kwargs"}


def _read_args(module: Module, where: str) -> dict[str, Any]:
    cls_name = type(module).__name__
    spec = _SPECS[cls_name]
    accepted = _accepted(type(module))
    args = {}
    for option, kind in spec.options.items():
        if option not in accepted:
            continue
        if kind is Option.DTYPE:
            args[option] = _float_dtype(module, where)
        elif option in spec.readers:
            args[option] = spec.readers[option](module)
        elif option in vars(module):
            args[option] = _plain(getattr(module, option), cls_name, option)
    return args


def _unsupported(module: Module, where: str) -> ValueError:
    name = type(module).__name__
    return ValueError(
        f"cannot describe {name} as a config: only built-in layers inside Sequential are "
        f"supported ({_where(where)})"
    )


def _plain(value: Any, layer: str, option: str) -> Any:
    """A constructor option as a JSON value (NumPy scalars become Python numbers)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        pass  # inf / nan are not valid JSON
    elif value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(
        f"cannot describe {layer} as a config: option {option}={value!r} "
        f"({type(value).__name__}) is not a finite JSON number, a string or a bool"
    )


def _describe(module: Module, where: str) -> dict[str, Any]:
    cls_name = type(module).__name__
    if type(module) is Sequential:
        layers = []
        for name, child in module._modules.items():
            if child is None:
                raise ValueError(
                    f"cannot describe Sequential as a config: its layer {name!r} is None "
                    f"({_where(where)})"
                )
            described = _describe(child, f"{where}.{name}" if where else name)
            layers.append({"name": name, **described})
        return {"class": "Sequential", "layers": layers}
    spec = spec_of(module)
    if spec is None:
        raise _unsupported(module, where)
    args = _read_args(module, where)
    # a layer given extra parameters, buffers or sub-layers after construction could not be
    # rebuilt from its options: refuse it rather than write a config that does not load
    own = {name: t.shape for name, t in module.state_dict().items()}
    expected = spec.shapes(args)
    if own != expected or module._modules:
        raise ValueError(
            f"cannot describe {cls_name} as a config: its parameters and buffers "
            f"{sorted(own)} do not match what {cls_name}({_format_args(args)}) creates "
            f"({_where(where)})"
        )
    return {"class": cls_name, "args": args}


def _format_args(args: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in args.items())


def model_to_config(module: Module) -> dict[str, Any]:
    """The architecture of `module` as JSON-serialisable data (no weights).

    `module` is a `Sequential` (possibly nested) of built-in layers, or one built-in layer.
    Raises ValueError naming the first layer that cannot be described (a custom Module, a
    subclass of a built-in layer, ModuleList/ModuleDict, a loss).
    """
    if not isinstance(module, Module):
        raise TypeError(f"model_to_config expects a Module, got {type(module).__name__}")
    return {"config_version": CONFIG_VERSION, **_describe(module, "")}


def _config_error(where: str, problem: str) -> ValueError:
    return ValueError(f"invalid model config ({_where(where)}): {problem}")


def _check_int(value: Any, where: str, option: str, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise _config_error(where, f"{option} must be an integer, got {value!r}")


MAX_SHAPE_RANK = 32
"""The longest shape a config's option may hold (NumPy's arrays have at most 64 dims)."""


def _check_shape(value: Any, where: str, option: str) -> None:
    """A shape option: a list of at most MAX_SHAPE_RANK integers, each positive or -1."""
    fits = isinstance(value, list) and 0 < len(value) <= MAX_SHAPE_RANK
    if not fits or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
        raise _config_error(
            where, f"{option} must be a list of 1 to {MAX_SHAPE_RANK} integers, got {value!r}"
        )
    if any(v < 1 and v != -1 for v in value) or value.count(-1) > 1:
        raise _config_error(
            where, f"{option} must hold positive sizes and at most one -1, got {value!r}"
        )


def _check_number(value: Any, where: str, option: str, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _config_error(where, f"{option} must be a number, got {value!r}")


def _check_args(cls_name: str, args: Any, where: str) -> dict[str, Any]:
    if not isinstance(args, Mapping):
        raise _config_error(where, f"'args' of {cls_name} must be an object, got {args!r}")
    options = _SPECS[cls_name].options
    unknown = [k for k in args if k not in options]
    if unknown:
        raise _config_error(where, f"{cls_name} has no option(s) {', '.join(map(repr, unknown))}")
    for option, value in args.items():
        kind = options[option]
        if kind in (Option.INT, Option.SIZE, Option.OPTIONAL_INT):
            _check_int(value, where, option, optional=kind is Option.OPTIONAL_INT)
        elif kind in (Option.NUMBER, Option.OPTIONAL_NUMBER):
            _check_number(value, where, option, optional=kind is Option.OPTIONAL_NUMBER)
        elif kind is Option.BOOL and not isinstance(value, bool):
            raise _config_error(where, f"{option} must be true or false, got {value!r}")
        elif kind is Option.STRING and not isinstance(value, str):
            raise _config_error(where, f"{option} must be a string, got {value!r}")
        elif kind is Option.SHAPE:
            _check_shape(value, where, option)
        elif kind is Option.DTYPE and value is not None and value not in _FLOAT_DTYPES:
            raise _config_error(
                where, f"dtype must be one of {', '.join(_FLOAT_DTYPES)}, got {value!r}"
            )
    return dict(args)


def _build(spec: Any, where: str) -> Module:
    if not isinstance(spec, Mapping):
        raise _config_error(where, f"a layer must be an object, got {type(spec).__name__}")
    cls_name = spec.get("class")
    if cls_name == "Sequential":
        layers = spec.get("layers")
        if not isinstance(layers, list):
            raise _config_error(where, "Sequential needs a 'layers' list")
        children: OrderedDict[str, Module] = OrderedDict()
        for index, layer in enumerate(layers):
            name = layer.get("name", str(index)) if isinstance(layer, Mapping) else str(index)
            if not isinstance(name, str) or not name or "." in name or name in children:
                raise _config_error(where, f"invalid or repeated layer name {name!r}")
            children[name] = _build(layer, f"{where}.{name}" if where else name)
        return Sequential(children)
    if not isinstance(cls_name, str) or cls_name not in LAYERS:
        raise ValueError(
            f"cannot build layer {cls_name!r} from a config ({_where(where)}): "
            f"only built-in layers inside Sequential are supported "
            f"({', '.join(['Sequential', *LAYERS])})"
        )
    args = _check_args(cls_name, spec.get("args", {}), where)
    try:
        return LAYERS[cls_name](**args)
    except (TypeError, ValueError) as error:
        raise _config_error(where, f"{cls_name}({_format_args(args)}) failed: {error}") from None


def model_from_config(config: Mapping[str, Any]) -> Module:
    """Build the model `config` (from `model_to_config`) describes, freshly initialised.

    Construction draws the initial weights from the default generator, as constructing the
    layers by hand would. Raises ValueError on an unknown layer class or a malformed config.
    """
    if not isinstance(config, Mapping):
        raise TypeError(f"model_from_config expects a dict, got {type(config).__name__}")
    version = config.get("config_version", CONFIG_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version > CONFIG_VERSION:
        raise ValueError(
            f"model config version {version!r} is not supported (this chainrule reads "
            f"version {CONFIG_VERSION} and older): upgrade chainrule"
        )
    return _build(config, "")
