"""Activation functions beyond ReLU/tanh/sigmoid, each with its local derivative."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.autograd import Function
from chainrule.ops.elementwise import stable_sigmoid

_SQRT_2 = np.sqrt(2.0)
_INV_SQRT_2PI = 1 / np.sqrt(2 * np.pi)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function to about 1e-15, vectorised (NumPy has none).

    |x| < 2: erf x = (2/√π) e^(-x²) Σₙ (2x²)ⁿ x / (1·3·…·(2n+1)), a series of positive terms;
    |x| >= 2: erfc x = e^(-x²) / (√π · (x + (1/2)/(x + 1/(x + (3/2)/(x + …))))), a continued
    fraction evaluated from the inside out. Forty terms of each reach float64 precision.
    """
    x64 = np.asarray(x, dtype=np.float64)
    magnitude = np.abs(x64)
    small = np.minimum(magnitude, 2.0)
    term = small.copy()
    total = small.copy()
    twice_square = 2 * small * small
    for n in range(1, 40):
        term = term * twice_square / (2 * n + 1)
        total += term
    series = 2 / np.sqrt(np.pi) * np.exp(-small * small) * total
    large = np.maximum(magnitude, 2.0)
    fraction = large.copy()
    for k in range(40, 0, -1):
        fraction = large + (k / 2) / fraction
    tail = 1 - np.exp(-large * large) / (np.sqrt(np.pi) * fraction)
    return (np.sign(x64) * np.where(magnitude < 2.0, series, tail)).astype(np.result_type(x))


class LeakyRelu(Function):
    """x for x > 0, slope·x otherwise: d/dx = 1 or slope."""

    def forward(self, x: np.ndarray, negative_slope: float) -> np.ndarray:
        self.positive, self.slope = x > 0, negative_slope
        return np.where(self.positive, x, x * np.asarray(negative_slope, x.dtype))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return np.where(self.positive, grad, grad * np.asarray(self.slope, grad.dtype))

    def backward_graph(self, grad: Any, out: Any) -> Any:
        local = np.where(self.positive, 1, self.slope).astype(grad.dtype)
        return grad * grad._make(local, False)


class Hardtanh(Function):
    """x clipped to [min_val, max_val]: d/dx = 1 strictly inside, 0 outside and on the
    edges (as PyTorch's hardtanh_backward, unlike clamp, whose gradient passes the edges)."""

    def forward(self, x: np.ndarray, min_val: float, max_val: float) -> np.ndarray:
        low, high = np.asarray(min_val, x.dtype), np.asarray(max_val, x.dtype)
        self.inside = (x > low) & (x < high)
        return np.minimum(np.maximum(x, low), high)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return np.where(self.inside, grad, np.zeros((), grad.dtype))

    def backward_graph(self, grad: Any, out: Any) -> Any:
        return grad * grad._make(self.inside.astype(grad.dtype), False)


class Elu(Function):
    """x for x > 0, α(eˣ - 1) otherwise: d/dx = 1 or α·eˣ."""

    def forward(self, x: np.ndarray, alpha: float) -> np.ndarray:
        alpha_ = np.asarray(alpha, x.dtype)
        self.positive, self.alpha = x > 0, alpha
        self.negative_slope = alpha_ * np.exp(np.minimum(x, 0))  # α·eˣ, no overflow for x > 0
        return np.where(self.positive, x, self.negative_slope - alpha_)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return np.where(self.positive, grad, grad * self.negative_slope)

    def backward_graph(self, grad: Any, out: Any) -> Any:
        (x,) = self.graph_inputs
        positive = grad._make(self.positive.astype(grad.dtype), False)
        # α·eˣ = out + α where x <= 0; x.clamp(max=0) keeps eˣ finite where x > 0
        return grad * (positive + (1 - positive) * self.alpha * x.clamp(max=0).exp())


class Gelu(Function):
    """x·Φ(x), Φ the standard normal CDF: d/dx = Φ(x) + x·φ(x).

    approximate='tanh' uses Φ(x) ≈ (1 + tanh(√(2/π)(x + 0.044715x³)))/2, as PyTorch does.
    """

    saved = ((0, None),)

    def forward(self, x: np.ndarray, approximate: str) -> np.ndarray:
        self.x, self.approximate = x, approximate
        if approximate == "tanh":
            self.inner = np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)).astype(x.dtype)
            return 0.5 * x * (1 + self.inner)
        self.cdf = (0.5 * (1 + erf(x / _SQRT_2))).astype(x.dtype)
        return x * self.cdf

    def backward(self, grad: np.ndarray) -> np.ndarray:
        x = self.x
        if self.approximate == "tanh":
            d_inner = np.sqrt(2 / np.pi) * (1 + 3 * 0.044715 * x * x)
            local = 0.5 * (1 + self.inner) + 0.5 * x * (1 - self.inner**2) * d_inner
        else:
            local = self.cdf + x * _INV_SQRT_2PI * np.exp(-0.5 * x * x)
        return grad * local.astype(grad.dtype)

    def backward_graph(self, grad: Any, out: Any) -> Any:
        (x,) = self.graph_inputs
        if self.approximate == "tanh":
            inner = ((2 / np.pi) ** 0.5 * (x + 0.044715 * x**3)).tanh()
            d_inner = (2 / np.pi) ** 0.5 * (1 + 3 * 0.044715 * x * x)
            local = 0.5 * (1 + inner) + 0.5 * x * (1 - inner * inner) * d_inner
        else:
            local = 0.5 * (1 + (x / _SQRT_2).erf()) + x * _INV_SQRT_2PI * (-0.5 * x * x).exp()
        return grad * local


class Silu(Function):
    """x·σ(x) (also called swish): d/dx = σ(x)(1 + x(1 - σ(x)))."""

    saved = ((0, None),)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x, self.sig = x, stable_sigmoid(x)
        return x * self.sig

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad * self.sig * (1 + self.x * (1 - self.sig))

    def backward_graph(self, grad: Any, out: Any) -> Any:
        (x,) = self.graph_inputs
        sig = x.sigmoid()
        return grad * sig * (1 + x * (1 - sig))


class Softplus(Function):
    """(1/β)·log(1 + e^(βx)), linear where βx > threshold: d/dx = σ(βx)."""

    def forward(self, x: np.ndarray, beta: float, threshold: float) -> np.ndarray:
        scaled = x * np.asarray(beta, x.dtype)
        self.linear, self.beta = scaled > threshold, beta
        self.sig = stable_sigmoid(scaled)
        soft = (np.maximum(scaled, 0) + np.log1p(np.exp(-np.abs(scaled)))) / np.asarray(
            beta, x.dtype
        )
        return np.where(self.linear, x, soft)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return np.where(self.linear, grad, grad * self.sig)

    def backward_graph(self, grad: Any, out: Any) -> Any:
        (x,) = self.graph_inputs
        linear = grad._make(self.linear.astype(grad.dtype), False)
        return grad * (linear + (1 - linear) * (x * self.beta).sigmoid())
