"""Reductions over dimensions: sum, mean, var, amax, softmax and log-softmax.

`axis` is a tuple of non-negative dims or None (all dims), normalised by the Tensor method.
Backward broadcasts the upstream gradient back over the reduced dims.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.autograd import Function

Axis = tuple[int, ...] | None


def _restore_dims(grad: np.ndarray, axis: Axis, keepdims: bool) -> np.ndarray:
    """Give the upstream gradient back the reduced dims (as size 1) so it broadcasts."""
    if keepdims or axis is None:
        return grad
    return np.expand_dims(grad, axis)


def _restore_graph(grad: Any, shape: tuple[int, ...], axis: Axis, keepdims: bool) -> Any:
    """_restore_dims for a gradient Tensor (double backward): the reduced dims as size 1."""
    if keepdims or axis is None:
        return grad
    kept = [1 if i in axis else n for i, n in enumerate(shape)]
    return grad.reshape(kept)


def _count(shape: tuple[int, ...], axis: Axis) -> int:
    return int(np.prod(shape)) if axis is None else int(np.prod([shape[a] for a in axis]))


class Sum(Function):
    """Σ x over `axis`: every input element gets the upstream gradient (the add gate)."""

    def forward(self, x: np.ndarray, axis: Axis, keepdims: bool) -> np.ndarray:
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        return np.asarray(x.sum(axis=axis, keepdims=keepdims))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return np.broadcast_to(_restore_dims(grad, self.axis, self.keepdims), self.shape)

    def backward_graph(self, grad: Any, out: Any) -> Any:
        return _restore_graph(grad, self.shape, self.axis, self.keepdims).expand(self.shape)


class Mean(Function):
    """(1/N) Σ x over `axis`: each element gets 1/N of the upstream gradient."""

    def forward(self, x: np.ndarray, axis: Axis, keepdims: bool) -> np.ndarray:
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        return np.asarray(x.mean(axis=axis, keepdims=keepdims))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        count = _count(self.shape, self.axis)
        scaled = _restore_dims(grad, self.axis, self.keepdims) / np.asarray(count, grad.dtype)
        return np.broadcast_to(scaled, self.shape)

    def backward_graph(self, grad: Any, out: Any) -> Any:
        count = _count(self.shape, self.axis)
        kept = _restore_graph(grad, self.shape, self.axis, self.keepdims)
        return (kept / count).expand(self.shape)


class Var(Function):
    """Σ (x - mean)² / (N - correction): d/dx = 2 (x - mean) / (N - correction)."""

    def forward(self, x: np.ndarray, axis: Axis, keepdims: bool, correction: int) -> np.ndarray:
        self.axis, self.keepdims = axis, keepdims
        self.centered = x - x.mean(axis=axis, keepdims=True)
        self.denominator = max(_count(x.shape, axis) - correction, 0)
        squares = (self.centered * self.centered).sum(axis=axis, keepdims=keepdims)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(squares / np.asarray(self.denominator, dtype=x.dtype))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        upstream = _restore_dims(grad, self.axis, self.keepdims)
        factor = np.asarray(2 / self.denominator if self.denominator else np.inf, grad.dtype)
        with np.errstate(invalid="ignore"):  # N <= correction: nan, as the forward (and torch)
            return upstream * self.centered * factor

    def backward_graph(self, grad: Any, out: Any) -> Any:
        (x,) = self.graph_inputs
        kept = _restore_graph(grad, x.shape, self.axis, self.keepdims)
        centered = x - (x.mean() if self.axis is None else x.mean(self.axis, keepdim=True))
        factor = 2 / self.denominator if self.denominator else float("inf")
        return kept * centered * factor


class Amax(Function):
    """Largest element over `axis`. Max gate: the gradient goes to the arg-max; tied maxima
    share it evenly (as `torch.amax` does)."""

    def forward(self, x: np.ndarray, axis: Axis, keepdims: bool) -> np.ndarray:
        if x.size == 0:
            raise ValueError("amax: cannot take the maximum of an empty tensor")
        out = np.asarray(x.max(axis=axis, keepdims=True))
        self.is_max = x == out
        self.axis, self.keepdims = axis, keepdims
        return out if keepdims else np.asarray(np.squeeze(out, axis=axis))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        ties = self.is_max.sum(axis=self.axis, keepdims=True)
        upstream = _restore_dims(grad, self.axis, self.keepdims)
        return self.is_max * (upstream / ties.astype(grad.dtype))

    def backward_graph(self, grad: Any, out: Any) -> Any:
        ties = self.is_max.sum(axis=self.axis, keepdims=True).astype(grad.dtype)
        share = grad._make(self.is_max / ties, False)
        shape = self.is_max.shape
        return _restore_graph(grad, shape, self.axis, self.keepdims) * share


class Softmax(Function):
    """softmax(x)ᵢ = e^(xᵢ - max x) / Σⱼ e^(xⱼ - max x), along `axis`.

    Subtracting the max changes nothing mathematically and keeps e^x from overflowing.
    Backward: dx = s ⊙ (g - Σ(g ⊙ s)), with s the saved output.
    """

    saved = ((-1, None),)

    def forward(self, x: np.ndarray, axis: int) -> np.ndarray:
        shifted = np.exp(x - x.max(axis=axis, keepdims=True))
        self.out = shifted / shifted.sum(axis=axis, keepdims=True)
        self.axis = axis
        return self.out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        s = self.out
        return s * (grad - (grad * s).sum(axis=self.axis, keepdims=True))

    def backward_graph(self, grad: Any, out: Any) -> Any:
        return out * (grad - (grad * out).sum(self.axis, keepdim=True))


class LogSoftmax(Function):
    """log softmax(x) = x - max x - log Σ e^(x - max x) (the log-sum-exp trick).

    Backward: dx = g - softmax(x) · Σ g, with softmax recovered from the saved output.
    """

    saved = ((-1, None),)

    def forward(self, x: np.ndarray, axis: int) -> np.ndarray:
        shifted = x - x.max(axis=axis, keepdims=True)
        self.out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        self.axis = axis
        return self.out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad - np.exp(self.out) * grad.sum(axis=self.axis, keepdims=True)

    def backward_graph(self, grad: Any, out: Any) -> Any:
        return grad - out.exp() * grad.sum(self.axis, keepdim=True)
