"""The built-in layers, each declared once: what the rest of chainrule needs to know of it.

A layer class in `chainrule.nn.modules` carries one `@register(...)` line::

    @register(options={"min_val": NUMBER, "max_val": NUMBER, "inplace": BOOL},
              activation="hardtanh", onnx=True, capture=True)
    class Hardtanh(Module): ...

and every feature reads that declaration instead of keeping its own list:

=====================  =================================================================
`nn.config`            the options a config stores and checks (`options`, `readers`), the
                       parameter shapes a rebuilt layer must have (`shapes`)
`checkpoint`           the size a config would allocate, checked before building (`shapes`)
`onnx`                 which layers export (`onnx`; the exporter is onnx.EXPORTERS[cls]) and
                       which are refused
`capture`              which layers `compile_step` replays (`capture`) and which it refuses
CLI, playground,       the activation names (`activation`, `aliases`): `chainrule train
scikit-learn bridge    --activation`, the playground's menus (served by /api/defaults) and
                       MLPClassifier's `activation` all look names up here
=====================  =================================================================

The playground offers the activations declared with ``playground=True``.
`onnx` and `capture` have no default: a new layer must say whether each feature handles it
or refuses it, and tests/nn/test_registry.py checks both answers for every registered layer.
This module sits at the bottom of `chainrule.nn` and imports no layer (they import it).
"""

from __future__ import annotations

import enum
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from chainrule.nn.modules.module import Module

__all__ = [
    "LAYERS",
    "NOT_SEQUENTIAL",
    "NO_ACTIVATION",
    "LayerSpec",
    "Option",
    "activation_layer",
    "activation_names",
    "playground_activations",
    "register",
    "spec_of",
]


class Option(enum.Enum):
    """The type of a constructor option, checked before a config calls the constructor."""

    INT = "int"
    SIZE = "int, a width"  # checkpoint's limits bound these (1..MAX_WIDTH)
    OPTIONAL_INT = "int or null"
    NUMBER = "number"
    OPTIONAL_NUMBER = "number or null"
    BOOL = "bool"
    DTYPE = "floating dtype name"
    STRING = "string"
    SHAPE = "list of ints, a shape"  # a config holds it as a JSON list


INT, SIZE, OPTIONAL_INT, NUMBER, OPTIONAL_NUMBER, BOOL, DTYPE, STRING, SHAPE = Option

Shapes = dict[str, tuple[int, ...]]


def no_state(args: Mapping[str, Any]) -> Shapes:
    """Shapes of a layer without parameters or buffers."""
    return {}


@dataclass(frozen=True)
class LayerSpec:
    """One built-in layer's declaration (see the module docstring for who reads what).

    Attributes:
        cls: the layer class (features accept exactly this class, not subclasses).
        options: constructor option -> its type, as stored in a config.
        onnx: True if `chainrule.onnx.export` writes it, False if it refuses it.
        capture: True if `compile_step` replays it, False if it refuses it.
        shapes: constructor options (all given) -> the state_dict entries (name -> shape)
            a freshly built layer has.
        readers: options not stored under their own name on the layer: how to read them.
        activation: its name as an activation (`--activation relu`), or None.
        aliases: other names for the same activation (scikit-learn's 'logistic').
        playground: the playground's activation menu offers it (its teaching set: the
            activations whose shape the page's plots make readable).
        example: constructor options for a small instance (tests, docs).
        example_input: the shape of an input the example accepts (batch first).
        index_input: the input holds class indices below this number (Embedding), not floats.
    """

    cls: type[Module]
    options: Mapping[str, Option]
    onnx: bool
    capture: bool
    shapes: Callable[[Mapping[str, Any]], Shapes] = no_state
    readers: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    activation: str | None = None
    aliases: tuple[str, ...] = ()
    playground: bool = False
    example: Mapping[str, Any] = field(default_factory=dict)
    example_input: tuple[int, ...] = (4, 3)
    index_input: int | None = None

    @property
    def name(self) -> str:
        return self.cls.__name__

    def options_of(self, kind: Option) -> list[str]:
        """The options of one kind (e.g. the SIZE ones, which checkpoint's limits bound)."""
        return [option for option, k in self.options.items() if k is kind]

    def defaults(self) -> dict[str, Any]:
        """The constructor's default for each option that has one."""
        parameters = inspect.signature(self.cls.__init__).parameters
        return {
            option: parameters[option].default
            for option in self.options
            if option in parameters and parameters[option].default is not inspect.Parameter.empty
        }

    def parameter_shapes(self, args: Mapping[str, Any]) -> Shapes:
        """`shapes` with the constructor's defaults filling the options not given."""
        return self.shapes({**self.defaults(), **args})

    def parameter_count(self, args: Mapping[str, Any]) -> int:
        """How many values the parameters and buffers of the layer `args` builds hold."""
        return sum(math.prod(shape) for shape in self.parameter_shapes(args).values())


