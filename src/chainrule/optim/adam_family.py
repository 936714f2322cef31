"""What the Adam family (Adam/AdamW, Adamax, NAdam, RAdam) shares: torch's checks of lr,
eps, betas and weight decay, the defaults in torch's key order, the state's start (a step
count and zeroed moment buffers) and the gradient's sign and weight decay."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.optim.optimizer import torch_flags

__all__ = [
    "adam_family_defaults", "check_adam_options", "next_step", "signed_decayed_gradient",
]  # fmt: skip


def adam_family_defaults(
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
    options: dict[str, Any],
    switches: str,
    flags: dict[str, Any],
    last: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The group defaults ``{lr, betas, eps, weight_decay, **options, torch's switches,
    **last}`` (torch's key order for each optimizer, so a state_dict lists them as torch's
    does), after `check_adam_options`. ``switches`` and ``flags`` go to `torch_flags`."""
    check_adam_options(lr, betas, eps, weight_decay)
    head = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
    return {**head, **options, **torch_flags(switches, **flags), **(last or {})}


def check_adam_options(
    lr: float, betas: tuple[float, float], eps: float, weight_decay: float
) -> None:
    """torch's checks of the shared options, in its order and with its messages."""
    if not lr >= 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not eps >= 0.0:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not weight_decay >= 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


def next_step(
    state: dict[str, Any], param: np.ndarray, buffers: tuple[str, ...], **scalars: float
) -> int:
    """Count one more step in ``state`` and return it (t, from 1). At the first step the
    state starts as torch's: ``step`` 0, then ``scalars`` (NAdam's mu_product), then the
    ``buffers``, zeros of param's shape and dtype; a buffer missing later (AMSGrad switched
    on mid-training) starts at zeros too."""
    if not state:
        state["step"] = 0
        state.update(scalars)
    for name in buffers:
        if name not in state:
            state[name] = np.zeros_like(param)
    state["step"] = step = int(state["step"]) + 1
    return step


def signed_decayed_gradient(
    param: np.ndarray, grad: np.ndarray, group: dict[str, Any]
) -> np.ndarray:
    """The gradient the moments see: ``-∇`` with maximize, plus ``λ·θ`` (L2 decay), or,
    with ``decoupled_weight_decay``, θ ← θ·(1 - γ·λ) in place first (AdamW's decay, which
    never enters the moments). ``grad`` is never changed."""
    g = -grad if group["maximize"] else grad
    weight_decay = float(group["weight_decay"])
    if weight_decay != 0:
        if group.get("decoupled_weight_decay"):
            param *= 1 - float(group["lr"]) * weight_decay
        else:
            g = g + weight_decay * param
    return g
