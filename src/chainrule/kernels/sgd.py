"""SGD's update in one pass over a parameter: plain SGD (θ ← θ - γ·g, `sgd_plain`), and
the full rule with momentum, dampening, Nesterov, weight decay or maximize (`sgd_step`).
Compiled by numba when it is on, NumPy ufuncs otherwise; the same numbers bit for bit, and
PyTorch's: every "x + α·y" of the rule is one fused multiply-add, rounded once, as
torch.optim.SGD's ``add(..., alpha=α)`` is on a CPU (`chainrule.kernels.fma`).

Plain SGD: θ + (-γ)·g rounded once, γ rounded to the parameter's dtype first (as torch
rounds ``alpha``). The compiled loop makes one pass and one call (LLVM's fma, vectorised);
the NumPy twin (`chainrule.kernels.fma.fma_numpy`) gives the single rounding through
OpenBLAS's ``axpy`` (one call) where a probe at first use found it bitwise the fma, else
by emulation in float64 passes; a large parameter takes that axpy with numba on too
(`chainrule.kernels.axpy`: shared between OpenBLAS's threads).

The full rule, per coordinate (γ lr, μ momentum, τ dampening, λ weight decay), as
torch.optim.SGD writes it::

    g = -∇ if maximize else ∇
    g = fma(λ, θ, g)                   λ ≠ 0              (grad.add(param, alpha=λ))
    b = g  at the first step,  else  b = fma(1 - τ, g, b·μ)   (b·μ, then add_(g, alpha))
    g = fma(μ, b, g)  if nesterov,  else  g = b           (μ ≠ 0)
    θ = fma(-γ, g, θ)                                     (param.add_(g, alpha=-lr))

each operation rounded in the parameter's dtype, in this order, by both paths (the compiled
loop without fastmath: bitwise the NumPy twin's and torch's, tested). A product by 1 (τ = 0)
is exact, so that fma is the plain sum. Other float dtypes (float16) take NumPy's ufuncs
with the product rounded on its own (no fma emulation there).

`SGD.step` and the captured program (`chainrule.capture.update`) call these; NumPy runs
when numba is off or the arrays are not C-contiguous arrays of one float dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.kernels import (
    FLOAT_DTYPES,
    compile_on_first_call,
    compiled,
    contiguous_like,
    fusable,
    numba_enabled,
)
from chainrule.kernels import fma as fma_kernels
from chainrule.kernels.axpy import AXPY_MIN, axpy
from chainrule.kernels.fma import fma_numpy

__all__ = ["sgd_fits", "sgd_loop", "sgd_numpy", "sgd_plain", "sgd_step", "sgd_takes"]


def _sgd_loop(param: Any, grad: Any, lr: float) -> None:
    """param ← param + (-lr)·grad rounded once: param C-contiguous, grad of its shape and
    dtype (any layout)."""
    fused = fma_kernels.fused
    rate = -param.dtype.type(lr)
    flat, flat_grad = param.reshape(param.size), grad.ravel()  # ravel: C order, as reshape
    for i in range(flat.size):
        flat[i] = fused(flat_grad[i], rate, flat[i])


# a stand-in that puts numba's dispatcher in its place on its first call: callers that look
# it up in this module at each call (optim.SGD.step: six calls a step on W3) skip a wrapper
sgd_loop = compile_on_first_call(globals(), "sgd_loop", _sgd_loop, fma_kernels.prepare)


def sgd_takes(param: Any) -> bool:
    """Whether `sgd_loop` takes this parameter (with a gradient of its shape and dtype),
    numba aside: a C-contiguous float32/float64 ndarray."""
    return type(param) is np.ndarray and param.dtype in FLOAT_DTYPES and param.flags.c_contiguous


def sgd_fits(param: np.ndarray, grad: np.ndarray) -> bool:
    """Whether `sgd_loop` takes this pair: numba on, one float dtype and shape, ndarrays,
    the parameter C-contiguous."""
    return (
        numba_enabled()
        and type(param) is np.ndarray
        and type(grad) is np.ndarray
        and param.dtype in FLOAT_DTYPES
        and grad.dtype == param.dtype
        and grad.shape == param.shape
        and param.flags.c_contiguous
    )


def sgd_plain(param: np.ndarray, grad: np.ndarray, lr: Any, scratch: Any = None) -> None:
    """θ ← θ + (-lr)·g in place, rounded once (torch's ``param.add_(grad, alpha=-lr)``).
    `scratch` (param's shape and dtype), when given, takes the product for a dtype other
    than float32/float64 instead of a new array.

    From `AXPY_MIN` values on (the captured W1/W2 flat pass, W1's first weight) a verified
    OpenBLAS axpy does it (`chainrule.kernels.axpy`): its threads are still spinning after
    the step's products and update each core's half where it sits in that core's cache
    (kernels.halves's helper, woken for the pass, was measured slower in every record:
    W2 205-481 µs shared against 145-165 serial; docs/speed.md). Below, numba's loop, one
    thread; without numba, `fma_numpy`."""
    if param.size >= AXPY_MIN and type(lr) is float and axpy(-lr, grad, param):
        return  # OpenBLAS's threads, warm from the products (kernels.axpy)
    if sgd_fits(param, grad) and type(lr) is float:
        sgd_loop(param, grad, lr)
    elif param.dtype in FLOAT_DTYPES:
        fma_numpy(grad, param.dtype.type(-float(lr)), param, param)
    elif scratch is None:
        param -= lr * grad
    else:
        param -= np.multiply(grad, lr, out=scratch)


def sgd_numpy(
    param: np.ndarray,
    grad: np.ndarray,
    buf: np.ndarray | None,
    scratch: np.ndarray,
    spare: np.ndarray | None,
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
) -> np.ndarray | None:
    """The update as NumPy ufuncs, in place; temporaries into ``scratch`` and ``spare``
    (param's shape and dtype; ``spare`` needed with maximize or weight decay). Returns the
    momentum buffer: ``buf`` updated, a new one at the first step (``buf`` None), or None
    without momentum."""
    kind = param.dtype.type
    exact = param.dtype in FLOAT_DTYPES  # fma_numpy's dtypes; others round products alone

    def add_scaled(x: np.ndarray, scale: float, y: np.ndarray, out: np.ndarray) -> np.ndarray:
        """out ← y + scale·x: one rounding (torch's ``y.add(x, alpha=scale)``)."""
        if exact:
            return fma_numpy(x, kind(scale), y, out)
        return np.add(y, np.multiply(x, scale, out=s), out=out)

    s, g = scratch, grad
    if maximize:
        assert spare is not None
        g = np.negative(grad, out=spare)
    if weight_decay != 0:
        assert spare is not None
        g = add_scaled(param, weight_decay, g, spare)  # g + λ·θ
    if momentum != 0:
        if buf is None:
            buf = g.copy()  # b_1 = g_1
        else:
            buf *= momentum
            if dampening == 0:
                buf += g  # a product by 1 is exact: the fma is the sum
            else:
                add_scaled(g, 1 - dampening, buf, buf)
        g = add_scaled(buf, momentum, g, s) if nesterov else buf
    add_scaled(g, -lr, param, param)  # θ + (-γ)·g
    return buf


def _sgd_momentum_loop(
    param: np.ndarray,
    grad: np.ndarray,
    buf: np.ndarray,
    lr: float,
    momentum: float,
    keep: float,
    weight_decay: float,
    flags: int,
) -> None:
    """The compiled loop over flat arrays, scalars in their dtype. flags: 1 maximize,
    2 weight decay, 4 momentum, 8 first step (b = g), 16 dampening, 32 Nesterov."""
    maximize, decays, moves, first = flags & 1, flags & 2, flags & 4, flags & 8
    damps, nesterov = flags & 16, flags & 32
    fused = fma_kernels.fused
    rate = -lr
    for i in range(param.shape[0]):
        g = grad[i]
        p = param[i]
        if maximize:
            g = -g
        if decays:
            g = fused(weight_decay, p, g)
        if moves:
            if first:
                b = g
            elif damps:
                b = fused(keep, g, buf[i] * momentum)
            else:
                b = buf[i] * momentum + g
            buf[i] = b
            g = fused(momentum, b, g) if nesterov else b
        param[i] = fused(g, rate, p)


# error_model="numpy": no Python division check; none here, but the same options as Adam's
_sgd_fused = compiled(_sgd_momentum_loop, fma_kernels.prepare, error_model="numpy")


def sgd_step(
    param: np.ndarray,
    grad: np.ndarray,
    buf: np.ndarray | None,
    scratch: np.ndarray,
    spare: np.ndarray | None,
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
) -> np.ndarray | None:
    """One SGD step on ``param`` in place, returning the momentum buffer (see `sgd_numpy`):
    the compiled loop when numba is on and the arrays allow it (float32/float64,
    contiguous), else `sgd_numpy`. The eager optimizer (chainrule.optim.sgd) and the
    captured program (chainrule.capture.update) both call this."""
    if not (numba_enabled() and fusable(param, buf)):
        return sgd_numpy(param, grad, buf, scratch, spare, lr, momentum, dampening,
                         weight_decay, nesterov, maximize)  # fmt: skip
    kind = param.dtype.type
    grad = contiguous_like(grad, param)
    first = momentum != 0 and buf is None
    if first:
        buf = np.empty_like(param)
    flags = (
        bool(maximize)
        | (weight_decay != 0) << 1
        | (momentum != 0) << 2
        | first << 3
        | (dampening != 0) << 4
        | bool(nesterov) << 5
    )
    _sgd_fused(
        param.reshape(-1),
        grad.reshape(-1),
        (param if buf is None else buf).reshape(-1),  # untouched without momentum
        kind(lr),
        kind(momentum),
        kind(1 - dampening),
        kind(weight_decay),
        int(flags),
    )
    return buf
