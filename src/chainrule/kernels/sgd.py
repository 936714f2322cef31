"""Plain SGD's update θ ← θ - γ·g in one pass over a parameter.

NumPy makes it two calls (the product γ·g, into a temporary, then the difference), each a
pass over memory and a call's overhead; for the many small parameters of a deep narrow
network the calls are most of the update's time. The compiled loop makes one pass and one
call, with the same numbers bit for bit: γ rounded to the parameter's dtype first (as
NumPy does with a Python float), the product rounded, then the difference (no fused
multiply-add). `SGD.step` and the captured program (`chainrule.capture.update`) call it;
NumPy runs when numba is off or the arrays are not C-contiguous arrays of one float dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.kernels import compiled, numba_enabled

__all__ = ["sgd_fits", "sgd_loop", "sgd_plain"]


def _sgd_loop(param: Any, grad: Any, lr: float) -> None:
    rate = param.dtype.type(lr)
    flat, flat_grad = param.reshape(param.size), grad.reshape(grad.size)
    for i in range(flat.size):
        flat[i] -= rate * flat_grad[i]


sgd_loop = compiled(_sgd_loop)


def sgd_fits(param: np.ndarray, grad: np.ndarray) -> bool:
    """Whether `sgd_loop` takes this pair: numba on, one float dtype and shape, both
    C-contiguous ndarrays."""
    return (
        numba_enabled()
        and type(param) is np.ndarray
        and type(grad) is np.ndarray
        and (param.dtype == np.float32 or param.dtype == np.float64)
        and grad.dtype == param.dtype
        and grad.shape == param.shape
        and param.flags.c_contiguous
        and grad.flags.c_contiguous
    )


def sgd_plain(param: np.ndarray, grad: np.ndarray, lr: float, scratch: Any = None) -> None:
    """θ ← θ - lr·g in place. `scratch` (param's shape and dtype), when given, takes the
    product on the NumPy path instead of a new array."""
    if sgd_fits(param, grad) and type(lr) is float:
        sgd_loop(param, grad, lr)
    elif scratch is None:
        param -= lr * grad
    else:
        param -= np.multiply(grad, lr, out=scratch)
