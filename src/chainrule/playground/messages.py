"""The WebSocket protocol: every message a browser may send, as a pydantic model with bounds.

Each model forbids unknown fields, so a typo or a stale client is an error, not a silent
default. `parse_client_message(text)` turns one text frame into a model or raises
`ProtocolError` with a message for the page. The limits here are the server's: the page
shows the same ones, but the server never trusts it.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from chainrule.nn.registry import playground_activations

MAX_LAYERS = 8
MAX_NEURONS = 32
MAX_POINTS = 5000
MAX_CSV_BYTES = 1_000_000
MAX_CHECKPOINT_BYTES = 1_000_000
MAX_MESSAGE_BYTES = 1_500_000  # a base64 checkpoint of 1 MB plus the JSON around it
DOMAIN = 6.0  # the data live in [-6, 6]², as in TensorFlow Playground

FEATURES = ("x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2")
CLASSIFICATION_DATASETS = ("circle", "xor", "gauss", "spiral", "moons", "spiral_multi", "blobs")
REGRESSION_DATASETS = ("reg_plane", "reg_gauss")
MULTICLASS_DATASETS = ("spiral_multi", "blobs")
DATASETS = (*CLASSIFICATION_DATASETS, *REGRESSION_DATASETS, "custom")

ACTIVATIONS: tuple[str, ...] = (*playground_activations(), "linear")
"""The activation menu: the activations declared with playground=True in chainrule.nn.registry,
and 'linear' (none)."""
OPTIMIZERS = ("sgd", "momentum", "adam")  # the playground's subset of optim.OPTIMIZER_NAMES


def _known_activation(name: str) -> str:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation {name!r} is not one of {', '.join(ACTIVATIONS)}")
    return name


Activation = Annotated[str, AfterValidator(_known_activation)]
Feature = Literal["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"]
Dataset = Literal[
    "circle", "xor", "gauss", "spiral", "moons", "spiral_multi", "blobs",
    "reg_plane", "reg_gauss", "custom",
]  # fmt: skip
Neurons = Annotated[int, Field(ge=1, le=MAX_NEURONS, strict=True)]


class ProtocolError(ValueError):
    """A message the server refuses; `str(error)` is shown on the page."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _default_features() -> list[Feature]:
    return ["x1", "x2", "sinx1", "sinx2"]


def _default_activations() -> list[Activation]:
    return ["tanh", "tanh"]


class PlaygroundConfig(_Strict):
    """Everything the server needs to rebuild a session: data, features, network, training."""

    dataset: Dataset = "circle"
    problem: Literal["classification", "regression"] = "classification"
    classes: int = Field(default=3, ge=3, le=5, strict=True)
    noise: int = Field(default=0, ge=0, le=50, strict=True)
    train_ratio: int = Field(default=50, ge=10, le=90, strict=True)
    batch_size: int = Field(default=10, ge=1, le=30, strict=True)
    full_batch: bool = False
    seed: int = Field(default=1, ge=0, le=2**31 - 1, strict=True)
    features: list[Feature] = Field(default_factory=_default_features, min_length=1, max_length=7)
    layers: list[Neurons] = Field(default_factory=lambda: [8, 8], max_length=MAX_LAYERS)
    activations: list[Activation] = Field(
        default_factory=_default_activations, max_length=MAX_LAYERS
    )
    learning_rate: float = Field(default=0.01, ge=1e-5, le=10.0, allow_inf_nan=False)
    regularization: Literal["none", "l1", "l2"] = "none"
    reg_rate: float = Field(default=0.0, ge=0.0, le=10.0, allow_inf_nan=False)
    init: Literal["zeros", "uniform", "xavier", "he"] = "xavier"
    optimizer: Literal["sgd", "momentum", "adam"] = "adam"  # = OPTIMIZERS
    loss: Literal["mse", "cross_entropy"] = "cross_entropy"

    @model_validator(mode="after")
    def _consistent(self) -> PlaygroundConfig:
        if len(set(self.features)) != len(self.features):
            raise ValueError("features must not repeat")
        if len(self.activations) != len(self.layers):
            raise ValueError(
                f"activations has {len(self.activations)} entries for {len(self.layers)} layers"
            )
        if self.problem == "regression":
            if self.dataset in CLASSIFICATION_DATASETS:
                raise ValueError(f"dataset {self.dataset!r} is a classification dataset")
            if self.loss == "cross_entropy":
                raise ValueError("regression uses the MSE loss, not cross-entropy")
        elif self.dataset in REGRESSION_DATASETS:
            raise ValueError(f"dataset {self.dataset!r} is a regression dataset")
        return self


