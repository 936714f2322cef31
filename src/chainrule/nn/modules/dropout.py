"""Dropout: inverted dropout in training, the identity in eval mode."""

from __future__ import annotations

from chainrule.nn import functional as F
from chainrule.nn.modules.module import Module
from chainrule.nn.registry import (
    BOOL,
    NUMBER,
    register,
)
from chainrule.tensor import Tensor


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
