"""Piecewise-linear activations of torch.nn.functional: threshold, hard and soft shrinkage,
PReLU (a learned slope) and RReLU (a random slope).

Each forward computes its masks from the array it is given (never from a constant taken at
recording time), so `compile_step` can replay them.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd import Function


class Threshold(Function):
    """y = x where x > threshold, else value: d/dx = 1 where x > threshold, else 0."""

    def forward(self, x: np.ndarray, threshold: float, value: float) -> np.ndarray:
        self.above = x > np.asarray(threshold, x.dtype)
        return np.where(self.above, x, np.asarray(value, x.dtype))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return np.where(self.above, grad, np.zeros((), grad.dtype))


class Hardshrink(Function):
    """y = x where |x| > λ, else 0: d/dx = 1 where |x| > λ, else 0."""

    def forward(self, x: np.ndarray, lambd: float) -> np.ndarray:
        self.kept = np.abs(x) > np.asarray(lambd, x.dtype)
        return np.where(self.kept, x, np.zeros((), x.dtype))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return np.where(self.kept, grad, np.zeros((), grad.dtype))


class Softshrink(Function):
    """y = x - λ·sign(x) where |x| > λ, else 0: d/dx = 1 where |x| > λ, else 0."""

    def forward(self, x: np.ndarray, lambd: float) -> np.ndarray:
        lam = np.asarray(lambd, x.dtype)
        self.kept = np.abs(x) > lam
        return np.where(self.kept, x - np.sign(x) * lam, np.zeros((), x.dtype))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return np.where(self.kept, grad, np.zeros((), grad.dtype))


def _channel_shape(x: np.ndarray, weight: np.ndarray) -> tuple[int, ...]:
    """PReLU's weight (C,) lines up with dim 1 of x; a single slope broadcasts (F.prelu has
    checked that C matches)."""
    if weight.size == 1:
        return ()
    return (1, weight.size) + (1,) * (x.ndim - 2)


class Prelu(Function):
    """y = x where x > 0, else a·x, with a learned per channel.

    d/dx = 1 or a; d/da = Σ x over the negative entries of its channel.
    """

    def forward(self, x: np.ndarray, weight: np.ndarray) -> np.ndarray:
        self.x, self.shape = x, weight.shape
        self.slope = weight.reshape(_channel_shape(x, weight))
        self.positive = x > 0
        return np.where(self.positive, x, x * self.slope)

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        grad_x = grad_w = None
        if self.needs_input_grad[0]:
            grad_x = np.where(self.positive, grad, grad * self.slope)
        if self.needs_input_grad[1]:
            per_entry = np.where(self.positive, np.zeros((), grad.dtype), grad * self.x)
            if self.slope.ndim == 0:
                grad_w = per_entry.sum().reshape(self.shape)
            else:
                others = tuple(i for i in range(per_entry.ndim) if i != 1)
                grad_w = per_entry.sum(axis=others).reshape(self.shape)
        return grad_x, grad_w


class RandomSlope(Function):
    """RReLU in training: y = x where x >= 0, else a·x with a drawn per entry (given as the
    `slopes` array, drawn by the caller): d/dx = 1 or a."""

    def forward(self, x: np.ndarray, slopes: np.ndarray) -> np.ndarray:
        self.factor = np.where(x >= 0, np.ones((), x.dtype), slopes.astype(x.dtype))
        return x * self.factor

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad * self.factor
