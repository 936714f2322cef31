"""Adamax: Adam with the infinity norm in place of the running RMS."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.optim.adam_family import adam_family_defaults, next_step, signed_decayed_gradient
from chainrule.optim.optimizer import Optimizer, ParamsT

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax: Adam's first moment, divided by a running maximum of |g| (the ∞-norm).

    With learning rate γ, betas (β1, β2), epsilon ε and weight decay λ, each step does::

        g_t = ∇f(θ_{t-1})                      (g_t = -∇f(θ_{t-1}) if maximize)
        g_t = g_t + λ·θ_{t-1}                  if λ ≠ 0
        m_t = β1·m_{t-1} + (1 - β1)·g_t        (exp_avg, m_0 = 0)
        u_t = max(β2·u_{t-1}, |g_t| + ε)       (exp_inf, u_0 = 0)
        θ_t = θ_{t-1} - γ / (1 - β1^t) · m_t / u_t

    From "Adam: A Method for Stochastic Optimization" (Kingma and Ba), section 7.1: u_t
    needs no bias correction because the maximum is not pulled towards its zero start.

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float): learning rate γ (default: 2e-3).
        betas (tuple[float, float]): decay rates (β1, β2) (default: (0.9, 0.999)).
        eps (float): ε added to |g| (default: 1e-8).
        weight_decay (float): weight decay λ, an L2 penalty (default: 0).
        foreach (bool, optional): accepted; the numbers are the same either way.
        maximize (bool): maximize the objective instead of minimizing it (default: False).
        differentiable, capturable (bool): must be False (see `torch_flags`).

    Example::

        optimizer = optim.Adamax(model.parameters(), lr=2e-3)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        defaults = adam_family_defaults(
            lr,
            betas,
            eps,
            weight_decay,
            {"maximize": maximize},
            "foreach differentiable capturable",
            {"foreach": foreach, "capturable": capturable, "differentiable": differentiable},
        )
        super().__init__(params, defaults)

    def _update_param(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        step = next_step(state, param, ("exp_avg", "exp_inf"))
        beta1, beta2 = (float(b) for b in group["betas"])
        g = signed_decayed_gradient(param, grad, group)
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
        exp_avg += (g - exp_avg) * (1 - beta1)  # torch's lerp: m + (1 - β1)·(g - m)
        exp_inf *= beta2
        np.maximum(exp_inf, np.abs(g) + float(group["eps"]), out=exp_inf)
        clr = float(group["lr"]) / (1 - beta1**step)
        param -= clr * (exp_avg / exp_inf)
