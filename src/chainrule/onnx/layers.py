"""How each built-in layer becomes ONNX ops: the exporters and the dispatch table
(`EXPORTERS`, exactly these classes; the activations beyond the classic set are in
`activations.py`), and the check that a model holds only such layers."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from chainrule.nn.modules.activation import (
    ELU,
    GELU,
    Hardtanh,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from chainrule.nn.modules.batchnorm import BatchNorm1d
from chainrule.nn.modules.container import Sequential
from chainrule.nn.modules.dropout import Dropout
from chainrule.nn.modules.flatten import Flatten, Unflatten
from chainrule.nn.modules.linear import Identity, Linear
from chainrule.nn.modules.module import Module
from chainrule.nn.modules.sparse import Embedding
from chainrule.onnx import activations, normalization
from chainrule.onnx.graph import Graph


def _leaves(module: Module, prefix: str = "") -> Iterator[tuple[str, Module]]:
    """The layers of a (nested) Sequential in call order, named as in its state_dict."""
    if type(module) is Sequential:
        for name, child in module._modules.items():
            if child is not None:
                yield from _leaves(child, f"{prefix}.{name}" if prefix else name)
    else:
        yield prefix, module


def _supported_names() -> str:
    return ", ".join(["Sequential", *(cls.__name__ for cls in SUPPORTED_LAYERS)])


class LayerExporter:
    def __init__(self, onnx: Any, opset: int) -> None:
        self.graph = Graph(onnx)
        self.opset = opset

    # each method takes the layer, its name, its input value name and its input array
    # (the example run through the layers before it) and returns its output value name

    def linear(self, layer: Linear, name: str, x: str, value: np.ndarray) -> str:
        g = self.graph
        weight = layer.weight._data
        bias = None if layer.bias is None else layer.bias._data
        if value.ndim == 2:
            inputs = [x, g.constant(f"{name}.weight", weight)]
            if bias is not None:
                inputs.append(g.constant(f"{name}.bias", bias))
            return g.node("Gemm", inputs, name, transB=1)
        out = g.node("MatMul", [x, g.constant(f"{name}.weight_transposed", weight.T)], name)
        if bias is not None:
            out = g.node("Add", [out, g.constant(f"{name}.bias", bias)], name)
        return out

    def gelu(self, layer: GELU, name: str, x: str, value: np.ndarray) -> str:
        g, dtype = self.graph, value.dtype
        if self.opset >= 20:
            return g.node("Gelu", [x], name, approximate=layer.approximate)
        half = g.constant(f"{name}.half", 0.5, dtype)
        one = g.constant(f"{name}.one", 1.0, dtype)
        if layer.approximate == "tanh":
            cube = g.node("Mul", [g.node("Mul", [x, x], name), x], name)
            inner = g.node(
                "Add",
                [x, g.node("Mul", [cube, g.constant(f"{name}.c", 0.044715, dtype)], name)],
                name,
            )
            scaled = g.node(
                "Mul", [inner, g.constant(f"{name}.k", math.sqrt(2 / math.pi), dtype)], name
            )
            cdf = g.node("Add", [g.node("Tanh", [scaled], name), one], name)
        else:
            scaled = g.node("Div", [x, g.constant(f"{name}.sqrt2", math.sqrt(2.0), dtype)], name)
            cdf = g.node("Add", [g.node("Erf", [scaled], name), one], name)
        return g.node("Mul", [g.node("Mul", [x, half], name), cdf], name)

    def softplus(self, layer: Softplus, name: str, x: str, value: np.ndarray) -> str:
        g, dtype = self.graph, value.dtype
        scaled = g.node("Mul", [x, g.constant(f"{name}.beta", layer.beta, dtype)], name)
        # log(1 + e^s) as max(s, 0) + log(1 + e^-|s|): no overflow, and unlike the Softplus
        # op it runs in onnxruntime for float64 too
        tail = g.node("Exp", [g.node("Neg", [g.node("Abs", [scaled], name)], name)], name)
        tail = g.node(
            "Log", [g.node("Add", [tail, g.constant(f"{name}.one", 1.0, dtype)], name)], name
        )
        soft = g.node("Add", [g.node("Relu", [scaled], name), tail], name)
        soft = g.node("Div", [soft, g.constant(f"{name}.beta_divisor", layer.beta, dtype)], name)
        # chainrule (as PyTorch) compares βx, in the input's dtype, with the threshold
        above = g.node(
            "Greater", [scaled, g.constant(f"{name}.threshold", layer.threshold, dtype)], name
        )
        return g.node("Where", [above, x, soft], name)

    def batch_norm(self, layer: BatchNorm1d, name: str, x: str, value: np.ndarray) -> str:
        g, dtype, channels = self.graph, value.dtype, layer.num_features
        scale = layer.weight._data if layer.weight is not None else np.ones(channels, dtype)
        shift = layer.bias._data if layer.bias is not None else np.zeros(channels, dtype)
        running_mean, running_var = layer.running_mean, layer.running_var
        if layer.track_running_stats:
            assert running_mean is not None and running_var is not None  # with the flag
            return g.node(
                "BatchNormalization",
                [
                    x,
                    g.constant(f"{name}.weight", scale, dtype),
                    g.constant(f"{name}.bias", shift, dtype),
                    g.constant(f"{name}.running_mean", running_mean._data, dtype),
                    g.constant(f"{name}.running_var", running_var._data, dtype),
                ],
                name,
                epsilon=float(layer.eps),
            )
        # no running statistics: chainrule normalises with the batch's own, even in eval
        axes = [0] if value.ndim == 2 else [0, 2]
        shape = (1, channels) if value.ndim == 2 else (1, channels, 1)
        mean = self.reduce_mean(x, axes, name)
        centred = g.node("Sub", [x, mean], name)
        var = self.reduce_mean(g.node("Mul", [centred, centred], name), axes, name)
        eps = g.constant(f"{name}.eps", layer.eps, dtype)
        out = g.node(
            "Div", [centred, g.node("Sqrt", [g.node("Add", [var, eps], name)], name)], name
        )
        if layer.weight is not None:
            out = g.node(
                "Mul", [out, g.constant(f"{name}.weight", scale.reshape(shape), dtype)], name
            )
        if layer.bias is not None:
            out = g.node(
                "Add", [out, g.constant(f"{name}.bias", shift.reshape(shape), dtype)], name
            )
        return out

    def reduce_mean(self, x: str, axes: list[int], name: str) -> str:
        if self.opset >= 18:
            axes_name = self.graph.constant(f"{name}.axes", axes, np.int64)
            return self.graph.node("ReduceMean", [x, axes_name], name, keepdims=1)
        return self.graph.node("ReduceMean", [x], name, axes=axes, keepdims=1)

    def flatten(self, layer: Flatten, name: str, x: str, value: np.ndarray) -> str:
        rank = value.ndim
        start = layer.start_dim % rank if rank else 0
        end = layer.end_dim % rank if rank else 0
        if start == 1 and end == rank - 1:
            return self.graph.node("Flatten", [x], name, axis=1)
        if start >= end:
            return self.graph.node("Identity", [x], name)
        # 0 copies a dimension (the free batch one among them), -1 takes the merged ones
        shape = [0] * start + [-1] + list(value.shape[end + 1 :])
        return self.graph.node(
            "Reshape", [x, self.graph.constant(f"{name}.shape", shape, np.int64)], name
        )

    def unflatten(self, layer: Unflatten, name: str, x: str, value: np.ndarray) -> str:
        dim = layer.dim % value.ndim
        # 0 copies a dimension before the split one (the free batch among them); the ones
        # after it are written out, since the split moves them
        shape = [0] * dim + list(layer.unflattened_size) + list(value.shape[dim + 1 :])
        return self.graph.node(
            "Reshape", [x, self.graph.constant(f"{name}.shape", shape, np.int64)], name
        )

    def layer(self, layer: Module, name: str, x: str, value: np.ndarray) -> str:
        return EXPORTERS[type(layer)](self, layer, name, x, value)


Exporter = Callable[[LayerExporter, Any, str, str, np.ndarray], str]
"""(exporter, layer, its name, its input's value name, its input array) -> output name."""


def _single(op: str, **attributes: Callable[[Any], Any]) -> Exporter:
    """The exporter of a layer that is one ONNX op, its attributes read off the layer."""

    def export(ex: LayerExporter, layer: Any, name: str, x: str, value: np.ndarray) -> str:
        return ex.graph.node(op, [x], name, **{k: read(layer) for k, read in attributes.items()})

    return export


def _silu(ex: LayerExporter, layer: Any, name: str, x: str, value: np.ndarray) -> str:
    return ex.graph.node("Mul", [x, ex.graph.node("Sigmoid", [x], name)], name)


def _softmax(op: str) -> Exporter:
    def export(ex: LayerExporter, layer: Any, name: str, x: str, value: np.ndarray) -> str:
        dim = layer.dim
        if dim is None:  # PyTorch's legacy choice, as chainrule.nn.functional makes it
            dim = 0 if value.ndim in (0, 1, 3) else 1
        return ex.graph.node(op, [x], name, axis=int(dim))

    return export


def _hardtanh(ex: LayerExporter, layer: Any, name: str, x: str, value: np.ndarray) -> str:
    # Clip takes its bounds as inputs (opset 11 on), in the input's dtype
    low = ex.graph.constant(f"{name}.min_val", layer.min_val, value.dtype)
    high = ex.graph.constant(f"{name}.max_val", layer.max_val, value.dtype)
    return ex.graph.node("Clip", [x, low, high], name)


def _embedding(ex: LayerExporter, layer: Any, name: str, x: str, value: np.ndarray) -> str:
    weight = ex.graph.constant(f"{name}.weight", layer.weight.detach().numpy())
    return ex.graph.node("Gather", [weight, x], name, axis=0)


EXPORTERS: dict[type[Module], Exporter] = {
    Linear: LayerExporter.linear,
    ReLU: _single("Relu"),
    LeakyReLU: _single("LeakyRelu", alpha=lambda layer: float(layer.negative_slope)),
    ELU: _single("Elu", alpha=lambda layer: float(layer.alpha)),
    Hardtanh: _hardtanh,
    Sigmoid: _single("Sigmoid"),
    Tanh: _single("Tanh"),
    GELU: LayerExporter.gelu,
    SiLU: _silu,
    Softplus: LayerExporter.softplus,
    Softmax: _softmax("Softmax"),
    LogSoftmax: _softmax("LogSoftmax"),
    Dropout: _single("Identity"),
    BatchNorm1d: LayerExporter.batch_norm,
    Flatten: LayerExporter.flatten,
    Unflatten: LayerExporter.unflatten,
    Identity: _single("Identity"),
    Embedding: _embedding,
}
"""The dispatch table: each layer `export` writes (exactly these classes, not subclasses)
and how. Layers declared with ``onnx=False`` in `chainrule.nn.registry` are refused; a test
checks the two agree."""
EXPORTERS.update(activations.EXPORTERS)  # ReLU6, SELU, ..., PReLU: one module of their own
EXPORTERS.update(normalization.EXPORTERS)  # LayerNorm, RMSNorm

SUPPORTED_LAYERS: tuple[type[Module], ...] = tuple(EXPORTERS)
"""The layers `export` handles (exactly these classes, not subclasses), in `Sequential`."""


def check_layers(model: Module) -> list[tuple[str, Module]]:
    if not isinstance(model, Module):
        raise TypeError(f"chainrule.onnx.export expects a Module, got {type(model).__name__}")
    layers = list(_leaves(model))
    for name, layer in layers:
        if type(layer) not in SUPPORTED_LAYERS:
            where = f"layer {name}" if name else "the model"
            raise ValueError(
                f"cannot export {where} ({type(layer).__name__}) to ONNX: supported layers "
                f"are {_supported_names()} (exactly these classes)"
            )
    return layers
