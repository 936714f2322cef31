"""Activation functions, as in `torch.nn.functional`.

`inplace`, for every activation here, is accepted for PyTorch compatibility; the result is
always a new tensor."""

from __future__ import annotations

from typing import Any

from chainrule import ops
from chainrule.tensor import Tensor


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    """max(0, x). (`inplace`, for every activation here, is accepted for PyTorch
    compatibility; the result is always a new tensor.)"""
    return x.relu()


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope·x otherwise (keeps a gradient left of 0)."""
    return ops.LeakyRelu.apply(x, negative_slope=negative_slope)


def hardtanh(
    x: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """x clipped to [min_val, max_val]; the gradient is 1 strictly inside, else 0."""
    if max_val < min_val:
        raise ValueError(f"hardtanh: max_val ({max_val}) must be >= min_val ({min_val})")
    return ops.Hardtanh.apply(x, min_val=min_val, max_val=max_val)


def elu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, α(eˣ - 1) otherwise (smooth, saturates at -α)."""
    return ops.Elu.apply(x, alpha=alpha)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x·Φ(x), Φ the standard normal CDF ('tanh' for the tanh approximation)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return ops.Gelu.apply(x, approximate=approximate)


def silu(x: Tensor, inplace: bool = False) -> Tensor:
    """x·σ(x)."""
    return ops.Silu.apply(x)


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """(1/β) log(1 + e^(βx)), a smooth ReLU; linear where βx > threshold."""
    return ops.Softplus.apply(x, beta=beta, threshold=threshold)


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + e⁻ˣ)."""
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def _softmax_dim(x: Tensor, dim: int | None) -> int:
    if dim is None:  # PyTorch's legacy choice when no dim is given
        return 0 if x.ndim in (0, 1, 3) else 1
    return dim


def softmax(x: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """e^(xᵢ) / Σⱼ e^(xⱼ) along dim, computed as softmax(x - max x) so it cannot overflow.

    dtype: cast the input to this type first (e.g. float64 for extra precision).
    """
    x = x if dtype is None else x.to(dtype)
    return x.softmax(_softmax_dim(x, dim))


def log_softmax(
    x: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    """x - log Σ eˣ along dim, with the log-sum-exp trick (dtype: as in `softmax`)."""
    x = x if dtype is None else x.to(dtype)
    return x.log_softmax(_softmax_dim(x, dim))


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    return input.clamp(0.0, 6.0)


def logsigmoid(input: Tensor) -> Tensor:
    """log σ(x) = -softplus(-x), without overflow."""
    return -softplus(-input)


def softsign(input: Tensor) -> Tensor:
    return input / (1 + input.abs())


def softmin(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    return softmax(-input, dim, dtype=dtype)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    return scale * elu(input, alpha)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return input.clamp(min=0) + (alpha * ((input / alpha).exp() - 1)).clamp(max=0)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    return input * softplus(input).tanh()


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    return (input / 6 + 0.5).clamp(0.0, 1.0)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    return input * hardsigmoid(input)


def tanhshrink(input: Tensor) -> Tensor:
    return input - input.tanh()