def menus() -> dict[str, Any]:
    """The page's menus, served by /api/defaults so the page repeats none of them."""
    labels = {name: cls.__name__ for name, cls in playground_activations().items()}
    return {
        "activations": list(ACTIVATIONS),
        "activation_labels": {**labels, "linear": "Linear"},
        "optimizers": list(OPTIMIZERS),
        "optimizer_labels": {"sgd": "SGD", "momentum": "Momentum", "adam": "Adam"},
    }


class ConfigMessage(_Strict):
    """A new setup; `keep_model` (Regenerate): if only the seed changed, new data, same network."""

    type: Literal["config"]
    config: PlaygroundConfig
    keep_model: bool = False


class ControlMessage(_Strict):
    """play / pause / one step / reset the weights (same seed) / ask for a fresh frame."""

    type: Literal["play", "pause", "step", "reset", "frame"]


class SetWeightMessage(_Strict):
    """Edit one weight (source >= 0: from neuron `source` of the layer below) or a bias (-1)."""

    type: Literal["set_weight"]
    layer: int = Field(ge=0, le=MAX_LAYERS, strict=True)
    target: int = Field(ge=0, lt=MAX_NEURONS, strict=True)
    source: int = Field(ge=-1, lt=MAX_NEURONS, strict=True)
    value: float = Field(ge=-100.0, le=100.0, allow_inf_nan=False)


class ProbeMessage(_Strict):
    """Pick a data point for the backprop view (index None: close the view)."""

    type: Literal["probe"]
    split: Literal["train", "test"] = "train"
    index: int | None = Field(default=None, ge=0, lt=MAX_POINTS, strict=True)


class AddPointMessage(_Strict):
    """Add one point of your own (class index, or the target value in regression)."""

    type: Literal["add_point"]
    x1: float = Field(ge=-DOMAIN, le=DOMAIN, allow_inf_nan=False)
    x2: float = Field(ge=-DOMAIN, le=DOMAIN, allow_inf_nan=False)
    label: float = Field(ge=-1.0, le=4.0, allow_inf_nan=False)


class ClearPointsMessage(_Strict):
    type: Literal["clear_points"]


class UploadCsvMessage(_Strict):
    type: Literal["upload_csv"]
    text: str = Field(max_length=MAX_CSV_BYTES)


class UploadCheckpointMessage(_Strict):
    type: Literal["upload_checkpoint"]
    data: str = Field(max_length=(MAX_CHECKPOINT_BYTES * 4) // 3 + 4)  # base64


class DrawnMessage(_Strict):
    """The page drew the frame numbered `seq` (and every one before): back-pressure."""

    type: Literal["drawn"]
    seq: int = Field(ge=0, strict=True)


class ExportMessage(_Strict):
    type: Literal["export"]


ClientMessage = Annotated[
    ConfigMessage
    | ControlMessage
    | SetWeightMessage
    | ProbeMessage
    | AddPointMessage
    | ClearPointsMessage
    | UploadCsvMessage
    | UploadCheckpointMessage
    | ExportMessage
    | DrawnMessage,
    Field(discriminator="type"),
]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(ClientMessage)


def _describe(error: ValidationError, tag: str) -> str:
    parts = []
    for item in error.errors()[:3]:
        loc = list(item["loc"])
        if loc and loc[0] == tag:  # the union's branch name: the page knows it already
            loc = loc[1:]
        where = ".".join(str(p) for p in loc) or "message"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def parse_client_message(text: str) -> Any:
    """One text frame -> a message model; ProtocolError for anything the server refuses."""
    if len(text) > MAX_MESSAGE_BYTES:
        raise ProtocolError(
            f"message too large: {len(text):,} bytes (the limit is {MAX_MESSAGE_BYTES:,})"
        )
    try:
        raw = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise ProtocolError(f"malformed JSON: {error}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise ProtocolError("a message must be a JSON object with a string 'type'")
    try:
        return _ADAPTER.validate_python(raw)
    except ValidationError as error:
        raise ProtocolError(
            f"invalid {raw['type']!r} message: {_describe(error, raw['type'])}"
        ) from None
