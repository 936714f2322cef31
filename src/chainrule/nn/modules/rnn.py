"""Recurrent layers: RNN, LSTM, GRU over a whole sequence, and their one-step cells.

A recurrent layer reads a sequence x_1, ..., x_L and carries a hidden state h_t from one
step to the next with the same weights at every step (the chain rule then runs back
through time: backpropagation through time is ordinary backward on the unrolled graph).
Per step, with W_i* (gates·H, H_in), W_h* (gates·H, H), biases b_i*, b_h*:

    RNN:  h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)                act: tanh or relu
    LSTM: i, f, g, o = split(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)      (4 gates)
          c_t = σ(f) ⊙ c_{t-1} + σ(i) ⊙ tanh(g),   h_t = σ(o) ⊙ tanh(c_t)
          (with proj_size P: h_t ← W_hr h_t, so h has P features)
    GRU:  r, z, n from W_ih x_t + b_ih and W_hh h_{t-1} + b_hh           (3 gates)
          r = σ(i_r + h_r), z = σ(i_z + h_z), n = tanh(i_n + r ⊙ h_n)
          h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}

Shapes as PyTorch: input (L, N, H_in) ((N, L, H_in) with batch_first, or (L, H_in)
unbatched); output (L, N, D·H_out) with D = 2 when bidirectional; h_n (D·num_layers, N,
H_out). Parameters are named and ordered as PyTorch's (weight_ih_l0, weight_hh_l0,
bias_ih_l0, bias_hh_l0, then _reverse, then the next layer), all U(-1/√H, 1/√H), so a
torch state_dict loads and `torch.manual_seed` gives torch's initial weights. The steps run
as a Python loop over time: written for learning and small sequences, not for speed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule import dtypes
from chainrule.devices import check_device
from chainrule.joining import cat, stack
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.modules.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor
from chainrule.types import DeviceLike, DTypeLike, HiddenState

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _affine(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    return F.linear(x, weight, bias)


def rnn_step(mode: str, x: Tensor, state: Any, w: tuple[Tensor | None, ...]) -> Any:
    """One time step: x (N, H_in) and the state -> the new state (h, or (h, c) for LSTM).

    w = (weight_ih, weight_hh, bias_ih, bias_hh[, weight_hr]) as the layer holds them.
    """
    w_ih, w_hh, b_ih, b_hh = w[:4]
    assert w_ih is not None and w_hh is not None
    if mode == "GRU":
        i_r, i_z, i_n = _affine(x, w_ih, b_ih).chunk(3, 1)
        h_r, h_z, h_n = _affine(state, w_hh, b_hh).chunk(3, 1)
        r, z = (i_r + h_r).sigmoid(), (i_z + h_z).sigmoid()
        n = (i_n + r * h_n).tanh()
        return (1 - z) * n + z * state
    h = state[0] if mode == "LSTM" else state
    pre = _affine(x, w_ih, b_ih) + _affine(h, w_hh, b_hh)
    if mode == "RNN_TANH":
        return pre.tanh()
    if mode == "RNN_RELU":
        return pre.relu()
    i, f, g, o = pre.chunk(4, 1)
    c = f.sigmoid() * state[1] + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    if len(w) > 4 and w[4] is not None:
        h = _affine(h, w[4], None)
    return h, c


def init_recurrent_(module: Module, hidden_size: int) -> None:
    """Every parameter of `module` U(-1/√H, 1/√H) with H = hidden_size, drawn in declaration
    order as PyTorch's RNN layers and cells do (H = 0: all zeros)."""
    bound = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    for weight in module.parameters():
        init.uniform_(weight, -bound, bound)


