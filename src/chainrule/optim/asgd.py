"""ASGD: stochastic gradient descent that also keeps a running average of the iterates."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.optim.optimizer import Optimizer, ParamsT, state_scalar, torch_flags

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """Averaged SGD: plain SGD with a decaying step, plus the average of θ from step t0 on.

    With learning rate γ, decay λ, power α, averaging start t0 and weight decay w, each
    step does (η_0 = γ, μ_0 = 1, both read from the previous step)::

        g_t = ∇f(θ_{t-1}) + w·θ_{t-1}          (negated first if maximize)
        θ_t = θ_{t-1}·(1 - λ·η_{t-1}) - η_{t-1}·g_t
        a_t = a_{t-1} + μ_{t-1}·(θ_t - a_{t-1})   if μ_{t-1} ≠ 1, else a_t = θ_t   (ax)
        η_t = γ / (1 + λ·γ·t)^α
        μ_t = 1 / max(1, t - t0)

    The average ``state['ax']`` is the estimate of Polyak and Juditsky ("Acceleration of
    Stochastic Approximation by Averaging", 1992); the parameters themselves follow SGD.

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float): learning rate γ (default: 1e-2).
        lambd (float): decay term λ (default: 1e-4).
        alpha (float): power α of the step decay (default: 0.75).
        t0 (float): the step from which averaging starts (default: 1e6).
        weight_decay (float): weight decay w, an L2 penalty (default: 0).
        foreach (bool, optional): accepted; the numbers are the same either way.
        maximize (bool): maximize the objective instead of minimizing it (default: False).
        differentiable, capturable (bool): must be False (see `torch_flags`).

    Example::

        optimizer = optim.ASGD(model.parameters(), lr=1e-2, t0=100)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not weight_decay >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "lambd": lambd,
            "alpha": alpha,
            "t0": t0,
            "weight_decay": weight_decay,
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
        lr, lambd = float(group["lr"]), float(group["lambd"])
        if not state:
            state["step"] = 0
            state["eta"] = state_scalar(lr)  # torch keeps η and μ as 0-d float32 tensors
            state["mu"] = 1.0
            state["ax"] = np.zeros_like(param)
        state["step"] = step = int(state["step"]) + 1
        g = -grad if group["maximize"] else grad
        if group["weight_decay"] != 0:
            g = g + float(group["weight_decay"]) * param
        eta, mu = float(state["eta"]), float(state["mu"])
        param *= 1 - lambd * eta  # the decay term
        param -= eta * g
        ax = state["ax"]
        if mu != 1:
            ax += (param - ax) * mu
        else:
            ax[...] = param
        state["eta"] = state_scalar(lr / ((1 + lambd * lr * step) ** float(group["alpha"])))
        state["mu"] = state_scalar(1 / max(1, step - float(group["t0"])))
