"""Flatten: dims start_dim..end_dim into one, as torch.nn.Flatten."""

from __future__ import annotations

from chainrule.nn.modules.module import Module
from chainrule.nn.registry import (
    INT,
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
