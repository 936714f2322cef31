"""Linear maps: `linear` (y = x Wᵀ + b)."""

from __future__ import annotations

from chainrule import ops
from chainrule.tensor import Tensor


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x Wᵀ + b. Shapes: x (..., in), W (out, in), b (out,) -> (..., out)."""
    if x.ndim == 0 or x.shape[-1] != weight.shape[-1]:
        raise ValueError(
            f"linear: input of shape {x.shape} has {x.shape[-1] if x.ndim else 0} features in "
            f"its last dim, but the weight of shape {weight.shape} expects {weight.shape[-1]}"
        )
    if x.dtype != weight.dtype:
        raise TypeError(
            f"linear: input is {x.dtype} but the weight is {weight.dtype}; convert the input "
            f"(x.float() / x.double()) or the model (model.float() / model.double())"
        )
    if bias is None:
        return ops.Linear.apply(x, weight)
    return ops.Linear.apply(x, weight, bias)
