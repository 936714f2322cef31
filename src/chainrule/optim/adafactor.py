"""Adafactor: Adam-like steps whose second moment of a matrix is stored as a row and a column."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule.optim.optimizer import Optimizer, ParamsT, as_plain, torch_flags

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    """Adafactor: a factored running average of g², a relative step size and update clipping.

    With learning rate γ, decay exponent c (beta2_decay), eps (ε1, ε2), clipping
    threshold d and weight decay λ, each step t does::

        g_t = ∇f(θ_{t-1})                      (g_t = -∇f(θ_{t-1}) if maximize)
        β̂_t = t^c                             (1 - β2 at step t: the average forgets slower)
        ρ_t = min(γ, 1/√t)
        α_t = max(ε2, RMS(θ_{t-1}))·ρ_t        (RMS(x) = ‖x‖₂ / √numel: a relative step)
        θ_{t-1} = θ_{t-1}·(1 - γ·λ)
        for a matrix (the last two dims, rows R and columns C):
            r_t = (1 - β̂_t)·r_{t-1} + β̂_t·mean_cols(g_t²)    (row_var, shape (…, R, 1))
            c_t = (1 - β̂_t)·c_{t-1} + β̂_t·mean_rows(g_t²)    (col_var, shape (…, 1, C))
            v̂_t = r_t·c_t / max(mean_rows(r_t), ε1)         (a rank-1 estimate of E[g²])
        for a vector:
            v̂_t = (1 - β̂_t)·v̂_{t-1} + β̂_t·g_t²             (variance)
        u_t = g_t / √max(v̂_t, ε1²)
        θ_t = θ_{t-1} - α_t / max(1, RMS(u_t)/d) · u_t

    Memory for the second moment of an R x C matrix is R + C numbers instead of R·C ("Adafactor:
    Adaptive Learning Rates with Sublinear Memory Cost", Shazeer and Stern, 2018; without
    first moment, as torch.optim.Adafactor). ε1 = None means the parameter dtype's machine
    epsilon.

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float): learning rate γ, the cap of ρ_t (default: 1e-2).
        beta2_decay (float): the exponent c ≤ 0 (default: -0.8).
        eps (tuple[float | None, float]): (ε1, ε2) (default: (None, 1e-3)).
        d (float): clipping threshold of RMS(u) (default: 1.0).
        weight_decay (float): decoupled weight decay λ (default: 0).
        foreach (bool, optional): accepted; the numbers are the same either way.
        maximize (bool): maximize the objective instead of minimizing it (default: False).

    Example::

        optimizer = optim.Adafactor(model.parameters(), lr=1e-2)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not beta2_decay <= 0.0:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not eps[0] >= 0.0:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not eps[1] >= 0.0:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not d >= 1.0:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not weight_decay >= 0.0:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = {
            "lr": lr,
            "beta2_decay": beta2_decay,
            "eps": eps,
            "d": d,
            "weight_decay": weight_decay,
            **torch_flags("foreach", foreach=foreach),
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _update_param(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        matrix = param.ndim > 1
        if not state:
            state["step"] = 0
            if matrix:
                state["row_var"] = np.zeros((*param.shape[:-1], 1), param.dtype)
                state["col_var"] = np.zeros((*param.shape[:-2], 1, param.shape[-1]), param.dtype)
            else:
                state["variance"] = np.zeros_like(param)
        state["step"] = step = int(state["step"]) + 1
        lr, weight_decay = float(group["lr"]), float(group["weight_decay"])
        eps1, eps2 = group["eps"]
        eps1 = float(np.finfo(param.dtype).eps) if eps1 is None else float(eps1)
        g = -grad if group["maximize"] else grad

        one_minus_beta2 = float(step) ** float(group["beta2_decay"])
        rho = min(lr, 1 / math.sqrt(step))
        rms_param = float(np.linalg.norm(param.reshape(-1))) / math.sqrt(param.size)
        alpha = max(float(eps2), rms_param) * rho
        if weight_decay != 0:
            param *= 1 - lr * weight_decay

        if matrix:
            row_var, col_var = state["row_var"], state["col_var"]
            row_var += (np.mean(g * g, axis=-1, keepdims=True) - row_var) * one_minus_beta2
            col_var += (np.mean(g * g, axis=-2, keepdims=True) - col_var) * one_minus_beta2
            estimate = row_var @ col_var
            estimate /= np.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
        else:
            variance = state["variance"]
            variance += (g * g - variance) * one_minus_beta2
            estimate = variance.copy()
        update = 1 / np.sqrt(np.maximum(estimate, eps1 * eps1))
        update *= g
        rms_update = float(np.linalg.norm(update.reshape(-1))) / math.sqrt(update.size)
        denom = max(1.0, rms_update / float(group["d"]))
        param -= (alpha / denom) * update

    def _load_state_value(self, param: np.ndarray, key: str, value: Any) -> Any:
        """The factored moments have their own shapes (…, R, 1) and (…, 1, C)."""
        value = as_plain(value)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            return value.astype(param.dtype, copy=False)
        return value
