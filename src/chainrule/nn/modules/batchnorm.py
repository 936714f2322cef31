"""BatchNorm1d: batch statistics in training, running averages in eval mode."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from chainrule import dtypes
from chainrule.devices import check_device
from chainrule.nn import functional as F
from chainrule.nn.modules.module import Module
from chainrule.nn.modules.normalization import affine_parameters
from chainrule.nn.parameter import Parameter
from chainrule.nn.registry import (
    BOOL,
    DTYPE,
    NUMBER,
    OPTIONAL_NUMBER,
    SIZE,
    Shapes,
    register,
)
from chainrule.tensor import Tensor
from chainrule.types import DeviceLike, DTypeLike


def _batch_norm_shapes(args: Mapping[str, Any]) -> Shapes:
    n = args["num_features"]
    shapes: Shapes = {}
    if args["affine"]:
        shapes["weight"] = (n,)
        if args.get("bias", True):
            shapes["bias"] = (n,)
    if args["track_running_stats"]:
        shapes.update(running_mean=(n,), running_var=(n,), num_batches_tracked=())
    return shapes


# a replay would freeze its batch statistics and running averages
@register(
    options={
        "num_features": SIZE,
        "eps": NUMBER,
        "momentum": OPTIONAL_NUMBER,
        "affine": BOOL,
        "track_running_stats": BOOL,
        "bias": BOOL,
        "dtype": DTYPE,
    },
    shapes=_batch_norm_shapes,
    readers={"bias": lambda layer: layer.bias is not None if layer.affine else True},
    example={"num_features": 3},
    onnx=True,
    capture=False,
)
class BatchNorm1d(Module):
    """Batch normalisation over (N, C) or (N, C, L): y = γ (x - μ)/√(σ² + ε) + β.

    Training uses the batch's statistics and updates running_mean / running_var with
    `momentum`; eval mode uses the running statistics.
    """

    # parameters (affine_parameters) and buffers (register_buffer), declared for type
    # checkers: None when not affine / without running stats
    weight: Parameter | None
    bias: Parameter | None
    running_mean: Tensor | None
    running_var: Tensor | None
    num_batches_tracked: Tensor | None

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: DeviceLike = None,
        dtype: DTypeLike = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        check_device(device)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        float_type = dtypes.float_or_default(dtype)
        affine_parameters(self, (num_features,), float_type, affine, bias)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=float_type)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype=float_type)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm1d({self.num_features}): expected input (N, {self.num_features}) or "
                f"(N, {self.num_features}, L), got {x.shape}"
            )
        use_batch_stats = self.training or not self.track_running_stats
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            tracked = self.num_batches_tracked
            assert tracked is not None  # registered with the running statistics
            tracked._data += 1
            if self.momentum is None:  # a cumulative moving average, as in PyTorch
                momentum = 1.0 / float(tracked.item())
        return F.batch_norm(
            x,
            self.running_mean if not use_batch_stats or self.training else None,
            self.running_var if not use_batch_stats or self.training else None,
            self.weight,
            self.bias,
            use_batch_stats,
            momentum,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )
