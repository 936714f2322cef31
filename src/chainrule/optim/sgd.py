"""Stochastic gradient descent, optionally with momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.autograd import bump_versions
from chainrule.kernels import FLOAT_DTYPES, numba_enabled
from chainrule.kernels import sgd as sgd_kernels
from chainrule.kernels.axpy import AXPY_MIN
from chainrule.kernels.sgd import sgd_step
from chainrule.optim.optimizer import SCRATCH_MIN, Optimizer, ParamsT, torch_flags
from chainrule.types import Closure

if TYPE_CHECKING:
    from chainrule.tensor import Tensor

__all__ = ["SGD", "sgd_update"]


def sgd_update(
    param: np.ndarray,
    grad: np.ndarray,
    buf: np.ndarray | None,
    *,
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
    scratch: np.ndarray | None = None,
    spare: np.ndarray | None = None,
) -> np.ndarray | None:
    """One SGD step on ``param`` (in place); returns the momentum buffer (None without one).

    ``buf`` is the previous momentum buffer, or None at the first step (it then starts as
    the gradient itself and is returned; later steps update it in place). ``grad`` is only
    read. ``scratch`` and ``spare`` (param's shape and dtype, or None for new arrays) take
    the NumPy path's temporaries. The update itself is `chainrule.kernels.sgd.sgd_step`
    (one compiled pass with numba, NumPy ufuncs without: the same numbers), which a
    captured program calls too.
    """
    if scratch is None:
        scratch = np.empty_like(param)
    if spare is None and (maximize or weight_decay != 0):
        spare = np.empty_like(param)
    return sgd_step(param, grad, buf, scratch, spare, lr, momentum, dampening, weight_decay,
                    nesterov, maximize)  # fmt: skip


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum).

    With learning rate γ, momentum μ, dampening τ and weight decay λ, each step does::

        g_t = ∇f(θ_{t-1})                      (g_t = -∇f(θ_{t-1}) if maximize)
        g_t = g_t + λ·θ_{t-1}                  if λ ≠ 0
        if μ ≠ 0:
            b_t = μ·b_{t-1} + (1 - τ)·g_t      (b_1 = g_1)
            g_t = g_t + μ·b_t                  if nesterov
            g_t = b_t                          otherwise
        θ_t = θ_{t-1} - γ·g_t

    As in PyTorch, the buffer starts as the first gradient (so dampening only applies from
    the second step), and the learning rate multiplies the velocity rather than being folded
    into it (``v = μ·v + g; θ = θ - γ·v``, not Sutskever's ``v = μ·v + γ·g; θ = θ - v``).
    Each "+ α·x" is one fused multiply-add, rounded once, as torch.optim.SGD rounds it on
    a CPU: the steps are PyTorch's bit for bit in float32 and float64
    (`chainrule.kernels.sgd`).

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float): learning rate γ (default: 1e-3).
        momentum (float): momentum factor μ (default: 0).
        dampening (float): dampening τ for momentum (default: 0).
        weight_decay (float): weight decay λ, an L2 penalty (default: 0).
        nesterov (bool): use Nesterov momentum; needs μ > 0 and τ = 0 (default: False).
        maximize (bool): maximize the objective instead of minimizing it (default: False).
        foreach, fused (bool, optional): torch's implementation switches, accepted; the
            numbers are the same either way.
        differentiable (bool): must be False (steps are not recorded in the graph).

    Example::

        optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            **torch_flags(
                "foreach differentiable fused",
                foreach=foreach,
                differentiable=differentiable,
                fused=fused,
            ),
        }
        super().__init__(params, defaults)

    def step(self, closure: Closure | None = None) -> Tensor | None:
        """One step; plain SGD groups (no momentum, weight decay or maximize) take a short
        loop, θ ← θ - γ·g per parameter, since small networks spend much of a step here.

        Per parameter the loop asks only what can change between steps (the gradient's
        array, type, dtype and shape; the parameter's array, which a user may replace);
        numba and the group's lr are asked once. Anything unusual (a gradient of another
        dtype or shape, a non-contiguous parameter, an lr that is no Python float) goes
        to `_plain_update`, the checked path. The versions go up at the end, one stamp
        for all (`bump_versions`: the same counts, and no node is made in between)."""
        if closure is not None or not self.plain():
            return super().step(closure)
        compiled = numba_enabled()
        changed: list[Tensor] = []
        try:
            for group in self.param_groups:
                lr = group["lr"]
                loop = compiled and type(lr) is float  # sgd_loop rounds a float to the dtype
                run = sgd_kernels.sgd_loop
                for p in group["params"]:
                    gradient = p.grad
                    if gradient is None:
                        continue
                    data, grad = p._data, gradient._data
                    if (  # sgd_takes(data), inline: a call costs as much as the tests
                        loop
                        and type(grad) is np.ndarray
                        and grad.dtype is data.dtype
                        and grad.shape == data.shape
                        and type(data) is np.ndarray
                        and data.dtype in FLOAT_DTYPES
                        and data.flags.c_contiguous
                        and data.size < AXPY_MIN  # from there on, BLAS's axpy (sgd_plain)
                    ):
                        run(data, grad, lr)  # one compiled pass: numba's dispatcher, no wrapper
                    else:
                        self._plain_update(data, self._gradient_of(p), lr)
                    changed.append(p)
        finally:  # after an error too: what was updated was changed in place
            bump_versions(changed)
        return None

    def _plain_update(self, data: np.ndarray, grad: np.ndarray, lr: Any) -> None:
        """θ ← θ - γ·g, rounded once, for a gradient already checked and cast
        (`_gradient_of`); a dtype without an fma (float16) takes its product into kept
        memory from SCRATCH_MIN values on (13% faster on W1's weights than a new array)."""
        big = data.size >= SCRATCH_MIN and data.dtype not in FLOAT_DTYPES
        sgd_kernels.sgd_plain(data, grad, lr, self._scratch(data) if big else None)

    def plain(self) -> bool:
        """Whether every group is plain SGD, θ ← θ - γ·g (no momentum, weight decay or
        maximize): the update `step` and a captured step (chainrule.compile_step) write out."""
        for group in self.param_groups:
            if group["momentum"] or group["weight_decay"] or group["maximize"]:
                return False
        return True

    def _update_param(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        if not (group["momentum"] or group["weight_decay"] or group["maximize"]):
            sgd_kernels.sgd_plain(param, grad, group["lr"])  # θ ← θ - γ·g, rounded once
            return
        momentum, weight_decay = float(group["momentum"]), float(group["weight_decay"])
        maximize = bool(group["maximize"])
        buf = sgd_step(
            param,
            grad,
            state.get("momentum_buffer"),
            self._scratch(param),
            self._scratch(param, 1) if maximize or weight_decay != 0 else None,
            float(group["lr"]),
            momentum,
            float(group["dampening"]),
            weight_decay,
            bool(group["nesterov"]),
            maximize,
        )
        if momentum != 0:
            state["momentum_buffer"] = buf
