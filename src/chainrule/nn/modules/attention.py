"""Multi-head attention (torch.nn.MultiheadAttention).

The embedding E is split into H heads of E/H features; each head attends on its own, and
the heads' outputs are joined and mixed by one more linear map:

    Q = x_q W_qᵀ + b_q,  K = x_k W_kᵀ + b_k,  V = x_v W_vᵀ + b_v       (in_proj_weight (3E, E))
    head_h = softmax(Q_h K_hᵀ / √(E/H) + mask) V_h
    out = concat(head_1, ..., head_H) W_oᵀ + b_o                         (out_proj)

Shapes as PyTorch: query (L, N, E), key/value (S, N, E) ((N, L, E) with batch_first, or
(L, E) unbatched) -> output (L, N, E) and, with need_weights, the attention weights
(N, L, S) averaged over heads (N, H, L, S with average_attn_weights=False). Masks follow
this module's convention: True (or -inf) marks what to LEAVE OUT — key_padding_mask (N, S)
padded keys, attn_mask (L, S) or (N·H, L, S) forbidden pairs. Parameters, their names and
their initialisation are PyTorch's (in_proj xavier-uniform, biases zero; out_proj a Linear),
so a torch state_dict loads and `manual_seed` gives torch's weights.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule import dtypes
from chainrule.devices import check_device
from chainrule.joining import cat
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.functional.attention import attention_bias
from chainrule.nn.modules.linear import Linear
from chainrule.nn.modules.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor
from chainrule.types import DeviceLike, DTypeLike


class NonDynamicallyQuantizableLinear(Linear):
    """PyTorch's name for the output projection (a plain Linear: quantisation is out of scope)."""


class MultiheadAttention(Module):
    """Attention with several heads over one embedding (see the module docstring)."""

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: DeviceLike = None,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__()
        check_device(device)
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} "
                f"and num_heads={num_heads} instead"
            )
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, float(dropout)
        self.kdim, self.vdim = kdim or embed_dim, vdim or embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.batch_first, self.add_zero_attn = batch_first, add_zero_attn
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        float_type = dtypes.float_or_default(dtype)

        def empty(*shape: int) -> Parameter:
            return Parameter(np.empty(shape, float_type))

        if self._qkv_same_embed_dim:
            self.in_proj_weight = empty(3 * embed_dim, embed_dim)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = empty(embed_dim, embed_dim)
            self.k_proj_weight = empty(embed_dim, self.kdim)
            self.v_proj_weight = empty(embed_dim, self.vdim)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = empty(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(
            embed_dim, embed_dim, bias=bias, dtype=float_type
        )
        self.bias_k: Parameter | None = empty(1, 1, embed_dim) if add_bias_kv else None
        self.bias_v: Parameter | None = empty(1, 1, embed_dim) if add_bias_kv else None
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for weight in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None and self.bias_v is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _projections(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, ...]:
        e = self.embed_dim
        b = self.in_proj_bias
        biases = (None, None, None) if b is None else (b[:e], b[e : 2 * e], b[2 * e :])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            weights = (w[:e], w[e : 2 * e], w[2 * e :])
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        return tuple(
            F.linear(x, w, bias)
            for x, w, bias in zip((query, key, value), weights, biases, strict=True)
        )

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """(output, attention weights or None) as PyTorch's forward."""
        if is_causal and attn_mask is None:
            raise RuntimeError(
                "Need attn_mask if specifying the is_causal hint. You may use the Transformer "
                "module method `generate_square_subsequent_mask` to create this mask."
            )
        batched = query.ndim == 3
        if not batched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            query, key, value = (x.transpose(0, 1) for x in (query, key, value))
        length, n, e = query.shape
        heads, hd = self.num_heads, self.head_dim
        q, k, v = self._projections(query, key, value)
        mask = None if attn_mask is None else attention_bias(_leave_out(attn_mask), q.dtype)
        if mask is not None and mask.ndim == 2:
            mask = mask.unsqueeze(0)
        padding = None
        if key_padding_mask is not None:
            padding = attention_bias(_leave_out(key_padding_mask), q.dtype)
        if self.bias_k is not None and self.bias_v is not None:
            k = cat([k, self.bias_k.repeat(1, n, 1)])
            v = cat([v, self.bias_v.repeat(1, n, 1)])
            mask = None if mask is None else _pad_last(mask)
            padding = None if padding is None else _pad_last(padding)
        q = q.reshape(length, n * heads, hd).transpose(0, 1)  # (N·H, L, hd)
        k = k.reshape(k.shape[0], n * heads, hd).transpose(0, 1)  # (N·H, S, hd)
        v = v.reshape(v.shape[0], n * heads, hd).transpose(0, 1)
        if self.add_zero_attn:
            zeros = Tensor._make(np.zeros((n * heads, 1, hd), q.dtype), False)
            k, v = cat([k, zeros], dim=1), cat([v, zeros], dim=1)
            mask = None if mask is None else _pad_last(mask)
            padding = None if padding is None else _pad_last(padding)
        source = k.shape[1]
        if padding is not None:  # (N, S) -> (N·H, 1, S): the same padded keys for every head
            padding = padding.reshape(n, 1, 1, source).expand(n, heads, 1, source)
            padding = padding.reshape(n * heads, 1, source)
            mask = padding if mask is None else mask + padding
        scores = (q * math.sqrt(1.0 / hd)) @ k.transpose(1, 2)
        if mask is not None:
            scores = scores + mask
        weights = F.softmax(scores, dim=-1)
        if self.dropout > 0 and self.training:
            weights = F.dropout(weights, self.dropout, training=True)
        out = (weights @ v).transpose(0, 1).reshape(length * n, e)
        out = F.linear(out, self.out_proj.weight, self.out_proj.bias).reshape(length, n, e)
        shown: Tensor | None = None
        if need_weights:
            shown = weights.reshape(n, heads, length, source)
            if average_attn_weights:
                shown = shown.mean(dim=1)
        if not batched:
            out = out.squeeze(1)
            shown = None if shown is None else shown.squeeze(0)
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, shown


def _leave_out(mask: Tensor) -> Tensor:
    """This module's bool masks mark what to leave out: flip to attention_bias's 'take part'."""
    return mask.logical_not() if mask.dtype == np.bool_ else mask


def _pad_last(mask: Tensor) -> Tensor:
    """One more key column that every query may attend (bias 0)."""
    zeros = Tensor._make(np.zeros((*mask.shape[:-1], 1), mask.dtype), False)
    return cat([mask, zeros], dim=-1)
