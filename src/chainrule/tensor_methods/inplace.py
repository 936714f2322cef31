"""In-place twins (sin_ is copy_(sin()), recorded in the graph) and install()."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

from chainrule.autograd import is_grad_enabled
from chainrule.ops.pointwise import UNARY_OPS
from chainrule.tensor import Tensor
from chainrule.tensor_methods._common import METHODS, PROPERTIES
from chainrule.tensor_methods.math import ALIASES
from chainrule.tensor_methods.properties import _install_new

INPLACE_OF = (
    *UNARY_OPS, "round", "abs", "absolute", "neg", "negative", "exp", "log", "sqrt", "sigmoid",
    "tanh", "relu", "clamp", "clip", "clamp_min", "clamp_max", "pow", "float_power", "add",
    "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide",
    "masked_fill", "index_fill", "index_add", "index_copy", "scatter", "scatter_add", "lerp",
    "addcmul", "addcdiv", "nan_to_num", "tril", "triu", "fmod", "remainder", "atan2", "hypot",
    "logaddexp", "copysign", "xlogy", "ne", "lt", "le", "gt", "ge", "eq", "not_equal", "less",
    "less_equal", "greater", "greater_equal", "logical_and", "logical_or", "logical_xor",
    "logical_not", "bitwise_not", "maximum", "minimum", "addmm", "cumsum", "cumprod", "rsqrt",
    "reciprocal", "square", "sign", "log1p", "expm1", "polygamma", "mvlgamma", "igamma",
    "igammac", "gcd", "lcm", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
    "bitwise_right_shift", "heaviside", "ldexp", "nextafter", "renorm", "addmv", "addr",
    "baddbmm", "addbmm", "index_put", "put", "masked_scatter", "scatter_reduce", "index_reduce",
    *ALIASES,
)  # fmt: skip


def _inplace_twin(name: str) -> Callable[..., Tensor]:
    def apply(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        source = self
        if is_grad_enabled() and builtins.any(
            isinstance(t, Tensor) and t.requires_grad for t in (self, *args, *kwargs.values())
        ):
            # in the graph: the op may save its input for backward, and copy_ is about to
            # overwrite it, so it reads a copy (PyTorch saves the original self the same way)
            source = self.clone()
        return self.copy_(getattr(source, name)(*args, **kwargs))

    apply.__name__ = name + "_"
    apply.__doc__ = f"In place: self.copy_(self.{name}(...)) (PyTorch's {name}_)."
    return apply


def install() -> None:
    """Put every method of this module on Tensor (called once, by chainrule/__init__)."""
    _install_new()
    for name in INPLACE_OF:
        if not hasattr(Tensor, name + "_") and name + "_" not in METHODS:
            METHODS[name + "_"] = _inplace_twin(name)
    for name, fn in METHODS.items():
        setattr(Tensor, name, fn)
    for name, prop in PROPERTIES.items():
        setattr(Tensor, name, prop)
