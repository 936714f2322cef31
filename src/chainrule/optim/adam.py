"""Adam and AdamW: per-coordinate step sizes from running moments of the gradient."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.kernels import numba_enabled
from chainrule.kernels.adam import adam_step
from chainrule.optim.adam_family import adam_family_defaults, next_step
from chainrule.optim.optimizer import Optimizer, ParamsT
from chainrule.types import StateDict

__all__ = ["Adam", "AdamW", "adam_update"]

_MOMENTS = ("exp_avg", "exp_avg_sq")


def adam_update(
    param: np.ndarray,
    grad: np.ndarray,
    exp_avg: np.ndarray,
    exp_avg_sq: np.ndarray,
    max_exp_avg_sq: np.ndarray | None,
    *,
    step: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    maximize: bool,
    decoupled_weight_decay: bool,
    scratch: np.ndarray | None = None,
    spare: np.ndarray | None = None,
) -> None:
    """One Adam (or AdamW) step: updates ``param`` and the moment buffers in place.

    ``step`` is t, counted from 1. ``max_exp_avg_sq`` is only used (and needed) with
    ``amsgrad``. ``grad`` is only read. ``scratch`` and ``spare`` (param's shape and dtype,
    or None for new arrays) take the NumPy path's temporaries. The update itself is
    `chainrule.kernels.adam.adam_step` (one compiled pass with numba, NumPy ufuncs into the
    scratch arrays without it: the same numbers), which a captured program calls too.
    """
    # adam_step makes the NumPy path's temporaries itself when scratch is None (the compiled
    # loop needs none)
    decoupled = decoupled_weight_decay
    adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, scratch, spare, step, lr,
              beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled)  # fmt: skip


class Adam(Optimizer):
    """Adam: gradient descent with momentum, scaled per coordinate by a running RMS.

    With learning rate γ, betas (β1, β2), epsilon ε and weight decay λ, each step does::

        g_t = ∇f(θ_{t-1})                      (g_t = -∇f(θ_{t-1}) if maximize)
        g_t = g_t + λ·θ_{t-1}                  if λ ≠ 0
        m_t = β1·m_{t-1} + (1 - β1)·g_t        (m_0 = 0: first moment)
        v_t = β2·v_{t-1} + (1 - β2)·g_t²       (v_0 = 0: second moment)
        m̂_t = m_t / (1 - β1^t)                 (bias corrections for the zero start)
        v_t^max = max(v_{t-1}^max, v_t)        if amsgrad, then v̂_t = v_t^max / (1 - β2^t)
        v̂_t = v_t / (1 - β2^t)                 otherwise
        θ_t = θ_{t-1} - γ·m̂_t / (√v̂_t + ε)

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float): learning rate γ (default: 1e-3).
        betas (tuple[float, float]): decay rates (β1, β2) of the running averages of the
            gradient and of its square (default: (0.9, 0.999)).
        eps (float): ε added to the denominator for numerical stability (default: 1e-8).
        weight_decay (float): weight decay λ, an L2 penalty (default: 0).
        amsgrad (bool): use the AMSGrad variant, from "On the Convergence of Adam and
            Beyond" (default: False).
        maximize (bool): maximize the objective instead of minimizing it (default: False).
        decoupled_weight_decay (bool): apply the decay to the weights directly, as AdamW
            does, instead of adding it to the gradient (default: False).
        foreach, fused (bool, optional): torch's implementation switches, accepted; the
            numbers are the same either way.
        capturable, differentiable (bool): must be False (CUDA graphs, and steps recorded
            in the graph, are not supported; see `torch_flags`).

    Example::

        optimizer = optim.Adam(model.parameters(), lr=1e-3)
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = adam_family_defaults(
            lr,
            betas,
            eps,
            weight_decay,
            {"amsgrad": amsgrad, "maximize": maximize},
            "foreach capturable differentiable fused",
            {"foreach": foreach, "capturable": capturable, "differentiable": differentiable,
             "fused": fused},
            {"decoupled_weight_decay": decoupled_weight_decay},
        )  # fmt: skip
        super().__init__(params, defaults)

    def _update_param(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        amsgrad = bool(group["amsgrad"])
        moments = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if amsgrad else _MOMENTS
        step = next_step(state, param, moments)
        beta1, beta2 = group["betas"]
        weight_decay = float(group["weight_decay"])
        decoupled = bool(group.get("decoupled_weight_decay", False))
        # the compiled loop needs no scratch (adam_step makes one in the rare case that
        # falls back to NumPy with numba on); the kept buffers serve the NumPy path
        numpy_path = not numba_enabled()
        adam_step(
            param,
            grad,
            state["exp_avg"],
            state["exp_avg_sq"],
            state.get("max_exp_avg_sq"),
            self._scratch(param) if numpy_path else None,
            self._scratch(param, 1) if numpy_path and weight_decay != 0 and not decoupled else None,
            step,
            float(group["lr"]),
            float(beta1),
            float(beta2),
            float(group["eps"]),
            weight_decay,
            amsgrad,
            bool(group["maximize"]),
            decoupled,
        )


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay, which never enters the moment estimates.

    With learning rate γ, betas (β1, β2), epsilon ε and weight decay λ, each step does::

        g_t = ∇f(θ_{t-1})                      (g_t = -∇f(θ_{t-1}) if maximize)
        θ_t = θ_{t-1} - γ·λ·θ_{t-1}            (decay the weights directly)
        m_t = β1·m_{t-1} + (1 - β1)·g_t
        v_t = β2·v_{t-1} + (1 - β2)·g_t²
        m̂_t = m_t / (1 - β1^t)
        v_t^max = max(v_{t-1}^max, v_t)        if amsgrad, then v̂_t = v_t^max / (1 - β2^t)
        v̂_t = v_t / (1 - β2^t)                 otherwise
        θ_t = θ_t - γ·m̂_t / (√v̂_t + ε)

    From "Decoupled Weight Decay Regularization": with Adam's L2 penalty, weights with large
    gradients get less decay, because the penalty is divided by √v̂ like the gradient is.

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float): learning rate γ (default: 1e-3).
        betas (tuple[float, float]): decay rates (β1, β2) of the running averages of the
            gradient and of its square (default: (0.9, 0.999)).
        eps (float): ε added to the denominator for numerical stability (default: 1e-8).
        weight_decay (float): weight decay coefficient λ (default: 1e-2).
        amsgrad (bool): use the AMSGrad variant (default: False).
        maximize (bool): maximize the objective instead of minimizing it (default: False).
        foreach, fused (bool, optional): torch's implementation switches, accepted; the
            numbers are the same either way.
        capturable, differentiable (bool): must be False (CUDA graphs, and steps recorded
            in the graph, are not supported; see `torch_flags`).

    Example::

        optimizer = optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )

    def load_state_dict(self, state_dict: StateDict) -> None:
        super().load_state_dict(state_dict)
        for group in self.param_groups:  # AdamW always decouples, whatever was saved
            group["decoupled_weight_decay"] = True
