"""Normalisation: `batch_norm` (batch statistics), `layer_norm`, `rms_norm`, `group_norm`
(per-sample statistics)."""

from __future__ import annotations

import numpy as np

from chainrule.tensor import Tensor
from chainrule.types import ShapeLike


def batch_norm(
    x: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel (dim 1) to zero mean and unit variance, then scale and shift.

    x̂ = (x - μ) / √(σ² + ε), y = γ x̂ + β. In training μ, σ² are the batch's statistics and
    the running ones move toward them: r ← (1 - momentum) r + momentum · stat (σ² unbiased).
    Shapes: x (N, C) or (N, C, L); statistics (C,).
    """
    if x.ndim not in (2, 3):
        raise ValueError(f"batch_norm: expected 2-D or 3-D input (N, C[, L]), got {x.shape}")
    axes = (0,) if x.ndim == 2 else (0, 2)
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1)
    if training:
        count = x.shape[0] * (x.shape[2] if x.ndim == 3 else 1)
        if count <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input "
                f"of shape {x.shape}"
            )
        mean = x.mean(axes, keepdim=True)
        var = x.var(axes, unbiased=False, keepdim=True)
        if running_mean is not None and running_var is not None:
            m = np.asarray(momentum, dtype=running_mean.dtype)
            running_mean._data *= 1 - m
            running_mean._data += m * mean._data.reshape(-1)
            running_var._data *= 1 - m
            running_var._data += m * var._data.reshape(-1) * (count / (count - 1))
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: evaluation needs running statistics")
        mean = running_mean.reshape(shape)
        var = running_var.reshape(shape)
    out = (x - mean) / (var + eps).sqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def _shape_tuple(normalized_shape: ShapeLike) -> tuple[int, ...]:
    if isinstance(normalized_shape, int):
        return (normalized_shape,)
    return tuple(int(n) for n in normalized_shape)


def _check_trailing(name: str, x: Tensor, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The dims normalised over (the last len(shape)), after checking they are `shape`."""
    if not shape or tuple(x.shape[x.ndim - len(shape) :]) != shape or x.ndim < len(shape):
        raise ValueError(
            f"{name}: normalized_shape {list(shape)} must be the last dims of the input, "
            f"got input of shape {x.shape}"
        )
    return tuple(range(x.ndim - len(shape), x.ndim))


def layer_norm(
    input: Tensor,
    normalized_shape: ShapeLike,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """(x - μ) / √(σ² + ε) · γ + β, μ and σ² (biased) over the last dims `normalized_shape`,
    for each sample separately (no batch statistics, the same in training and evaluation)."""
    dims = _check_trailing("layer_norm", input, _shape_tuple(normalized_shape))
    mean = input.mean(dims, keepdim=True)
    var = input.var(dims, unbiased=False, keepdim=True)
    out = (input - mean) / (var + eps).sqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def rms_norm(
    input: Tensor,
    normalized_shape: ShapeLike,
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """x / √(mean(x²) + ε) · γ over the last dims `normalized_shape` (no centring);
    eps=None is the machine epsilon of the input's dtype, as in torch."""
    dims = _check_trailing("rms_norm", input, _shape_tuple(normalized_shape))
    eps = float(np.finfo(input.dtype).eps) if eps is None else eps
    out = input / ((input * input).mean(dims, keepdim=True) + eps).sqrt()
    return out if weight is None else out * weight


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Layer normalisation within groups of channels: the C channels of (N, C, *) split into
    num_groups groups, each normalised over its channels and the trailing dims; then γ, β
    per channel."""
    if input.ndim < 2 or input.shape[1] % num_groups:
        raise ValueError(
            f"group_norm: expected input (N, C, *) with C divisible by num_groups "
            f"({num_groups}), got {input.shape}"
        )
    n, channels = input.shape[0], input.shape[1]
    grouped = input.reshape(n, num_groups, -1)
    mean = grouped.mean(2, keepdim=True)
    var = grouped.var(2, unbiased=False, keepdim=True)
    out = ((grouped - mean) / (var + eps).sqrt()).reshape(input.shape)
    per_channel = (1, channels) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(per_channel)
    if bias is not None:
        out = out + bias.reshape(per_channel)
    return out
