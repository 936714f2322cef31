"""Normalisation: `batch_norm`."""

from __future__ import annotations

import numpy as np

from chainrule.tensor import Tensor


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