LAYERS: dict[str, LayerSpec] = {}
"""Every registered built-in layer, by class name, in the order they were declared."""

NOT_SEQUENTIAL = (
    "Bilinear", "CosineSimilarity", "PairwiseDistance",
    "RNN", "LSTM", "GRU", "RNNBase", "RNNCell", "LSTMCell", "GRUCell", "RNNCellBase",
    "MultiheadAttention", "TransformerEncoder", "TransformerEncoderLayer", "TransformerDecoder",
    "TransformerDecoderLayer", "Transformer",
)  # fmt: skip
"""Built-in modules that are not layers of a Sequential: their forward takes two inputs
(the recurrent ones: the input and a state; attention: query, key and value; they return
a pair), and the Transformer blocks, which hold attention.
They are not declared, so each feature refuses them as it refuses any undeclared class
(a config: 'only built-in layers'; ONNX: 'cannot export'; capture: 'cannot be replayed')."""

NO_ACTIVATION = ("linear", "identity")
"""Activation names that mean no activation layer (the playground's, scikit-learn's)."""

_L = TypeVar("_L", bound="type[Module]")


def register(
    *,
    onnx: bool,
    capture: bool,
    options: Mapping[str, Option] | None = None,
    shapes: Callable[[Mapping[str, Any]], Shapes] = no_state,
    readers: Mapping[str, Callable[[Any], Any]] | None = None,
    activation: str | None = None,
    aliases: tuple[str, ...] = (),
    playground: bool = False,
    example: Mapping[str, Any] | None = None,
    example_input: tuple[int, ...] = (4, 3),
    index_input: int | None = None,
) -> Callable[[_L], _L]:
    """Class decorator: declare a built-in layer (see `LayerSpec` for each field)."""

    def declare(cls: _L) -> _L:
        spec = LayerSpec(
            cls=cls,
            options=dict(options or {}),
            onnx=onnx,
            capture=capture,
            shapes=shapes,
            readers=dict(readers or {}),
            activation=activation,
            aliases=aliases,
            playground=playground,
            example=dict(example or {}),
            example_input=example_input,
            index_input=index_input,
        )
        taken = {n for s in LAYERS.values() if s.name != spec.name for n in _names(s)}
        if spec.name in LAYERS and LAYERS[spec.name].cls is not cls:
            raise ValueError(f"a built-in layer named {spec.name} is already registered")
        if taken & set(_names(spec)) or set(_names(spec)) & set(NO_ACTIVATION):
            raise ValueError(f"{spec.name}: activation name already in use")
        LAYERS[spec.name] = spec
        return cls

    return declare


def _names(spec: LayerSpec) -> tuple[str, ...]:
    return ((spec.activation,) if spec.activation else ()) + spec.aliases


def spec_of(layer: Module | type[Module]) -> LayerSpec | None:
    """The declaration of exactly this built-in class (None for others, subclasses too)."""
    cls = layer if isinstance(layer, type) else type(layer)
    spec = LAYERS.get(cls.__name__)
    return spec if spec is not None and spec.cls is cls else None


def activation_names() -> dict[str, type[Module]]:
    """Activation name -> layer class, for every layer declared with an `activation`."""
    return {s.activation: s.cls for s in LAYERS.values() if s.activation is not None}


def playground_activations() -> dict[str, type[Module]]:
    """The activations declared with ``playground=True``, by name."""
    return {
        s.activation: s.cls for s in LAYERS.values() if s.activation is not None and s.playground
    }


def activation_layer(name: str) -> type[Module] | None:
    """The layer class an activation name (or alias) stands for; None for 'linear' and
    'identity'. Raises ValueError naming the choices for an unknown name."""
    if name in NO_ACTIVATION:
        return None
    for spec in LAYERS.values():
        if name in _names(spec):
            return spec.cls
    raise ValueError(f"unknown activation {name!r}: choose from {', '.join(activation_names())}")
