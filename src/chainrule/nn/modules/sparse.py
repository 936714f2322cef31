"""Embedding: a lookup table of learned vectors (torch.nn.Embedding, in sparse.py there too)."""

from __future__ import annotations

import numpy as np

from chainrule import dtypes
from chainrule.devices import check_device
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.modules.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.nn.registry import (
    DTYPE,
    OPTIONAL_INT,
    SIZE,
    register,
)
from chainrule.tensor import Tensor
from chainrule.types import DeviceLike, DTypeLike, TensorLike


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
    capture=True,  # a lookup of the input: compile_step passes each step's indices
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
        device: DeviceLike = None,
        dtype: DTypeLike = None,
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
        float_type = dtypes.float_or_default(dtype)
        self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype=float_type))
        self.reset_parameters()

    @classmethod
    def from_pretrained(
        cls, embeddings: TensorLike, freeze: bool = True, padding_idx: int | None = None
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

    def forward(self, indices: TensorLike) -> Tensor:
        return F.embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        padding = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"
