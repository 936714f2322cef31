"""Activation functions, as in `torch.nn.functional`.

`inplace`, for every activation here, is accepted for PyTorch compatibility; the result is
always a new tensor."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from chainrule import ops
from chainrule.ops import piecewise
from chainrule.random import Generator, draws, numpy_stream, resolve
from chainrule.tensor import Tensor
from chainrule.types import DTypeLike, Number


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


def softmax(
    x: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: DTypeLike = None
) -> Tensor:
    """e^(xᵢ) / Σⱼ e^(xⱼ) along dim, computed as softmax(x - max x) so it cannot overflow.

    dtype: cast the input to this type first (e.g. float64 for extra precision).
    """
    x = x if dtype is None else x.to(dtype)
    return x.softmax(_softmax_dim(x, dim))


def log_softmax(
    x: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: DTypeLike = None
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


def softmin(input: Tensor, dim: int | None = None, dtype: DTypeLike = None) -> Tensor:
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


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value."""
    return piecewise.Threshold.apply(input, threshold=threshold, value=value)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > λ, else 0."""
    return piecewise.Hardshrink.apply(input, lambd=lambd)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - λ·sign(x) where |x| > λ, else 0 (the proximal step of λ|x|)."""
    if lambd < 0:
        raise ValueError(f"softshrink: lambda must be >= 0, got {lambd}")
    return piecewise.Softshrink.apply(input, lambd=lambd)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: a ⊗ σ(b), where a and b are the two halves of input along dim."""
    if input.ndim == 0 or input.shape[dim] % 2:
        raise ValueError(
            f"glu: halving dimension {dim} needs an even size, got input of shape {input.shape}"
        )
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x where x > 0, else a·x, with the learned slopes `weight` (1,) or (C,), C = dim 1."""
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.ndim > 1 or weight.numel() not in (1, channels):
        raise ValueError(
            f"prelu: weight of shape {weight.shape} must have 1 or {channels} elements "
            f"(the channels, dim 1, of input of shape {input.shape})"
        )
    return piecewise.Prelu.apply(input, weight)


def rrelu(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
    *,
    generator: Generator | None = None,
) -> Tensor:
    """Randomised leaky ReLU: x for x >= 0, a·x otherwise, a ~ U(lower, upper) per entry in
    training; in evaluation a is the mean slope (lower + upper) / 2."""
    if not training:
        return leaky_relu(input, (lower + upper) / 2)
    slopes = numpy_stream(generator).uniform(lower, upper, size=input.shape)
    return piecewise.RandomSlope.apply(input, slopes=slopes)


def gumbel_softmax(
    logits: Tensor,
    tau: float = 1.0,
    hard: bool = False,
    eps: float = 1e-10,
    dim: int = -1,
    *,
    generator: Generator | None = None,
) -> Tensor:
    """A differentiable sample from the categorical distribution softmax(logits):
    softmax((logits + g) / τ) with g Gumbel(0, 1) noise. `hard=True` returns the one-hot of
    its argmax, with the soft sample's gradient (the straight-through estimator)."""
    # torch: -empty_like(logits).exponential_().log(), so the noise is torch's for a seed
    exponentials = draws.exponential(resolve(generator), tuple(logits.shape), 1.0, logits.dtype)
    gumbels = -np.log(exponentials)
    noisy = (logits + Tensor._make(gumbels.astype(logits.dtype), False)) / tau
    soft = noisy.softmax(dim)
    if not hard:
        return soft
    index = soft._data.argmax(axis=dim)
    one_hot = np.zeros_like(soft._data)
    np.put_along_axis(one_hot, np.expand_dims(index, dim), 1, axis=dim)
    return Tensor._make(one_hot, False) - soft.detach() + soft


def _in_place(name: str, fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """torch's F.<name>_: the activation written into its input (recorded in the graph).

    It is computed from a clone, so an op that saved its input for backward saved the clone,
    which the write leaves alone."""

    def apply_in_place(input: Tensor, *args: Number, **kwargs: Number) -> Tensor:
        return input.copy_(fn(input.clone(), *args, **kwargs))

    apply_in_place.__name__ = apply_in_place.__qualname__ = f"{name}_"
    apply_in_place.__doc__ = f"In-place {name}: writes {name}(input) into input and returns it."
    return apply_in_place


relu_ = _in_place("relu", relu)
elu_ = _in_place("elu", elu)
leaky_relu_ = _in_place("leaky_relu", leaky_relu)
hardtanh_ = _in_place("hardtanh", hardtanh)
selu_ = _in_place("selu", selu)
celu_ = _in_place("celu", celu)
threshold_ = _in_place("threshold", threshold)
rrelu_ = _in_place("rrelu", rrelu)
