"""Per-sample normalisation layers: `LayerNorm`, `RMSNorm`, `GroupNorm` (no batch
statistics, so the same computation in training and evaluation).

A config describes LayerNorm and RMSNorm over the last dim only (normalized_shape an int,
the usual case); a multi-dim normalized_shape still works in code, but `model_to_config`
refuses it with a clear error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from chainrule import dtypes
from chainrule.devices import check_device
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.modules.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.nn.registry import BOOL, DTYPE, NUMBER, OPTIONAL_NUMBER, SIZE, Shapes, register
from chainrule.tensor import Tensor
from chainrule.types import DeviceLike, DTypeLike, ShapeLike


def _as_shape(normalized_shape: ShapeLike) -> tuple[int, ...]:
    if isinstance(normalized_shape, int):
        return (normalized_shape,)
    return tuple(int(n) for n in normalized_shape)


def _last_dim(layer: Any) -> int:
    """normalized_shape as a config stores it: one int (the last dim)."""
    if len(layer.normalized_shape) != 1:
        raise ValueError(
            f"a config describes {type(layer).__name__} over the last dim only, got "
            f"normalized_shape {layer.normalized_shape}"
        )
    return int(layer.normalized_shape[0])


def affine_parameters(
    module: Module, shape: tuple[int, ...], dtype: np.dtype, affine: bool, bias: bool | None
) -> None:
    """Register a normalisation's γ (`weight`, ones) and β (`bias`, zeros) of `shape`, or
    None for what the layer goes without (affine=False: both; bias=False: β). bias=None
    registers γ alone (RMSNorm has no β at all). Shared with BatchNorm1d."""
    module.register_parameter("weight", Parameter(np.ones(shape, dtype)) if affine else None)
    if bias is not None:
        beta = Parameter(np.zeros(shape, dtype)) if affine and bias else None
        module.register_parameter("bias", beta)


def reset_affine(module: Module) -> None:
    """γ back to ones and β to zeros (each when the layer has it)."""
    weight, bias = getattr(module, "weight", None), getattr(module, "bias", None)
    if weight is not None:
        init.ones_(weight)
    if bias is not None:
        init.zeros_(bias)


def _layer_norm_shapes(args: Mapping[str, Any]) -> Shapes:
    shape = _as_shape(args["normalized_shape"])
    shapes: Shapes = {}
    if args["elementwise_affine"]:
        shapes["weight"] = shape
        if args["bias"]:
            shapes["bias"] = shape
    return shapes


@register(
    options={
        "normalized_shape": SIZE,
        "eps": NUMBER,
        "elementwise_affine": BOOL,
        "bias": BOOL,
        "dtype": DTYPE,
    },
    shapes=_layer_norm_shapes,
    readers={
        "normalized_shape": _last_dim,
        "bias": lambda layer: layer.bias is not None if layer.elementwise_affine else True,
    },
    example={"normalized_shape": 3},
    onnx=True,
    capture=True,
)
class LayerNorm(Module):
    """y = (x - μ) / √(σ² + ε) · γ + β, μ and σ² over the last dims (normalized_shape) of
    each sample. Attributes: weight γ (ones) and bias β (zeros) of shape normalized_shape.
    """

    # registered by affine_parameters, declared for type checkers: None when left out
    weight: Parameter | None
    bias: Parameter | None

    def __init__(
        self,
        normalized_shape: ShapeLike,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: DeviceLike = None,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__()
        check_device(device)
        self.normalized_shape = _as_shape(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        affine_parameters(
            self, self.normalized_shape, dtypes.float_or_default(dtype), elementwise_affine, bias
        )

    def reset_parameters(self) -> None:
        reset_affine(self)

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )


@register(
    options={
        "normalized_shape": SIZE,
        "eps": OPTIONAL_NUMBER,
        "elementwise_affine": BOOL,
        "dtype": DTYPE,
    },
    shapes=lambda args: (
        {"weight": _as_shape(args["normalized_shape"])} if args["elementwise_affine"] else {}
    ),
    readers={"normalized_shape": _last_dim},
    example={"normalized_shape": 3},
    onnx=True,
    capture=True,
)
class RMSNorm(Module):
    """y = x / √(mean(x²) + ε) · γ over the last dims (normalized_shape): LayerNorm without
    the centring and the shift. eps=None is the dtype's machine epsilon."""

    # registered by affine_parameters, declared for type checkers: None when left out
    weight: Parameter | None

    def __init__(
        self,
        normalized_shape: ShapeLike,
        eps: float | None = None,
        elementwise_affine: bool = True,
        device: DeviceLike = None,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__()
        check_device(device)
        self.normalized_shape = _as_shape(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        affine_parameters(
            self, self.normalized_shape, dtypes.float_or_default(dtype), elementwise_affine, None
        )

    def reset_parameters(self) -> None:
        reset_affine(self)

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


@register(
    options={
        "num_groups": SIZE,
        "num_channels": SIZE,
        "eps": NUMBER,
        "affine": BOOL,
        "bias": BOOL,
        "dtype": DTYPE,
    },
    shapes=lambda args: (
        {"weight": (args["num_channels"],)}
        | ({"bias": (args["num_channels"],)} if args.get("bias", True) else {})
        if args["affine"]
        else {}
    ),
    readers={"bias": lambda layer: layer.bias is not None if layer.affine else True},
    example={"num_groups": 2, "num_channels": 4},
    example_input=(3, 4),
    onnx=False,  # the group reshape needs a dynamic Reshape with a batch dim: not written yet
    capture=True,
)
class GroupNorm(Module):
    """Normalises groups of channels of (N, C, *) input: C splits into num_groups groups,
    each normalised over its channels and the trailing dims, then γ, β per channel."""

    # registered by affine_parameters, declared for type checkers: None when left out
    weight: Parameter | None
    bias: Parameter | None

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: DeviceLike = None,
        dtype: DTypeLike = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        check_device(device)
        if num_channels % num_groups:
            raise ValueError("num_channels must be divisible by num_groups")
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        affine_parameters(self, (num_channels,), dtypes.float_or_default(dtype), affine, bias)

    def reset_parameters(self) -> None:
        reset_affine(self)

    def forward(self, x: Tensor) -> Tensor:
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )
