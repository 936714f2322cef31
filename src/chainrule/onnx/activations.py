"""ONNX exporters of the activations beyond the classic set (chainrule.onnx's dispatch table
takes these in): each writes ONNX ops available from opset 13 (chainrule.onnx.MIN_OPSET).

Each exporter takes (exporter, layer, its name, its input's value name, its input array) and
returns its output's value name, as those of chainrule.onnx. Layers are in eval mode when
exported, so RReLU is LeakyRelu with its mean slope.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.nn.modules.activation import (
    CELU,
    SELU,
    Hardsigmoid,
    Hardswish,
    LogSigmoid,
    Mish,
    ReLU6,
    Softmax2d,
    Softmin,
    Softsign,
    Tanhshrink,
)
from chainrule.nn.modules.module import Module
from chainrule.nn.modules.piecewise import Hardshrink, PReLU, RReLU, Softshrink, Threshold

Exporter = Callable[[Any, Any, str, str, np.ndarray], str]

_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def _selu(ex: Any, layer: SELU, name: str, x: str, value: np.ndarray) -> str:
    return ex.graph.node("Selu", [x], name, alpha=_SELU_ALPHA, gamma=_SELU_SCALE)


def _celu(ex: Any, layer: CELU, name: str, x: str, value: np.ndarray) -> str:
    return ex.graph.node("Celu", [x], name, alpha=float(layer.alpha))


def _hardsigmoid(ex: Any, layer: Any, name: str, x: str, value: np.ndarray) -> str:
    return ex.graph.node("HardSigmoid", [x], name, alpha=1.0 / 6, beta=0.5)


def _hardswish(ex: Any, layer: Hardswish, name: str, x: str, value: np.ndarray) -> str:
    # HardSwish is opset 14; x · HardSigmoid(x) is the same function at opset 13
    return ex.graph.node("Mul", [x, _hardsigmoid(ex, layer, name, x, value)], name)


def _softplus(ex: Any, name: str, x: str, dtype: np.dtype) -> str:
    """log(1 + eˣ) as max(x, 0) + log(1 + e^-|x|): no overflow in any dtype."""
    g = ex.graph
    tail = g.node("Exp", [g.node("Neg", [g.node("Abs", [x], name)], name)], name)
    tail = g.node("Log", [g.node("Add", [tail, g.constant(f"{name}.one", 1.0, dtype)], name)], name)
    return g.node("Add", [g.node("Relu", [x], name), tail], name)


def _logsigmoid(ex: Any, layer: LogSigmoid, name: str, x: str, value: np.ndarray) -> str:
    g = ex.graph
    return g.node("Neg", [_softplus(ex, name, g.node("Neg", [x], name), value.dtype)], name)


def _mish(ex: Any, layer: Mish, name: str, x: str, value: np.ndarray) -> str:
    g = ex.graph
    return g.node("Mul", [x, g.node("Tanh", [_softplus(ex, name, x, value.dtype)], name)], name)


def _softsign(ex: Any, layer: Softsign, name: str, x: str, value: np.ndarray) -> str:
    return ex.graph.node("Softsign", [x], name)


def _tanhshrink(ex: Any, layer: Tanhshrink, name: str, x: str, value: np.ndarray) -> str:
    return ex.graph.node("Sub", [x, ex.graph.node("Tanh", [x], name)], name)


def _softmin(ex: Any, layer: Softmin, name: str, x: str, value: np.ndarray) -> str:
    dim = layer.dim
    if dim is None:  # PyTorch's legacy choice, as chainrule.nn.functional makes it
        dim = 0 if value.ndim in (0, 1, 3) else 1
    return ex.graph.node("Softmax", [ex.graph.node("Neg", [x], name)], name, axis=int(dim))


def _softmax2d(ex: Any, layer: Softmax2d, name: str, x: str, value: np.ndarray) -> str:
    return ex.graph.node("Softmax", [x], name, axis=-3)


def _relu6(ex: Any, layer: ReLU6, name: str, x: str, value: np.ndarray) -> str:
    low = ex.graph.constant(f"{name}.min_val", 0.0, value.dtype)
    high = ex.graph.constant(f"{name}.max_val", 6.0, value.dtype)
    return ex.graph.node("Clip", [x, low, high], name)


def _threshold(ex: Any, layer: Threshold, name: str, x: str, value: np.ndarray) -> str:
    g = ex.graph
    above = g.node(
        "Greater", [x, g.constant(f"{name}.threshold", layer.threshold, value.dtype)], name
    )
    return g.node("Where", [above, x, g.constant(f"{name}.value", layer.value, value.dtype)], name)


def _hardshrink(ex: Any, layer: Hardshrink, name: str, x: str, value: np.ndarray) -> str:
    return ex.graph.node("Shrink", [x], name, lambd=float(layer.lambd), bias=0.0)


def _softshrink(ex: Any, layer: Softshrink, name: str, x: str, value: np.ndarray) -> str:
    lambd = float(layer.lambd)
    return ex.graph.node("Shrink", [x], name, lambd=lambd, bias=lambd)


def _prelu(ex: Any, layer: PReLU, name: str, x: str, value: np.ndarray) -> str:
    slope = layer.weight.detach().numpy()
    if slope.size > 1:  # one slope per channel (dim 1), broadcast over the dims after it
        slope = slope.reshape((slope.size,) + (1,) * (value.ndim - 2))
    return ex.graph.node("PRelu", [x, ex.graph.constant(f"{name}.weight", slope)], name)


def _rrelu(ex: Any, layer: RReLU, name: str, x: str, value: np.ndarray) -> str:
    slope = (layer.lower + layer.upper) / 2
    return ex.graph.node("LeakyRelu", [x], name, alpha=float(slope))


EXPORTERS: dict[type[Module], Exporter] = {
    ReLU6: _relu6,
    SELU: _selu,
    CELU: _celu,
    Mish: _mish,
    Hardsigmoid: _hardsigmoid,
    Hardswish: _hardswish,
    LogSigmoid: _logsigmoid,
    Softsign: _softsign,
    Tanhshrink: _tanhshrink,
    Softmin: _softmin,
    Softmax2d: _softmax2d,
    Threshold: _threshold,
    Hardshrink: _hardshrink,
    Softshrink: _softshrink,
    PReLU: _prelu,
    RReLU: _rrelu,
}
