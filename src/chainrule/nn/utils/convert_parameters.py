"""Parameters as one flat vector and back (torch.nn.utils.parameters_to_vector).

Optimizers written for one vector θ ∈ R^n (line searches, second-order methods, evolution
strategies) see a network's parameter tensors W_1, ..., W_k laid end to end:
θ = (vec W_1, ..., vec W_k), n = Σ_i numel(W_i).
"""

from __future__ import annotations

from collections.abc import Iterable

from chainrule.joining import cat
from chainrule.tensor import Tensor


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """θ = (vec W_1, ..., vec W_k): shape (n,), in the graph (gradients flow back)."""
    params = list(parameters)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"expected Tensor, but got: {type(p).__name__}")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Make each W_i's data the matching slice of vec (shape (n,)), reshaped to W_i's shape."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected Tensor, but got: {type(vec).__name__}")
    params = list(parameters)
    needed = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != needed:
        raise ValueError(
            f"vector_to_parameters: vec has shape {tuple(vec.shape)}, the parameters need "
            f"({needed},)"
        )
    start = 0
    for p in params:
        n = p.numel()
        p.data = vec[start : start + n].view_as(p).data
        start += n
