"""Adagrad: per-coordinate learning rates that shrink with the sum of squared gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.optim.optimizer import Optimizer, ParamsT, torch_flags

__all__ = ["Adagrad", "adagrad_update"]


def adagrad_update(
    param: np.ndarray,
    grad: np.ndarray,
    state_sum: np.ndarray,
    *,
    step: int,
    lr: float,
    lr_decay: float,
    weight_decay: float,
    eps: float,
    maximize: bool,
) -> None:
    """One Adagrad step: updates ``param`` and the sum of squares in place.

    ``step`` is t, counted from 1. ``grad`` is only read.
    """
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * param
    clr = lr / (1 + (step - 1) * lr_decay)  # γ̃ = γ / (1 + (t - 1)·η)
    state_sum += np.square(g)  # s_t = s_{t-1} + g_t²
    std = np.sqrt(state_sum)
    std += eps
    np.divide(g, std, out=std)
    std *= clr
    param -= std  # θ_t = θ_{t-1} - γ̃·g_t / (√s_t + ε)


class Adagrad(Optimizer):
    """Adagrad: each coordinate's step is divided by the root of its summed squared gradients.

    With learning rate γ, learning-rate decay η, weight decay λ, initial accumulator value
    τ and epsilon ε, each step does::

        g_t = ∇f(θ_{t-1})                      (g_t = -∇f(θ_{t-1}) if maximize)
        g_t = g_t + λ·θ_{t-1}                  if λ ≠ 0
        γ̃ = γ / (1 + (t - 1)·η)
        s_t = s_{t-1} + g_t²                   (s_0 = τ)
        θ_t = θ_{t-1} - γ̃·g_t / (√s_t + ε)

    Coordinates that have seen large gradients take small steps and rarely-updated ones
    keep large steps, which suits sparse features ("Adaptive Subgradient Methods for Online
    Learning and Stochastic Optimization", Duchi et al., 2011).

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float): learning rate γ (default: 1e-2).
        lr_decay (float): learning-rate decay η (default: 0).
        weight_decay (float): weight decay λ, an L2 penalty (default: 0).
        initial_accumulator_value (float): starting value τ of the sums (default: 0).
        eps (float): ε added to the denominator for numerical stability (default: 1e-10).
        maximize (bool): maximize the objective instead of minimizing it (default: False).
        foreach, fused (bool, optional): torch's implementation switches, accepted; the
            numbers are the same either way.
        differentiable (bool): must be False (steps are not recorded in the graph).

    Example::

        optimizer = optim.Adagrad(model.parameters(), lr=1e-2)
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not lr_decay >= 0.0:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not weight_decay >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not initial_accumulator_value >= 0.0:
            raise ValueError(
                f"Invalid initial_accumulator_value value: {initial_accumulator_value}"
            )
        if not eps >= 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "maximize": maximize,
            **torch_flags(
                "foreach differentiable fused",
                foreach=foreach,
                differentiable=differentiable,
                fused=fused,
            ),
        }
        super().__init__(params, defaults)
        # as in PyTorch, the state exists from the start (s_0 = τ), not from the first step
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p._data, self.state[p], group)

    @staticmethod
    def _init_state(param: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = 0
        state["sum"] = np.full_like(param, float(group["initial_accumulator_value"]))

    def _update_param(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        if not state:  # a parameter added later with add_param_group
            self._init_state(param, state, group)
        state["step"] = step = int(state["step"]) + 1
        adagrad_update(
            param,
            grad,
            state["sum"],
            step=step,
            lr=float(group["lr"]),
            lr_decay=float(group["lr_decay"]),
            weight_decay=float(group["weight_decay"]),
            eps=float(group["eps"]),
            maximize=bool(group["maximize"]),
        )
