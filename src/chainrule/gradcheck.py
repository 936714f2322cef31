"""Check autodiff against finite differences: the first test tier of every op.

For each input element xᵢ, the central difference (f(x + εeᵢ) - f(x - εeᵢ)) / 2ε
approximates ∂f/∂xᵢ with error O(ε²); in float64 with ε = 1e-6 it matches an exact
gradient to about 1e-8. A non-scalar output f is reduced to Σ f·r with a fixed random r,
which checks the whole vector-Jacobian product at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule import autograd
from chainrule.autograd import no_grad
from chainrule.tensor import Tensor
from chainrule.types import GradTensors


class GradcheckError(AssertionError):
    """Raised when autodiff and finite differences disagree."""


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[object],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """True when every input's gradient from backward matches central differences.

    Args:
        fn: maps the inputs to a Tensor.
        inputs: Tensors (those with requires_grad are checked; use float64 for accuracy)
            and any other arguments, passed through unchanged.
    Raises:
        GradcheckError naming the input, the worst element and both values (unless
        raise_exception=False, then returns False).
    """
    tensors = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    if not tensors:
        raise ValueError("gradcheck: no input requires grad")
    for x in tensors:
        if x.dtype != np.float64:
            raise ValueError(f"gradcheck: inputs should be float64 for accuracy, got {x.dtype}")
    out = fn(*inputs)
    projection = np.random.default_rng(0).standard_normal(out.shape)

    def scalar(value: Tensor) -> float:
        return float((value._data * projection).sum())

    for x in tensors:
        x.grad = None
    (out * Tensor._make(projection.astype(out.dtype), False)).sum().backward()
    for position, x in enumerate(tensors):
        analytic = np.zeros(x.shape) if x.grad is None else x.grad._data.astype(np.float64)
        numeric = np.zeros(x.shape)
        with no_grad():
            # a test tool: one element at a time, on purpose; indexing x._data itself (not a
            # reshaped view, which is a copy for Fortran-ordered data) so fn sees the change
            for i in np.ndindex(x.shape):
                original = x._data[i]
                x._data[i] = original + eps
                plus = scalar(fn(*inputs))
                x._data[i] = original - eps
                minus = scalar(fn(*inputs))
                x._data[i] = original
                numeric[i] = (plus - minus) / (2 * eps)
        error = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if error.size and error.max() > 0:
            worst = np.unravel_index(int(np.argmax(error)), x.shape)
            message = (
                f"gradcheck: gradient of input {position} (shape {x.shape}) is wrong at "
                f"{tuple(int(i) for i in worst)}: autodiff {analytic[worst]:.8g}, "
                f"finite differences {numeric[worst]:.8g}"
            )
            if raise_exception:
                raise GradcheckError(message)
            return False
    return True


def gradgradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[object],
    grad_outputs: GradTensors = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """True when second derivatives from create_graph=True match finite differences.

    The first derivatives u_k = d<r, fn(x)>/dx_k (r: grad_outputs, or fixed random values) are
    computed in the graph and projected onto fixed random s_k; gradcheck then compares
    d(Σ_k <s_k, u_k>)/dx, a Hessian-vector product, with central differences of it.
    """
    tensors = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    if not tensors:
        raise ValueError("gradgradcheck: no input requires grad")
    out = fn(*inputs)
    if grad_outputs is None:
        r = np.random.default_rng(1).standard_normal(out.shape).astype(out.dtype)
        grad_outputs = Tensor._make(r, False)
    rng = np.random.default_rng(2)
    weights = [Tensor._make(rng.standard_normal(x.shape), False) for x in tensors]

    def first_derivatives(*args: Any) -> Tensor:
        with autograd.enable_grad():  # gradcheck calls this under no_grad for its differences
            grads = autograd.grad(
                fn(*args), tensors, grad_outputs, create_graph=True, allow_unused=True
            )
        total: Any = Tensor._make(np.zeros((), np.float64), False)
        for g, s in zip(grads, weights, strict=True):
            if g is not None:
                total = total + (g * s).sum()
        if not total.requires_grad:
            # first derivatives computed outside the graph (a detached backward): their
            # autodiff derivative is 0, which the finite differences then contradict
            for x in tensors:
                total = total + (x * 0).sum()
        result: Tensor = total
        return result

    return gradcheck(first_derivatives, inputs, eps, atol, rtol, raise_exception)


# torch.autograd.gradcheck's spelling
autograd.register_implementation(gradcheck=gradcheck, gradgradcheck=gradgradcheck)
