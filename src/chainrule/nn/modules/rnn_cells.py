"""One step of a recurrent layer as a module: RNNCell, LSTMCell, GRUCell.

The same step as RNN/LSTM/GRU (formulas in chainrule.nn.modules.rnn) for a user who writes
the loop over time themselves. Shapes: input (N, H_in) or (H_in,) unbatched, state (N, H)
(LSTMCell: a pair (h, c)); parameters weight_ih (gates·H, H_in), weight_hh (gates·H, H),
bias_ih, bias_hh (gates·H,), all U(-1/√H, 1/√H) as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from chainrule import dtypes
from chainrule.devices import check_device
from chainrule.nn.modules.module import Module
from chainrule.nn.modules.rnn import _GATES, init_recurrent_, rnn_step
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor
from chainrule.types import DeviceLike, DTypeLike, HiddenState


class RNNCellBase(Module):
    """The parameters and the batched/unbatched handling the three cells share."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        bias: bool,
        device: DeviceLike,
        dtype: DTypeLike,
    ) -> None:
        super().__init__()
        check_device(device)
        self.mode, self.input_size, self.hidden_size, self.bias = (
            mode,
            input_size,
            hidden_size,
            bias,
        )
        float_type = dtypes.float_or_default(dtype)
        gates = _GATES[mode] * hidden_size
        self.weight_ih = Parameter(np.empty((gates, input_size), float_type))
        self.weight_hh = Parameter(np.empty((gates, hidden_size), float_type))
        if bias:
            self.bias_ih = Parameter(np.empty(gates, float_type))
            self.bias_hh = Parameter(np.empty(gates, float_type))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter U(-1/√H, 1/√H), drawn in declaration order as PyTorch does."""
        init_recurrent_(self, self.hidden_size)

    def forward(self, input: Tensor, hx: HiddenState | None = None) -> HiddenState:
        """x (N, H_in) or (H_in,) and the state (zeros when None) -> the next state."""
        lstm = self.mode == "LSTM"
        if input.ndim not in (1, 2):
            raise ValueError(
                f"{type(self).__name__}: Expected input to be 1D or 2D, got {input.ndim}D instead"
            )
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        if hx is None:
            zeros = np.zeros((input.shape[0], self.hidden_size), input.dtype)
            hx = (
                (Tensor._make(zeros, False), Tensor._make(zeros.copy(), False))
                if lstm
                else (Tensor._make(zeros, False))
            )
        elif not batched:
            # `lstm` decides the state's form (h, c) or h, which the checker cannot see
            hx = tuple(h.unsqueeze(0) for h in hx) if lstm else hx.unsqueeze(0)  # type: ignore[assignment,union-attr]
        weights = (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        state = rnn_step(self.mode, input, hx, weights)
        if not batched:
            state = tuple(s.squeeze(0) for s in state) if lstm else state.squeeze(0)
        return state

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        return text if self.bias else text + ", bias=False"


class RNNCell(RNNCellBase):
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu)."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True,
        nonlinearity: str = "tanh", device: DeviceLike = None, dtype: DTypeLike = None,
    ) -> None:  # fmt: skip
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(mode, input_size, hidden_size, bias, device, dtype)

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return text if self.nonlinearity == "tanh" else text + ", nonlinearity=relu"


class LSTMCell(RNNCellBase):
    """(h, c) -> (h', c'): one LSTM step."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True,
        device: DeviceLike = None, dtype: DTypeLike = None,
    ) -> None:  # fmt: skip
        super().__init__("LSTM", input_size, hidden_size, bias, device, dtype)


class GRUCell(RNNCellBase):
    """h -> h': one GRU step."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True,
        device: DeviceLike = None, dtype: DTypeLike = None,
    ) -> None:  # fmt: skip
        super().__init__("GRU", input_size, hidden_size, bias, device, dtype)
