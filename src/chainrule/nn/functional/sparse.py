"""Lookups by integer index: `embedding` and `one_hot`, as torch.nn.functional's sparse family."""

from __future__ import annotations

import numpy as np

from chainrule import ops
from chainrule.nn.functional._common import out_of_range
from chainrule.tensor import Tensor, index_array
from chainrule.types import TensorLike


def embedding(indices: TensorLike, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of the table `weight` (num_embeddings, dim) picked by integer `indices`."""
    index = index_array(indices)
    bad = out_of_range(index, weight.shape[0])
    if bad is not None:
        raise IndexError(
            f"embedding: index {bad} is out of range for a table of {weight.shape[0]} rows"
        )
    return ops.EmbeddingLookup.apply(weight, index=index, padding_idx=padding_idx)


def one_hot(indices: TensorLike, num_classes: int = -1) -> Tensor:
    """Integer classes (...,) -> int64 one-hot rows (..., num_classes)."""
    index = index_array(indices)
    classes = int(index.max()) + 1 if num_classes == -1 else num_classes
    bad = out_of_range(index, classes)
    if bad is not None:
        raise ValueError(f"one_hot: class values must be in [0, {classes}), got {bad}")
    return Tensor._make(np.eye(classes, dtype=np.int64)[index], False)
