"""Layers that shape or regularise: `Flatten`, `Dropout`, `BatchNorm1d`, `Embedding`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from chainrule import dtypes
from chainrule.devices import check_device
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.modules.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.nn.registry import (
    BOOL,
    DTYPE,
    INT,
    NUMBER,
    OPTIONAL_INT,
    OPTIONAL_NUMBER,
    SIZE,
    Shapes,
    register,
)
from chainrule.tensor import Tensor


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


@register(
    options={"start_dim": INT, "end_dim": INT}, example_input=(4, 3, 2), onnx=True, capture=True
)
class Flatten(Module):
    """Flattens dims start_dim..end_dim into one: (N, 8, 8) -> (N, 64)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


# a replay would freeze its random mask
@register(options={"p": NUMBER, "inplace": BOOL}, onnx=True, capture=False)
class Dropout(Module):
    """Zeroes each element with probability p in training, scaling the rest by 1/(1-p)
    (inverted dropout); does nothing in eval mode.

    `inplace` is accepted for PyTorch compatibility; the result is always a new tensor.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


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

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        check_device(device)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        float_type = dtypes.DEFAULT_FLOAT if dtype is None else dtypes.as_dtype(dtype)
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=float_type))
            if bias:
                self.bias = Parameter(np.zeros(num_features, dtype=float_type))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
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
            self.num_batches_tracked._data += 1
            if self.momentum is None:  # a cumulative moving average, as in PyTorch
                momentum = 1.0 / float(self.num_batches_tracked.item())
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


# its op keeps the input's index array, which a replayed step could not update
@register(
    options={
        "num_embeddings": SIZE,
        "embedding_dim": SIZE,
        "padding_idx": OPTIONAL_INT,
        "dtype": DTYPE,
    },
    shapes=lambda args: {"weight": (args["num_embeddings"], args["embedding_dim"])},
    example={"num_embeddings": 5, "embedding_dim": 2},
    example_input=(4,),
    index_input=5,
    onnx=True,
    capture=False,
)
class Embedding(Module):
    """A lookup table of learned vectors: row i is the embedding of token i.

    Shape: integer indices (*) -> (*, embedding_dim). Initialised N(0, 1) as in PyTorch;
    the padding_idx row starts at zero and receives no gradient.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        *,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        check_device(device)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx {padding_idx} must be within num_embeddings "
                    f"({num_embeddings})"
                )
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        float_type = dtypes.DEFAULT_FLOAT if dtype is None else dtypes.as_dtype(dtype)
        self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype=float_type))
        self.reset_parameters()

    @classmethod
    def from_pretrained(
        cls, embeddings: Any, freeze: bool = True, padding_idx: int | None = None
    ) -> Embedding:
        """An Embedding whose table is `embeddings` (rows, dim), shared as in PyTorch, not
        re-initialised; frozen (requires_grad=False) unless freeze=False."""
        table = embeddings if isinstance(embeddings, Tensor) else Tensor(embeddings)
        if table.ndim != 2:
            raise ValueError(f"Embeddings parameter is expected to be 2-D, got {table.shape}")
        rows, cols = table.shape
        embedding = cls(rows, cols, padding_idx, dtype=table.dtype)
        embedding.weight = Parameter(table, requires_grad=not freeze)
        return embedding

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def forward(self, indices: Any) -> Tensor:
        return F.embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        padding = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"