class RNNBase(Module):
    """What RNN, LSTM and GRU share: the parameters per layer and direction, the loop."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: DeviceLike = None,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__()
        check_device(device)
        if not 0 <= float(dropout) <= 1:
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability "
                "of an element being zeroed"
            )
        if hidden_size <= 0 or num_layers <= 0:
            raise ValueError(
                f"hidden_size and num_layers must be positive, got {hidden_size}, {num_layers}"
            )
        if proj_size < 0 or (proj_size and mode != "LSTM"):
            raise ValueError("proj_size should be a positive integer, and only LSTM has one")
        if proj_size and proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        float_type = dtypes.float_or_default(dtype)
        gates, directions = _GATES[mode] * hidden_size, 2 if bidirectional else 1
        out_size = proj_size or hidden_size
        for layer in range(num_layers):
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                width = input_size if layer == 0 else out_size * directions
                shapes = {
                    "weight_ih": (gates, width),
                    "weight_hh": (gates, out_size),
                    **({"bias_ih": (gates,), "bias_hh": (gates,)} if bias else {}),
                    **({"weight_hr": (proj_size, hidden_size)} if proj_size else {}),
                }
                for name, shape in shapes.items():
                    self.register_parameter(name + suffix, Parameter(np.empty(shape, float_type)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter U(-1/√H, 1/√H), drawn in declaration order as PyTorch does."""
        init_recurrent_(self, self.hidden_size)

    def _weights(self, layer: int, direction: int) -> tuple[Tensor | None, ...]:
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
        return tuple(getattr(self, n + suffix, None) for n in names)

    def forward(self, input: Tensor, hx: HiddenState | None = None) -> tuple[Tensor, HiddenState]:
        """(L, N, H_in) and the initial state -> (output, final state) as in PyTorch."""
        lstm = self.mode == "LSTM"
        if input.ndim not in (2, 3):
            raise ValueError(
                f"{type(self).__name__}: expected input of 2 (unbatched) or 3 dimensions, "
                f"got {input.ndim}"
            )
        batched = input.ndim == 3
        if not batched:
            input = input.unsqueeze(1)
            if hx is not None:
                # `lstm` decides the state's form (h, c) or h, which the checker cannot see
                hx = tuple(h.unsqueeze(1) for h in hx) if lstm else hx.unsqueeze(1)  # type: ignore[assignment,union-attr]
        elif self.batch_first:
            input = input.transpose(0, 1)
        if input.shape[-1] != self.input_size:
            raise ValueError(
                f"{type(self).__name__}: input.size(-1) must be equal to input_size. "
                f"Expected {self.input_size}, got {input.shape[-1]}"
            )
        directions = 2 if self.bidirectional else 1
        n = input.shape[1]
        out_size = self.proj_size or self.hidden_size
        if hx is None:
            zeros = Tensor._make(
                np.zeros((self.num_layers * directions, n, out_size), input.dtype), False
            )
            cells = np.zeros((self.num_layers * directions, n, self.hidden_size), input.dtype)
            hx = (zeros, Tensor._make(cells, False)) if lstm else zeros
        layer_input, finals_h, finals_c = input, [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                state: Any = (hx[0][k], hx[1][k]) if lstm else hx[k]
                weights = self._weights(layer, direction)
                steps = range(input.shape[0])
                per_step: list[Tensor] = [None] * input.shape[0]  # type: ignore[list-item]
                for t in reversed(steps) if direction else steps:
                    state = rnn_step(self.mode, layer_input[t], state, weights)
                    per_step[t] = state[0] if lstm else state
                outputs.append(stack(per_step))
                finals_h.append(state[0] if lstm else state)
                if lstm:
                    finals_c.append(state[1])
            layer_input = outputs[0] if directions == 1 else cat(outputs, dim=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        output, h_n = layer_input, stack(finals_h)
        final: Any = (h_n, stack(finals_c)) if lstm else h_n
        if not batched:
            output = output.squeeze(1)
            final = tuple(f.squeeze(1) for f in final) if lstm else final.squeeze(1)
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, final

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            text += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) (or relu)."""

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1,
        nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
        dropout: float = 0.0, bidirectional: bool = False, device: DeviceLike = None,
        dtype: DTypeLike = None,
    ) -> None:  # fmt: skip
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        self.nonlinearity = nonlinearity
        super().__init__(
            "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size,
            num_layers, bias, batch_first, dropout, bidirectional, 0, device, dtype,
        )  # fmt: skip


class LSTM(RNNBase):
    """Long short-term memory: gated cell state c_t beside h_t (see the module docstring)."""

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
        batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
        proj_size: int = 0, device: DeviceLike = None, dtype: DTypeLike = None,
    ) -> None:  # fmt: skip
        super().__init__(
            "LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, proj_size, device, dtype,
        )  # fmt: skip


class GRU(RNNBase):
    """Gated recurrent unit: reset and update gates, no separate cell state."""

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
        batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
        device: DeviceLike = None, dtype: DTypeLike = None,
    ) -> None:  # fmt: skip
        super().__init__(
            "GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, 0, device, dtype,
        )  # fmt: skip
