"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.optim.optimizer import Optimizer, ParamsT, torch_flags

__all__ = ["RMSprop", "rmsprop_update"]


def rmsprop_update(
    param: np.ndarray,
    grad: np.ndarray,
    square_avg: np.ndarray,
    grad_avg: np.ndarray | None,
    momentum_buffer: np.ndarray | None,
    *,
    lr: float,
    alpha: float,
    eps: float,
    weight_decay: float,
    momentum: float,
    centered: bool,
    maximize: bool,
) -> None:
    """One RMSprop step: updates ``param`` and the running averages in place.

    ``grad_avg`` is needed with ``centered``, ``momentum_buffer`` with ``momentum > 0``.
    ``grad`` is only read.
    """
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * param

    square_avg *= alpha  # v_t = α·v_{t-1} + (1 - α)·g_t²
    square_avg += (1 - alpha) * np.square(g)
    if centered:
        assert grad_avg is not None
        grad_avg *= alpha  # g^ave_t = α·g^ave_{t-1} + (1 - α)·g_t
        grad_avg += (1 - alpha) * g
        avg = square_avg - np.square(grad_avg)  # the variance v_t - (g^ave_t)²...
        np.maximum(avg, 0, out=avg)  # ...is never negative, but rounding can say otherwise
        np.sqrt(avg, out=avg)
    else:
        avg = np.sqrt(square_avg)
    avg += eps

    if momentum > 0:
        assert momentum_buffer is not None
        momentum_buffer *= momentum  # b_t = μ·b_{t-1} + g_t / (√v_t + ε)
        momentum_buffer += g / avg
        param -= lr * momentum_buffer  # θ_t = θ_{t-1} - γ·b_t
    else:
        np.divide(g, avg, out=avg)
        avg *= lr
        param -= avg  # θ_t = θ_{t-1} - γ·g_t / (√v_t + ε)


class RMSprop(Optimizer):
    """RMSprop: scale each coordinate's step by a running RMS of its gradients.

    With learning rate γ, smoothing constant α, epsilon ε, weight decay λ and momentum μ,
    each step does::

        g_t = ∇f(θ_{t-1})                      (g_t = -∇f(θ_{t-1}) if maximize)
        g_t = g_t + λ·θ_{t-1}                  if λ ≠ 0
        v_t = α·v_{t-1} + (1 - α)·g_t²         (v_0 = 0)
        if centered:                           (divide by a running std, not an RMS)
            g^ave_t = α·g^ave_{t-1} + (1 - α)·g_t
            ṽ_t = v_t - (g^ave_t)²
        else:
            ṽ_t = v_t
        if μ > 0:
            b_t = μ·b_{t-1} + g_t / (√ṽ_t + ε)
            θ_t = θ_{t-1} - γ·b_t
        else:
            θ_t = θ_{t-1} - γ·g_t / (√ṽ_t + ε)

    Proposed by G. Hinton in his Coursera lecture 6.5; the centered version is from
    "Generating Sequences With Recurrent Neural Networks" (Graves, 2013).

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float): learning rate γ (default: 1e-2).
        alpha (float): smoothing constant α (default: 0.99).
        eps (float): ε added to the denominator for numerical stability (default: 1e-8).
        weight_decay (float): weight decay λ, an L2 penalty (default: 0).
        momentum (float): momentum factor μ (default: 0).
        centered (bool): normalize by an estimate of the gradient's variance (default: False).
        maximize (bool): maximize the objective instead of minimizing it (default: False).
        foreach (bool, optional): torch's implementation switches, accepted; the
            numbers are the same either way.
        capturable, differentiable (bool): must be False (CUDA graphs, and steps recorded
            in the graph, are not supported; see `torch_flags`).

    Example::

        optimizer = optim.RMSprop(model.parameters(), lr=1e-3)
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not eps >= 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not momentum >= 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not weight_decay >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not alpha >= 0.0:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
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
        momentum = float(group["momentum"])
        centered = bool(group["centered"])
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(param)
        if momentum > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = np.zeros_like(param)
        if centered and "grad_avg" not in state:
            state["grad_avg"] = np.zeros_like(param)
        state["step"] = int(state["step"]) + 1
        rmsprop_update(
            param,
            grad,
            state["square_avg"],
            state.get("grad_avg"),
            state.get("momentum_buffer"),
            lr=float(group["lr"]),
            alpha=float(group["alpha"]),
            eps=float(group["eps"]),
            weight_decay=float(group["weight_decay"]),
            momentum=momentum,
            centered=centered,
            maximize=bool(group["maximize"]),
        )
