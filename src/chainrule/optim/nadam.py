"""NAdam: Adam with Nesterov momentum, and a momentum schedule that warms up."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.optim.adam_family import (
    adam_family_defaults,
    check_adam_options,
    next_step,
    signed_decayed_gradient,
)
from chainrule.optim.optimizer import Optimizer, ParamsT, state_scalar

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam: Adam whose first moment looks one step ahead, as Nesterov's momentum does.

    With learning rate γ, betas (β1, β2), epsilon ε, weight decay λ and momentum decay ψ,
    each step does::

        g_t = ∇f(θ_{t-1})                      (g_t = -∇f(θ_{t-1}) if maximize)
        θ_{t-1} = θ_{t-1}·(1 - γ·λ)            if decoupled_weight_decay
        g_t = g_t + λ·θ_{t-1}                  otherwise, if λ ≠ 0
        μ_t = β1·(1 - ½·0.96^(t·ψ))            (the momentum schedule)
        μ_{t+1} = β1·(1 - ½·0.96^((t+1)·ψ))
        P_t = μ_1·μ_2·…·μ_t                    (mu_product, P_0 = 1)
        m_t = β1·m_{t-1} + (1 - β1)·g_t
        v_t = β2·v_{t-1} + (1 - β2)·g_t²
        d_t = √(v_t / (1 - β2^t)) + ε
        θ_t = θ_{t-1} - γ·(1 - μ_t) / (1 - P_t) · g_t / d_t
                      - γ·μ_{t+1} / (1 - P_t·μ_{t+1}) · m_t / d_t

    From "Incorporating Nesterov Momentum into Adam" (Dozat, 2016); the decoupled decay is
    AdamW's ("Decoupled Weight Decay Regularization").

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float): learning rate γ (default: 2e-3).
        betas (tuple[float, float]): decay rates (β1, β2) (default: (0.9, 0.999)).
        eps (float): ε added to the denominator (default: 1e-8).
        weight_decay (float): weight decay λ (default: 0).
        momentum_decay (float): ψ of the momentum schedule (default: 4e-3).
        decoupled_weight_decay (bool): decay the weights directly, as AdamW (default: False).
        foreach (bool, optional): accepted; the numbers are the same either way.
        maximize (bool): maximize the objective instead of minimizing it (default: False).
        capturable, differentiable (bool): must be False (see `torch_flags`).

    Example::

        optimizer = optim.NAdam(model.parameters(), lr=2e-3)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_adam_options(lr, betas, eps, weight_decay)  # torch's order: these first
        if not momentum_decay >= 0.0:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = adam_family_defaults(
            lr,
            betas,
            eps,
            weight_decay,
            {
                "momentum_decay": momentum_decay,
                "decoupled_weight_decay": decoupled_weight_decay,
                "maximize": maximize,
            },
            "foreach capturable differentiable",
            {"foreach": foreach, "capturable": capturable, "differentiable": differentiable},
        )
        super().__init__(params, defaults)

    def _update_param(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        step = next_step(state, param, ("exp_avg", "exp_avg_sq"), mu_product=1.0)
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        psi = float(group["momentum_decay"])
        g = signed_decayed_gradient(param, grad, group)
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
        # a 0-d float32 tensor in torch, multiplied (and rounded) in float32 every step
        state["mu_product"] = mu_product = state_scalar(float(state["mu_product"]), mu)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg += (g - exp_avg) * (1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * g * g
        denom = np.sqrt(exp_avg_sq / (1 - beta2**step))
        denom += float(group["eps"])
        param += (-lr * (1.0 - mu) / (1.0 - mu_product)) * (g / denom)
        param += (-lr * mu_next / (1.0 - mu_product * mu_next)) * (exp_avg / denom)
