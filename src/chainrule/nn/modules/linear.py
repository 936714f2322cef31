"""Linear layers: `Linear` (y = x Wᵀ + b) and `Identity`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from chainrule import dtypes, ops
from chainrule.devices import check_device
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.modules.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.nn.registry import BOOL, DTYPE, SIZE, Shapes, register
from chainrule.tensor import Tensor
from chainrule.types import DeviceLike, DTypeLike

_apply_linear = ops.Linear.apply  # bound once: Linear.forward runs for every layer and step


def _linear_shapes(args: Mapping[str, Any]) -> Shapes:
    shapes: Shapes = {"weight": (args["out_features"], args["in_features"])}
    if args["bias"]:
        shapes["bias"] = (args["out_features"],)
    return shapes


@register(onnx=True, capture=True)
class Identity(Module):
    """Returns its input unchanged (a placeholder layer)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


@register(
    options={"in_features": SIZE, "out_features": SIZE, "bias": BOOL, "dtype": DTYPE},
    shapes=_linear_shapes,
    readers={"bias": lambda layer: layer.bias is not None},
    example={"in_features": 3, "out_features": 2},
    onnx=True,
    capture=True,
)
class Linear(Module):
    """A fully connected layer: y = x Wᵀ + b, one neuron per output feature.

    Args:
        in_features: size of each input row.
        out_features: size of each output row (the number of neurons).
        bias: learn an additive bias b.
    Shape: input (..., in_features) -> output (..., out_features).
    Attributes: weight (out_features, in_features) and bias (out_features,), initialised as
        PyTorch does: U(-1/√in_features, 1/√in_features) (kaiming_uniform_ with a = √5).

    Example::

        >>> layer = nn.Linear(2, 3)
        >>> layer(chainrule.randn(4, 2)).shape
        (4, 3)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: DeviceLike = None,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__()
        check_device(device)
        if in_features < 0 or out_features < 0:
            raise ValueError(f"Linear: sizes must be >= 0, got ({in_features}, {out_features})")
        self.in_features, self.out_features = in_features, out_features
        float_type = dtypes.float_or_default(dtype)
        self.weight = Parameter(np.empty((out_features, in_features), dtype=float_type))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=float_type))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        weight, bias = self.weight, self.bias
        dtype = x._data.dtype
        if dtype is not weight._data.dtype and dtype != weight._data.dtype:
            return F.linear(x, weight, bias)  # raises the clear error
        try:  # a try costs nothing until it catches (3.11): the shapes are checked by NumPy
            if bias is None:
                return _apply_linear(x, weight)
            return _apply_linear(x, weight, bias)
        except ValueError:  # the product's shapes do not fit (nothing was recorded)
            pass
        return F.linear(x, weight, bias)  # raises the clear error, outside the except block

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Bilinear(Module):
    """yₖ = x1ᵀ Aₖ x2 + bₖ: a learned bilinear form per output feature.

    Two inputs, so not a layer of a Sequential (see chainrule.nn.registry.NOT_SEQUENTIAL).
    Attributes: weight (out_features, in1_features, in2_features) and bias (out_features,),
    both U(-1/√in1_features, 1/√in1_features) as in PyTorch.
    """

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        out_features: int,
        bias: bool = True,
        device: DeviceLike = None,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__()
        check_device(device)
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        float_type = dtypes.float_or_default(dtype)
        shape = (out_features, in1_features, in2_features)
        self.weight = Parameter(np.empty(shape, dtype=float_type))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=float_type))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.in1_features) if self.in1_features > 0 else 0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )
