"""Two kernels as one call, for a captured program (`chainrule.capture.program`): a
Linear layer on a batch of rows and the activation after it; and the cross-entropy's
forward and backward (`ops.loss.cross_entropy_forward_backward`, `LOSS`).

    linear_relu_forward:    relu_forward(linear_forward(x, W, b))       A = max(x Wᵀ + b, 0)
    <act>_bias_backward:    <act>_backward(G, y), then linear_backward's db = Σ_rows R

Each is the composition of the ops' own kernels (`chainrule.ops.linalg`,
`chainrule.ops.elementwise`) with the same arithmetic: with numba, the bias add and max, or
the activation's backward and the bias sum, run as one compiled loop
(`chainrule.kernels.bias_activation`), the same numbers bit for bit; otherwise, or for
arrays the loop does not take, the two kernels are called one after the other. The eager
engine runs the two ops as two nodes (its graph has no notion of the next op), so it calls
the two kernels; the program calls these only while those kernels are the library's own
(`intact`: a patched kernel, in a test or an experiment, is called as it is).
"""

from __future__ import annotations

import numpy as np

from chainrule.kernels import activations, bias_activation
from chainrule.kernels.bias import column_sum
from chainrule.ops import elementwise, linalg, loss

__all__ = [
    "BACKWARD",
    "FORWARD",
    "intact",
    "linear_relu_forward",
    "relu_bias_backward",
    "sigmoid_bias_backward",
    "tanh_bias_backward",
]


def linear_relu_forward(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray, out: np.ndarray, into: np.ndarray,
    short: bool | None = None,
) -> np.ndarray:  # fmt: skip
    """max(x Wᵀ + b, 0): x (N, in), W (out, in), b (out,) -> (N, out) into `into`.

    `out` takes the product (laid out as `linalg.linear_forward` gives it; with numba it
    holds x Wᵀ without b, else x Wᵀ + b); `short` as there. The result is `into`."""
    if bias_activation.forward_fits(out, bias, into):
        h = linalg.linear_forward(x, weight, None, out, short)
        bias_activation.bias_relu_loop(h, bias, into)
        return into
    return elementwise.relu_forward(linalg.linear_forward(x, weight, bias, out, short), into)


def linear_sigmoid_forward(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray, out: np.ndarray, into: np.ndarray,
    e: np.ndarray, d: np.ndarray, mask: np.ndarray, short: bool | None = None,
) -> np.ndarray:  # fmt: skip
    """σ(x Wᵀ + b) into `into`: `sigmoid_forward(linear_forward(x, W, b, out, short), into,
    e, d, mask)`. With numba the bias add and -|·| are one pass (out ends as x Wᵀ + b, as
    unfused), then NumPy's exp and the sigmoid's finish loop; e, d, mask: its scratch."""
    if bias_activation.forward_fits(out, bias, into) and activations.fits(out, into, e):
        h = linalg.linear_forward(x, weight, None, out, short)
        rows = h.T if h.flags.f_contiguous and not h.flags.c_contiguous else h  # in order
        power, result = (e.T, into.T) if rows is not h else (e, into)
        bias_activation.bias_sigmoid_argument_loop(h, bias, e)  # walks h's layout itself
        np.exp(e, e)
        activations.sigmoid_finish_loop(rows, power, result)
        return into
    h = linalg.linear_forward(x, weight, bias, out, short)
    return elementwise.sigmoid_forward(h, into, e, d, mask)


# Each backward below tests and calls the loop itself (no shared helper: a Python call per
# step and layer is a sizeable part of a small layer's backward).


def relu_bias_backward(
    grad: np.ndarray, out: np.ndarray, into: np.ndarray, mask: np.ndarray, db: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """R = `elementwise.relu_backward`(G, y) into `into` (`mask` its NumPy scratch), and
    db = Σ_rows R into `db` (the bias gradient of the Linear below, as
    `linalg.linear_backward` sums it). Returns (R, db)."""
    if bias_activation.backward_fits(grad, out, into, db):
        bias_activation.relu_bias_loop(grad, out, into, db)  # over into's layout
        return into, db
    result = elementwise.relu_backward(grad, out, into, mask)
    return result, column_sum(result, db)


def tanh_bias_backward(
    grad: np.ndarray, out: np.ndarray, into: np.ndarray, db: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """R = `elementwise.tanh_backward`(G, y) into `into`, db = Σ_rows R. Returns (R, db)."""
    if bias_activation.backward_fits(grad, out, into, db):
        bias_activation.tanh_bias_loop(grad, out, into, db)
        return into, db
    result = elementwise.tanh_backward(grad, out, into)
    return result, column_sum(result, db)


def sigmoid_bias_backward(
    grad: np.ndarray, out: np.ndarray, into: np.ndarray, one_minus: np.ndarray,
    db: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """R = `elementwise.sigmoid_backward`(G, y) into `into` (`one_minus` its NumPy
    scratch), db = Σ_rows R. Returns (R, db)."""
    if bias_activation.backward_fits(grad, out, into, db):
        bias_activation.sigmoid_bias_loop(grad, out, into, db)
        return into, db
    result = elementwise.sigmoid_backward(grad, out, into, one_minus)
    return result, column_sum(result, db)


# activation kernel prefix -> the fused function and the kernels it composes
FORWARD = {
    "relu": (linear_relu_forward, ("linear_forward", "relu_forward")),
    "sigmoid": (linear_sigmoid_forward, ("linear_forward", "sigmoid_forward")),
}
BACKWARD = {
    "relu": (relu_bias_backward, ("relu_backward", "linear_backward")),
    "tanh": (tanh_bias_backward, ("tanh_backward", "linear_backward")),
    "sigmoid": (sigmoid_bias_backward, ("sigmoid_backward", "linear_backward")),
}
# the loss's two kernels as one call (ops.loss: the scale is known before the loss)
LOSS = (loss.cross_entropy_forward_backward, ("cross_entropy_forward", "cross_entropy_backward"))
_MODULES = {
    "linear_forward": linalg,
    "linear_backward": linalg,
    "cross_entropy_forward": loss,
    "cross_entropy_backward": loss,
}
_OWN = {
    name: getattr(_MODULES.get(name, elementwise), name)
    for _, names in (*FORWARD.values(), *BACKWARD.values(), LOSS)
    for name in names
}


def intact(names: tuple[str, ...]) -> bool:
    """Whether the kernels of these names are still the library's own (not patched)."""
    return all(getattr(_MODULES.get(name, elementwise), name) is _OWN[name] for name in names)
