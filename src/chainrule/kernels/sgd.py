"""SGD's update in one pass over a parameter: plain SGD (θ ← θ - γ·g, `sgd_plain`), and
the full rule with momentum, dampening, Nesterov, weight decay or maximize (`sgd_step`).
Compiled by numba when it is on, NumPy ufuncs otherwise; the same numbers bit for bit.

Plain SGD: NumPy makes it two calls (the product γ·g, into a temporary, then the
difference), each a pass over memory and a call's overhead; for the many small parameters
of a deep narrow network the calls are most of the update's time. The compiled loop makes
one pass and one call: γ rounded to the parameter's dtype first (as NumPy does with a
Python float), the product rounded, then the difference (no fused multiply-add).

The full rule, per coordinate (γ lr, μ momentum, τ dampening, λ weight decay)::

    g = -∇ if maximize else ∇
    g = g + λ·θ                        λ ≠ 0
    b = g  at the first step,  else  b = b·μ + g·(1 - τ)   (b·μ + g when τ = 0)
    g = g + μ·b  if nesterov,  else  g = b                 (μ ≠ 0)
    θ = θ - g·γ

each operation rounded in the parameter's dtype, in this order, by both paths (the compiled
loop without fastmath: bitwise the NumPy twin's, tested). Passes for momentum SGD: NumPy 4
(b: 2, the step: 2), Nesterov 6, weight decay 2 more, maximize 1; compiled 1.

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

__all__ = ["sgd_fits", "sgd_loop", "sgd_numpy", "sgd_plain", "sgd_step", "sgd_takes"]


def _sgd_loop(param: Any, grad: Any, lr: float) -> None:
    """param -= lr · grad: param C-contiguous, grad of its shape and dtype (any layout)."""
    rate = param.dtype.type(lr)
    flat, flat_grad = param.reshape(param.size), grad.ravel()  # ravel: C order, as reshape
    for i in range(flat.size):
        flat[i] -= rate * flat_grad[i]


# a stand-in that puts numba's dispatcher in its place on its first call: callers that look
# it up in this module at each call (optim.SGD.step: six calls a step on W3) skip a wrapper
sgd_loop = compile_on_first_call(globals(), "sgd_loop", _sgd_loop)


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


def sgd_plain(param: np.ndarray, grad: np.ndarray, lr: float, scratch: Any = None) -> None:
    """θ ← θ - lr·g in place. `scratch` (param's shape and dtype), when given, takes the
    product on the NumPy path instead of a new array.

    One thread: sharing the captured program's flat array (W1/W2: 235,146 values) with
    kernels.halves's helper was measured slower in every record (W2: 205-481 µs shared
    against 145-165 serial, W1 155-6584 against 127-222; docs/speed.md): the pass is
    ~150 µs of memory traffic, and waking the helper costs 30-90 µs of it."""
    if sgd_fits(param, grad) and type(lr) is float:
        sgd_loop(param, grad, lr)
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
    s, g = scratch, grad
    if maximize:
        assert spare is not None
        g = np.negative(grad, out=spare)
    if weight_decay != 0:
        assert spare is not None
        np.multiply(param, weight_decay, out=s)
        g = np.add(g, s, out=spare)  # g + λ·θ
    if momentum != 0:
        if buf is None:
            buf = g.copy()  # b_1 = g_1
        else:
            buf *= momentum
            if dampening == 0:
                buf += g
            else:
                buf += np.multiply(g, 1 - dampening, out=s)
        g = np.add(g, np.multiply(buf, momentum, out=s), out=s) if nesterov else buf
    param -= np.multiply(g, lr, out=s)
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
    for i in range(param.shape[0]):
        g = grad[i]
        p = param[i]
        if maximize:
            g = -g
        if decays:
            g = g + weight_decay * p
        if moves:
            if first:
                b = g
            elif damps:
                b = buf[i] * momentum + g * keep
            else:
                b = buf[i] * momentum + g
            buf[i] = b
            g = g + momentum * b if nesterov else b
        param[i] = p - g * lr


# error_model="numpy": no Python division check; none here, but the same options as Adam's
_sgd_fused = compiled(_sgd_momentum_loop, error_model="numpy")


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
