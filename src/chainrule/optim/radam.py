"""RAdam: Adam whose adaptive step is switched on only once its variance is tractable."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule.optim.adam_family import adam_family_defaults, next_step, signed_decayed_gradient
from chainrule.optim.optimizer import Optimizer, ParamsT

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """Rectified Adam: SGD with momentum for the first steps, then a rectified Adam step.

    With learning rate γ, betas (β1, β2), epsilon ε and weight decay λ, each step does::

        g_t = ∇f(θ_{t-1})                      (g_t = -∇f(θ_{t-1}) if maximize)
        θ_{t-1} = θ_{t-1}·(1 - γ·λ)            if decoupled_weight_decay
        g_t = g_t + λ·θ_{t-1}                  otherwise, if λ ≠ 0
        m_t = β1·m_{t-1} + (1 - β1)·g_t
        v_t = β2·v_{t-1} + (1 - β2)·g_t²
        m̂_t = m_t / (1 - β1^t)
        ρ_∞ = 2 / (1 - β2) - 1
        ρ_t = ρ_∞ - 2·t·β2^t / (1 - β2^t)
        if ρ_t > 5:
            r_t = √((ρ_t - 4)(ρ_t - 2)·ρ_∞ / ((ρ_∞ - 4)(ρ_∞ - 2)·ρ_t))
            θ_t = θ_{t-1} - γ·m̂_t·r_t·√(1 - β2^t) / (√v_t + ε)
        else:
            θ_t = θ_{t-1} - γ·m̂_t

    ρ_t is the length of the simple moving average that v_t approximates; below 5 the
    variance of the adaptive rate is undefined or huge, hence the plain momentum step ("On
    the Variance of the Adaptive Learning Rate and Beyond", Liu et al., 2020).

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float): learning rate γ (default: 1e-3).
        betas (tuple[float, float]): decay rates (β1, β2) (default: (0.9, 0.999)).
        eps (float): ε added to the denominator (default: 1e-8).
        weight_decay (float): weight decay λ (default: 0).
        decoupled_weight_decay (bool): decay the weights directly, as AdamW (default: False).
        foreach (bool, optional): accepted; the numbers are the same either way.
        maximize (bool): maximize the objective instead of minimizing it (default: False).
        capturable, differentiable (bool): must be False (see `torch_flags`).

    Example::

        optimizer = optim.RAdam(model.parameters(), lr=1e-3)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = adam_family_defaults(
            lr,
            betas,
            eps,
            weight_decay,
            {"maximize": maximize, "decoupled_weight_decay": decoupled_weight_decay},
            "foreach capturable differentiable",
            {"foreach": foreach, "capturable": capturable, "differentiable": differentiable},
        )
        super().__init__(params, defaults)

    def _update_param(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        step = next_step(state, param, ("exp_avg", "exp_avg_sq"))
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        g = signed_decayed_gradient(param, grad, group)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg += (g - exp_avg) * (1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * g * g
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        corrected = exp_avg / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
        if rho_t > 5.0:
            rect = math.sqrt(
                (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            )
            adaptive = math.sqrt(bias_correction2) / (np.sqrt(exp_avg_sq) + float(group["eps"]))
            param -= corrected * lr * adaptive * rect
        else:
            param -= corrected * lr
