"""Memory checks on a saved model config, before anything is built: how many values it
would allocate (from each layer's declared parameter shapes in `chainrule.nn.registry`) and
whether it stays within `chainrule.limits` (layer count, widths)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chainrule.checkpoint.format import is_int
from chainrule.limits import (
    MAX_LAYERS,
    MAX_WIDTH,
)
from chainrule.nn.registry import LAYERS, Option


def config_values(spec: Any) -> int:
    """How many parameter and buffer values building the model `spec` describes allocates
    (0 for what the config checks will refuse anyway)."""
    if not isinstance(spec, Mapping):
        return 0
    name, args = spec.get("class"), spec.get("args", {})
    if name == "Sequential":
        layers = spec.get("layers")
        return sum(map(config_values, layers)) if isinstance(layers, list) else 0
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
            safe[option] = max(value, 0) if is_int(value) else 0
        elif kind is Option.BOOL:
            safe[option] = value is not False
        else:
            safe[option] = value
    try:
        return declared.parameter_count(safe)
    except (KeyError, TypeError):
        return 0


def config_limits(spec: Any, counted: list[int], where: str = "") -> str | None:
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
            problem = config_limits(layer, counted, f"{where}.{name}" if where else str(name))
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
        if is_int(value) and not 1 <= value <= MAX_WIDTH:
            return (
                f"layer {where!r} ({spec.get('class')}) has {option}={value}; layer widths "
                f"must lie in 1..{MAX_WIDTH}"
            )
    return None
