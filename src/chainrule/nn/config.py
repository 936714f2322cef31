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
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from chainrule.nn.modules.activation import (
    ELU,
    GELU,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from chainrule.nn.modules.container import Sequential
from chainrule.nn.modules.linear import Identity, Linear
from chainrule.nn.modules.module import Module
from chainrule.nn.modules.regularization import BatchNorm1d, Dropout, Embedding, Flatten

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


# the type of each constructor option, checked before calling the constructor
_INT, _OPT_INT, _NUMBER, _OPT_NUMBER, _BOOL, _DTYPE, _STR = range(7)
_OPTIONS: dict[str, dict[str, int]] = {
    "Linear": {"in_features": _INT, "out_features": _INT, "bias": _BOOL, "dtype": _DTYPE},
    "Identity": {},
    "ReLU": {"inplace": _BOOL},
    "Sigmoid": {},
    "Tanh": {},
    "SiLU": {"inplace": _BOOL},
    "LeakyReLU": {"negative_slope": _NUMBER, "inplace": _BOOL},
    "ELU": {"alpha": _NUMBER, "inplace": _BOOL},
    "GELU": {"approximate": _STR},
    "Softplus": {"beta": _NUMBER, "threshold": _NUMBER},
    "Softmax": {"dim": _OPT_INT},
    "LogSoftmax": {"dim": _OPT_INT},
    "Dropout": {"p": _NUMBER, "inplace": _BOOL},
    "Flatten": {"start_dim": _INT, "end_dim": _INT},
    "BatchNorm1d": {
        "num_features": _INT,
        "eps": _NUMBER,
        "momentum": _OPT_NUMBER,
        "affine": _BOOL,
        "track_running_stats": _BOOL,
        "bias": _BOOL,
        "dtype": _DTYPE,
    },
    "Embedding": {
        "num_embeddings": _INT,
        "embedding_dim": _INT,
        "padding_idx": _OPT_INT,
        "dtype": _DTYPE,
    },
}

# options that are not stored under their own name on the layer
_READERS: dict[tuple[str, str], Callable[[Any], Any]] = {
    ("Linear", "bias"): lambda m: m.bias is not None,
    ("BatchNorm1d", "bias"): lambda m: m.bias is not None if m.affine else True,
}

LAYERS: dict[str, type[Module]] = {
    "Linear": Linear,
    "Identity": Identity,
    "ReLU": ReLU,
    "Sigmoid": Sigmoid,
    "Tanh": Tanh,
    "SiLU": SiLU,
    "LeakyReLU": LeakyReLU,
    "ELU": ELU,
    "GELU": GELU,
    "Softplus": Softplus,
    "Softmax": Softmax,
    "LogSoftmax": LogSoftmax,
    "Dropout": Dropout,
    "Flatten": Flatten,
    "BatchNorm1d": BatchNorm1d,
    "Embedding": Embedding,
}
"""The layers a config may name: exactly these classes (Sequential aside)."""


def _accepted(cls: type[Module]) -> set[str]:
    """The keyword options `cls.__init__` takes (options added to a layer later show up)."""
    return set(inspect.signature(cls.__init__).parameters) - {"self", "args", "kwargs"}


def _read_args(module: Module, where: str) -> dict[str, Any]:
    cls_name = type(module).__name__
    accepted = _accepted(type(module))
    args = {}
    for option in _OPTIONS[cls_name]:
        if option not in accepted:
            continue
        if option == "dtype":
            args[option] = _float_dtype(module, where)
        elif (cls_name, option) in _READERS:
            args[option] = _READERS[cls_name, option](module)
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


def _expected_shapes(cls_name: str, args: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """The state_dict entries (name -> shape) a freshly built layer has."""
    shapes: dict[str, tuple[int, ...]] = {}
    if cls_name == "Linear":
        shapes = {"weight": (args["out_features"], args["in_features"])}
        if args["bias"]:
            shapes["bias"] = (args["out_features"],)
        return shapes
    if cls_name == "Embedding":
        return {"weight": (args["num_embeddings"], args["embedding_dim"])}
    if cls_name == "BatchNorm1d":
        n = args["num_features"]
        if args["affine"]:
            shapes["weight"] = (n,)
            if args.get("bias", True):
                shapes["bias"] = (n,)
        if args["track_running_stats"]:
            shapes.update(running_mean=(n,), running_var=(n,), num_batches_tracked=())
    return shapes


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
            spec = _describe(child, f"{where}.{name}" if where else name)
            layers.append({"name": name, **spec})
        return {"class": "Sequential", "layers": layers}
    if LAYERS.get(cls_name) is not type(module):
        raise _unsupported(module, where)
    args = _read_args(module, where)
    # a layer given extra parameters, buffers or sub-layers after construction could not be
    # rebuilt from its options: refuse it rather than write a config that does not load
    own = {name: t.shape for name, t in module.state_dict().items()}
    expected = _expected_shapes(cls_name, args)
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


def _check_number(value: Any, where: str, option: str, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _config_error(where, f"{option} must be a number, got {value!r}")


def _check_args(cls_name: str, args: Any, where: str) -> dict[str, Any]:
    if not isinstance(args, Mapping):
        raise _config_error(where, f"'args' of {cls_name} must be an object, got {args!r}")
    options = _OPTIONS[cls_name]
    unknown = [k for k in args if k not in options]
    if unknown:
        raise _config_error(where, f"{cls_name} has no option(s) {', '.join(map(repr, unknown))}")
    for option, value in args.items():
        kind = options[option]
        if kind in (_INT, _OPT_INT):
            _check_int(value, where, option, optional=kind == _OPT_INT)
        elif kind in (_NUMBER, _OPT_NUMBER):
            _check_number(value, where, option, optional=kind == _OPT_NUMBER)
        elif kind == _BOOL and not isinstance(value, bool):
            raise _config_error(where, f"{option} must be true or false, got {value!r}")
        elif kind == _STR and not isinstance(value, str):
            raise _config_error(where, f"{option} must be a string, got {value!r}")
        elif kind == _DTYPE and value is not None and value not in _FLOAT_DTYPES:
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
