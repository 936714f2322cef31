"""Piecewise-linear activations with a setting: thresholds and shrinkage (fixed), PReLU
(its negative slope learned), RReLU (its negative slope random in training)."""

from __future__ import annotations

import numpy as np

from chainrule import dtypes
from chainrule.devices import check_device
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.modules.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.nn.registry import BOOL, DTYPE, NUMBER, SIZE, register
from chainrule.tensor import Tensor
from chainrule.types import DeviceLike, DTypeLike


@register(
    options={"threshold": NUMBER, "value": NUMBER, "inplace": BOOL},
    example={"threshold": 0.1, "value": 20.0},
    onnx=True,
    capture=True,
)
class Threshold(Module):
    """x where x > threshold, else value."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.threshold(x, self.threshold, self.value)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"threshold={self.threshold}, value={self.value}{inplace}"


class _Shrink(Module):
    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def extra_repr(self) -> str:
        return f"{self.lambd}"


@register(options={"lambd": NUMBER}, onnx=True, capture=True)
class Hardshrink(_Shrink):
    """x where |x| > λ, else 0 (default λ = 0.5)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.hardshrink(x, self.lambd)


@register(options={"lambd": NUMBER}, onnx=True, capture=True)
class Softshrink(_Shrink):
    """x - λ·sign(x) where |x| > λ, else 0 (default λ = 0.5)."""

    def __init__(self, lambd: float = 0.5) -> None:
        if lambd < 0:
            raise ValueError(f"Softshrink: lambda must be >= 0, got {lambd}")
        super().__init__(lambd)

    def forward(self, x: Tensor) -> Tensor:
        return F.softshrink(x, self.lambd)


@register(
    options={"num_parameters": SIZE, "init": NUMBER, "dtype": DTYPE},
    shapes=lambda args: {"weight": (args["num_parameters"],)},
    example={"num_parameters": 3},
    onnx=True,
    capture=True,
)
class PReLU(Module):
    """x where x > 0, else a·x, the slope a learned: one for all channels
    (num_parameters=1) or one per channel (dim 1 of the input). Starts at `init` (0.25).

    Attributes: weight (num_parameters,).
    """

    def __init__(
        self,
        num_parameters: int = 1,
        init: float = 0.25,
        device: DeviceLike = None,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__()
        check_device(device)
        self.num_parameters, self.init = num_parameters, init
        float_type = dtypes.float_or_default(dtype)
        self.weight = Parameter(np.empty(num_parameters, dtype=float_type))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.constant_(self.weight, self.init)

    def forward(self, x: Tensor) -> Tensor:
        return F.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


# training draws a slope per entry: a replay would freeze it
@register(options={"lower": NUMBER, "upper": NUMBER, "inplace": BOOL}, onnx=True, capture=False)
class RReLU(Module):
    """Randomised leaky ReLU: x for x >= 0, a·x otherwise, with a ~ U(lower, upper) drawn per
    entry in training and the mean slope (lower + upper) / 2 in evaluation."""

    def __init__(
        self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False
    ) -> None:
        super().__init__()
        if not lower <= upper:
            raise ValueError(f"RReLU: lower ({lower}) must be <= upper ({upper})")
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.rrelu(x, self.lower, self.upper, self.training)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"lower={self.lower}, upper={self.upper}{inplace}"
