"""Scaled dot-product attention (torch.nn.functional.scaled_dot_product_attention).

Each query q_i (a row of Q) takes a weighted average of the value rows, weighted by how
well it matches each key:

    A = softmax(Q Kᵀ · scale + B),    out = A V,    scale = 1/√E by default

Shapes: Q (..., L, E), K (..., S, E), V (..., S, Ev) -> (..., L, Ev). B is an additive bias
(L, S) broadcast over the leading dims: 0 where a query may attend, -inf where not. A
boolean attn_mask marks with True the pairs that TAKE PART (torch's convention for this
function; nn.MultiheadAttention's masks mark the pairs to leave out); is_causal lets query
i see keys j <= i only. Composed of differentiable tensor ops, so autodiff gives the
gradients.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule.nn.functional.activations import softmax
from chainrule.nn.functional.dropouts import dropout
from chainrule.tensor import Tensor


def attention_bias(mask: Any, dtype: Any) -> Tensor:
    """An additive bias from a mask: a float mask as it is, a bool mask 0 / -inf (False)."""
    if mask.dtype == np.bool_:
        bias = np.where(mask.detach().numpy(), 0.0, -np.inf).astype(dtype)
        return Tensor._make(bias, False)
    return mask if mask.dtype == dtype else mask.to(dtype)


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(Q Kᵀ · scale + mask) V (see the module docstring for the shapes)."""
    length, source = query.shape[-2], key.shape[-2]
    factor = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    if is_causal and attn_mask is not None:
        raise RuntimeError(
            "_scaled_dot_product_attention: Explicit attn_mask should not be set when "
            "is_causal=True"
        )
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        groups = query.shape[-3] // key.shape[-3]  # each key/value head serves `groups` queries
        key = key.repeat_interleave(groups, dim=-3)
        value = value.repeat_interleave(groups, dim=-3)
    scores = query @ key.transpose(-2, -1) * factor
    if is_causal:
        allowed = np.tril(np.ones((length, source), dtype=bool))
        scores = scores + Tensor._make(np.where(allowed, 0.0, -np.inf).astype(scores.dtype), False)
    elif attn_mask is not None:
        scores = scores + attention_bias(attn_mask, scores.dtype)
    weights = softmax(scores, dim=-1)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, training=True)
    out: Tensor = weights @ value
    return out
