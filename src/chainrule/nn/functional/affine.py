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


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """yₖ = x1ᵀ Aₖ x2 + bₖ. Shapes: x1 (..., in1), x2 (..., in2), A (out, in1, in2),
    b (out,) -> (..., out)."""
    from chainrule.functions import einsum

    out_features, in1, in2 = weight.shape
    if input1.shape[-1:] != (in1,) or input2.shape[-1:] != (in2,):
        raise ValueError(
            f"bilinear: inputs of shapes {input1.shape} and {input2.shape} do not fit a weight "
            f"of shape {weight.shape} (last dims {in1} and {in2})"
        )
    lead = tuple(input1.shape[:-1])
    x1, x2 = input1.reshape(-1, in1), input2.reshape(-1, in2)
    out = einsum("bi,oij,bj->bo", x1, weight, x2).reshape(*lead, out_features)
    return out if bias is None else out + bias
