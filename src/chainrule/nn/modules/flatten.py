"""Flatten: dims start_dim..end_dim into one, as torch.nn.Flatten; Unflatten, its inverse:
one dim into several, as torch.nn.Unflatten."""

from __future__ import annotations

from collections.abc import Sequence

from chainrule.nn.modules.module import Module
from chainrule.nn.registry import (
    INT,
    SHAPE,
    register,
)
from chainrule.tensor import Tensor


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


@register(
    options={"dim": INT, "unflattened_size": SHAPE},
    readers={"unflattened_size": lambda layer: list(layer.unflattened_size)},
    example={"dim": 1, "unflattened_size": [3, 2]},
    example_input=(4, 6),
    onnx=True,
    capture=True,
)
class Unflatten(Module):
    """Splits dim ``dim`` into ``unflattened_size``: (N, 784) -> (N, 28, 28) with
    ``Unflatten(1, (28, 28))``; one size may be -1 (inferred). The product of the sizes
    must equal the input's size along ``dim``."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(
                "unflattened_size must be a tuple of ints, but found type "
                f"{type(unflattened_size).__name__}"
            )
        for index, size in enumerate(unflattened_size):
            if not isinstance(size, int) or isinstance(size, bool):
                raise TypeError(
                    "unflattened_size must be tuple of ints, but found element of type "
                    f"{type(size).__name__} at pos {index}"
                )
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, x: Tensor) -> Tensor:
        return x.unflatten(self.dim, tuple(self.unflattened_size))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
