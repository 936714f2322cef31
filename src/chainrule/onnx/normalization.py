"""ONNX exporters of LayerNorm and RMSNorm (chainrule.onnx's dispatch table takes these in),
from ReduceMean, Sqrt and Div: LayerNormalization is opset 17 and chainrule writes from 13.

Each exporter takes (exporter, layer, its name, its input's value name, its input array) and
returns its output's value name, as those of chainrule.onnx.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.nn.modules.module import Module
from chainrule.nn.modules.normalization import LayerNorm, RMSNorm

Exporter = Callable[[Any, Any, str, str, np.ndarray], str]


def _normalise(ex: Any, layer: Any, name: str, x: str, value: np.ndarray, centre: bool) -> str:
    """y = (x - μ) / √(mean((x - μ)²) + ε) · γ + β over the normalised dims (no μ, no β
    for RMSNorm)."""
    g, dtype = ex.graph, value.dtype
    axes = list(range(value.ndim - len(layer.normalized_shape), value.ndim))
    centred = g.node("Sub", [x, ex.reduce_mean(x, axes, name)], name) if centre else x
    square = ex.reduce_mean(g.node("Mul", [centred, centred], name), axes, name)
    eps = layer.eps if layer.eps is not None else float(np.finfo(dtype).eps)
    total = g.node("Add", [square, g.constant(f"{name}.eps", eps, dtype)], name)
    out = g.node("Div", [centred, g.node("Sqrt", [total], name)], name)
    if layer.weight is not None:
        weight = g.constant(f"{name}.weight", layer.weight.detach().numpy())
        out = g.node("Mul", [out, weight], name)
    if getattr(layer, "bias", None) is not None:
        out = g.node("Add", [out, g.constant(f"{name}.bias", layer.bias.detach().numpy())], name)
    return out


def _layer_norm(ex: Any, layer: LayerNorm, name: str, x: str, value: np.ndarray) -> str:
    return _normalise(ex, layer, name, x, value, centre=True)


def _rms_norm(ex: Any, layer: RMSNorm, name: str, x: str, value: np.ndarray) -> str:
    return _normalise(ex, layer, name, x, value, centre=False)


EXPORTERS: dict[type[Module], Exporter] = {LayerNorm: _layer_norm, RMSNorm: _rms_norm}
