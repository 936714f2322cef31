"""Adadelta: step sizes from running averages of squared gradients and squared updates."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.optim.optimizer import Optimizer, ParamsT, torch_flags

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta: the ratio of two running RMS values gives each coordinate its step.

    With learning rate γ, decay ρ, epsilon ε and weight decay λ, each step does::

        g_t = ∇f(θ_{t-1})                      (g_t = -∇f(θ_{t-1}) if maximize)
        g_t = g_t + λ·θ_{t-1}                  if λ ≠ 0
        v_t = ρ·v_{t-1} + (1 - ρ)·g_t²         (square_avg, v_0 = 0)
        Δx_t = √(u_{t-1} + ε) / √(v_t + ε) · g_t
        u_t = ρ·u_{t-1} + (1 - ρ)·Δx_t²        (acc_delta, u_0 = 0)
        θ_t = θ_{t-1} - γ·Δx_t

    The numerator carries the units of θ, so the step needs no hand-tuned scale ("ADADELTA:
    An Adaptive Learning Rate Method", Zeiler, 2012); γ = 1 is the paper's method.

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float): learning rate γ scaling the delta (default: 1.0).
        rho (float): decay ρ of the running averages (default: 0.9).
        eps (float): ε inside both square roots (default: 1e-6).
        weight_decay (float): weight decay λ, an L2 penalty (default: 0).
        foreach (bool, optional): accepted; the numbers are the same either way.
        maximize (bool): maximize the objective instead of minimizing it (default: False).
        capturable, differentiable (bool): must be False (see `torch_flags`).

    Example::

        optimizer = optim.Adadelta(model.parameters())
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not eps >= 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not weight_decay >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            **torch_flags(
                "capturable foreach differentiable",
                foreach=foreach,
                capturable=capturable,
                differentiable=differentiable,
            ),
        }
        super().__init__(params, defaults)

    def _update_param(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(param)
            state["acc_delta"] = np.zeros_like(param)
        state["step"] = int(state["step"]) + 1
        rho, eps = float(group["rho"]), float(group["eps"])
        g = -grad if group["maximize"] else grad
        if group["weight_decay"] != 0:
            g = g + float(group["weight_decay"]) * param
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho
        square_avg += (1 - rho) * g * g
        delta = np.sqrt(acc_delta + eps)
        delta /= np.sqrt(square_avg + eps)
        delta *= g
        acc_delta *= rho
        acc_delta += (1 - rho) * delta * delta
        param -= float(group["lr"]) * delta
