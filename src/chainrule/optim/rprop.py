"""Rprop: per-coordinate steps that grow while the gradient's sign holds, shrink when it flips."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.optim.optimizer import Optimizer, ParamsT, torch_flags

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Resilient backpropagation: only the sign of the gradient is used, never its size.

    With etas (η-, η+) and step-size bounds (Δ_min, Δ_max), each step does, per coordinate
    (Δ_0 = lr, g_0 = 0)::

        g_t = ∇f(θ_{t-1})                      (g_t = -∇f(θ_{t-1}) if maximize)
        s = sign(g_t·g_{t-1})
        Δ_t = clamp(Δ_{t-1}·η+, Δ_min, Δ_max)  if s > 0   (same direction: speed up)
        Δ_t = clamp(Δ_{t-1}·η-, Δ_min, Δ_max)  if s < 0   (overshot: slow down...)
        g_t = 0                                if s < 0   (...and skip this coordinate)
        Δ_t = Δ_{t-1}                          if s = 0
        θ_t = θ_{t-1} - sign(g_t)·Δ_t
        g_{t-1} ← g_t                          (state['prev'])

    This is Rprop- without weight backtracking ("A Direct Adaptive Method for Faster
    Backpropagation Learning: The RPROP Algorithm", Riedmiller and Braun, 1993). It suits
    full-batch training; mini-batch noise flips the signs.

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float): the initial step size Δ_0 (default: 1e-2).
        etas (tuple[float, float]): (η-, η+), with 0 < η- < 1 < η+ (default: (0.5, 1.2)).
        step_sizes (tuple[float, float]): (Δ_min, Δ_max) (default: (1e-6, 50)).
        foreach (bool, optional): accepted; the numbers are the same either way.
        maximize (bool): maximize the objective instead of minimizing it (default: False).
        capturable, differentiable (bool): must be False (see `torch_flags`).

    Example::

        optimizer = optim.Rprop(model.parameters())
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = {
            "lr": lr,
            "etas": etas,
            "step_sizes": step_sizes,
            "maximize": maximize,
            **torch_flags(
                "foreach differentiable capturable",
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
            state["prev"] = np.zeros_like(param)
            state["step_size"] = np.full_like(param, float(group["lr"]))
        state["step"] = int(state["step"]) + 1
        etaminus, etaplus = (float(e) for e in group["etas"])
        step_min, step_max = (float(s) for s in group["step_sizes"])
        g = -grad if group["maximize"] else grad
        sign = np.sign(g * state["prev"])
        factor = np.where(sign > 0, etaplus, np.where(sign < 0, etaminus, 1.0))
        step_size = state["step_size"]
        step_size *= factor
        np.clip(step_size, step_min, step_max, out=step_size)
        g = np.where(sign < 0, 0.0, g).astype(param.dtype, copy=False)
        param -= np.sign(g) * step_size
        state["prev"][...] = g
