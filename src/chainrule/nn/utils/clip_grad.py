"""Gradient clipping (torch.nn.utils.clip_grad_norm_ and friends).

Clipping by norm rescales every gradient by one factor so that the gradients, seen as one
long vector g = (g_1, ..., g_k), have a p-norm of at most max_norm:

    ‖g‖_p = ‖(‖g_1‖_p, ..., ‖g_k‖_p)‖_p        (the norm of the per-tensor norms)
    g_i ← g_i · min(1, max_norm / (‖g‖_p + 1e-6))

so the direction of the step is kept and only its length is capped (a remedy for the
exploding gradients of deep or recurrent networks). Clipping by value clamps each element
to [-clip_value, clip_value] instead, which changes the direction.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from chainrule.autograd import no_grad
from chainrule.tensor import Tensor

Tensors = Tensor | Iterable[Tensor]


def _as_list(tensors: Tensors) -> list[Tensor]:
    # a generator such as model.parameters() can be walked once only: keep it as a list
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _norm(array: np.ndarray, norm_type: float) -> np.ndarray:
    """‖array‖_p over all elements, in the array's own dtype (0-d)."""
    flat = np.abs(array.reshape(-1))
    if math.isinf(norm_type):
        if flat.size == 0:
            return np.zeros((), array.dtype)
        return np.asarray(flat.max() if norm_type > 0 else flat.min())
    if norm_type == 0:
        return np.asarray(np.count_nonzero(flat), array.dtype)
    if norm_type == 2:
        return np.sqrt(np.asarray(np.dot(flat, flat)))
    return np.asarray(np.sum(flat**norm_type) ** (1.0 / norm_type), array.dtype)


def get_total_norm(
    tensors: Tensors,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """‖(‖t_1‖_p, ..., ‖t_k‖_p)‖_p of the given tensors (0-d; 0. for none)."""
    norm_type = float(norm_type)
    arrays = [t._data for t in _as_list(tensors)]
    if not arrays:
        return Tensor._make(np.zeros((), np.float32), False)
    norms = np.stack([_norm(a, norm_type) for a in arrays])
    total = _norm(norms, norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return Tensor._make(np.asarray(total), False)


def clip_grads_with_norm_(
    parameters: Tensors, max_norm: float, total_norm: Tensor, foreach: bool | None = None
) -> None:
    """g ← g · min(1, max_norm / (total_norm + 1e-6)) for every parameter's gradient."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    coefficient = float(max_norm) / (total_norm._data + 1e-6)
    clamped = np.minimum(coefficient, 1.0)
    with no_grad():
        for g in grads:
            g.mul_(Tensor._make(np.asarray(clamped, g.dtype), False))


def clip_grad_norm_(
    parameters: Tensors,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Rescale the gradients in place so their total p-norm is at most max_norm.

    Returns the total norm before clipping (what training loops log). Gradients are always
    multiplied by the clamped factor, so a norm below max_norm leaves them unchanged up to
    rounding, as in PyTorch.
    """
    params = _as_list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_value_(parameters: Tensors, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient element to [-clip_value, clip_value] in place."""
    value = float(clip_value)
    with no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                p.grad.clamp_(min=-value, max=value)
