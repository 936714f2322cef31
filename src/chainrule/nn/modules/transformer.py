"""Transformer blocks (torch.nn.TransformerEncoderLayer/Encoder, ...DecoderLayer/Decoder).

One encoder layer: self-attention, then a two-layer feed-forward network, each wrapped in
a residual connection and a LayerNorm (post-norm, the original paper's order):

    x = LN1(x + Dropout(SelfAttention(x)))
    x = LN2(x + Dropout(W2 Dropout(act(W1 x + b1)) + b2))

With norm_first=True the norm moves inside each branch (x = x + SA(LN1(x)), ...), which
trains more stably in deep stacks. TransformerEncoder stacks num_layers copies of one layer
(each an independent copy of its weights, as PyTorch's deep copy) and an optional final
norm. A decoder layer adds, between the two, attention from the target sequence to the
encoder's output (memory): x = LN2(x + Dropout(Attention(x, memory, memory))), its
self-attention usually causal. nn.Transformer joins an encoder and a decoder (the model of
chainrule.nn.modules.transformer_model). Shapes: (S, N, E) ((N, S, E) with batch_first) ->
the same. The layers are PyTorch's (names, initialisation order), so a torch state_dict
loads.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from chainrule.devices import check_device
from chainrule.nn import functional as F
from chainrule.nn.modules.attention import MultiheadAttention
from chainrule.nn.modules.container import ModuleList
from chainrule.nn.modules.dropout import Dropout
from chainrule.nn.modules.linear import Linear
from chainrule.nn.modules.module import Module
from chainrule.nn.modules.normalization import LayerNorm
from chainrule.tensor import Tensor
from chainrule.types import DeviceLike, DTypeLike

_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {"relu": F.relu, "gelu": F.gelu}


def _activation(activation: str | Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise RuntimeError(f"activation should be relu/gelu, not {activation}")
        return _ACTIVATIONS[activation]
    return activation


class _TransformerLayer(Module):
    """What the encoder and decoder layers share: their attentions, the feed-forward network
    W2 Dropout(act(W1 x + b1)) + b2, a LayerNorm and a Dropout per residual branch.

    Submodules are registered in PyTorch's order (the attentions, linear1, dropout, linear2,
    norm1.., dropout1..), so parameters draw torch's initial values from one seed and a torch
    state_dict loads. `_attentions` names the attention blocks: one per branch before the
    feed-forward one, so a layer has len(_attentions) + 1 norms and dropouts.
    """

    _attentions: tuple[str, ...] = ()

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: DeviceLike = None,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__()
        check_device(device)
        for name in self._attentions:
            attention = MultiheadAttention(
                d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype
            )
            setattr(self, name, attention)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        branches = range(1, len(self._attentions) + 2)
        for i in branches:
            setattr(
                self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
            )
        for i in branches:
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation = _activation(activation)

    @staticmethod
    def _attend(
        attention: Module, drop: Module, x: Tensor, memory: Tensor, mask: Any, padding: Any
    ) -> Tensor:
        """drop(attention of x's queries over memory's keys and values), masks as
        nn.MultiheadAttention's (True: leave out)."""
        out = attention(
            x, memory, memory, attn_mask=mask, key_padding_mask=padding, need_weights=False
        )
        result: Tensor = drop(out[0])
        return result

    def _feed_forward(self, x: Tensor, drop: Module) -> Tensor:
        result: Tensor = drop(self.linear2(self.dropout(self.activation(self.linear1(x)))))
        return result


class TransformerEncoderLayer(_TransformerLayer):
    """Self-attention and feed-forward, each with a residual and a LayerNorm."""

    _attentions = ("self_attn",)
    # registered by name in _TransformerLayer.__init__, declared for type checkers
    self_attn: MultiheadAttention
    norm1: LayerNorm
    norm2: LayerNorm
    dropout1: Dropout
    dropout2: Dropout

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        """(S, N, E) -> (S, N, E); masks as nn.MultiheadAttention's (True: leave out)."""
        x = src
        own = (self.self_attn, self.dropout1)
        if self.norm_first:
            y = self.norm1(x)
            x = x + self._attend(*own, y, y, src_mask, src_key_padding_mask)
            return x + self._feed_forward(self.norm2(x), self.dropout2)
        x = self.norm1(x + self._attend(*own, x, x, src_mask, src_key_padding_mask))
        out: Tensor = self.norm2(x + self._feed_forward(x, self.dropout2))
        return out


class TransformerDecoderLayer(_TransformerLayer):
    """Self-attention, attention to the memory, feed-forward: each residual and normed."""

    _attentions = ("self_attn", "multihead_attn")
    # registered by name in _TransformerLayer.__init__, declared for type checkers
    self_attn: MultiheadAttention
    multihead_attn: MultiheadAttention
    norm1: LayerNorm
    norm2: LayerNorm
    norm3: LayerNorm
    dropout1: Dropout
    dropout2: Dropout
    dropout3: Dropout

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        """tgt (T, N, E) and memory (S, N, E) -> (T, N, E)."""
        x = tgt
        own = (self.self_attn, self.dropout1)
        cross = (self.multihead_attn, self.dropout2)
        if self.norm_first:
            y = self.norm1(x)
            x = x + self._attend(*own, y, y, tgt_mask, tgt_key_padding_mask)
            x = x + self._attend(
                *cross, self.norm2(x), memory, memory_mask, memory_key_padding_mask
            )
            return x + self._feed_forward(self.norm3(x), self.dropout3)
        x = self.norm1(x + self._attend(*own, x, x, tgt_mask, tgt_key_padding_mask))
        x = self.norm2(x + self._attend(*cross, x, memory, memory_mask, memory_key_padding_mask))
        out: Tensor = self.norm3(x + self._feed_forward(x, self.dropout3))
        return out


class TransformerEncoder(Module):
    """num_layers independent copies of one encoder layer, then an optional norm."""

    def __init__(
        self,
        encoder_layer: TransformerEncoderLayer,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ) -> None:
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers, self.norm = num_layers, norm

    def forward(
        self,
        src: Tensor,
        mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool | None = None,
    ) -> Tensor:
        out = src
        for layer in self.layers:
            out = layer(out, src_mask=mask, src_key_padding_mask=src_key_padding_mask)
        if self.norm is not None:
            out = self.norm(out)
        return out


class TransformerDecoder(Module):
    """num_layers independent copies of one decoder layer, then an optional norm."""

    def __init__(
        self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm: Module | None = None
    ) -> None:
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(decoder_layer) for _ in range(num_layers)])
        self.num_layers, self.norm = num_layers, norm

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        out = tgt
        for layer in self.layers:
            out = layer(
                out, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                tgt_key_padding_mask=tgt_key_padding_mask,
                memory_key_padding_mask=memory_key_padding_mask,
            )  # fmt: skip
        if self.norm is not None:
            out = self.norm(out)
        return out
