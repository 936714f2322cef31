"""Export a `Sequential` model to ONNX, to run it with onnxruntime (or any ONNX runtime).

::

    import chainrule.onnx
    chainrule.onnx.export(model, example_input, "model.onnx")     # example: a batch of inputs

    import onnxruntime as ort
    session = ort.InferenceSession("model.onnx")
    session.run(None, {"input": X.astype(np.float32)})[0]            # = model.eval()(X)

The exported graph computes what ``model.eval()`` computes (Dropout does nothing, BatchNorm1d
uses its running statistics), with the first dimension of the input and output left free
(``dynamic_batch=True``), so any batch size works. `example_input` fixes the other
dimensions and the input's dtype (float32, float64, or integers for an Embedding first).

Supported: `Sequential` (nested too) of the built-in layers, each becoming these ONNX ops:

=============== ==========================================================================
Linear          Gemm (transB=1) for 2-D input; MatMul (+ Add) for other ranks
ReLU, Sigmoid,  Relu, Sigmoid, Tanh
Tanh
LeakyReLU       LeakyRelu (alpha = negative_slope)
ELU             Elu (alpha)
Hardtanh        Clip (min_val, max_val)
GELU            Gelu at opset >= 20; else x·0.5·(1 + Erf(x/√2)) ('none') or
                0.5·x·(1 + Tanh(√(2/π)·(x + 0.044715·x³))) ('tanh')
SiLU            Mul(x, Sigmoid(x))
Softplus        Where(βx > threshold, x, (Relu(βx) + Log(1 + Exp(-|βx|)))/β)
Softmax,        Softmax / LogSoftmax (axis = dim; dim=None resolved as PyTorch does)
LogSoftmax
Dropout,        Identity
Identity
BatchNorm1d     BatchNormalization with the running statistics (eval mode); without
                running statistics (track_running_stats=False) the batch's own statistics,
                from ReduceMean, as chainrule computes them in eval mode
Flatten         Flatten (start_dim=1, end_dim=-1) or Reshape
Embedding       Gather (the input is the integer index tensor)
=============== ==========================================================================

Anything else (a custom Module, a subclass of a built-in layer, ModuleList, a loss) raises
ValueError naming the layer. A `chainrule train` run folder is exported by ``chainrule
export RUN model.onnx`` (or `chainrule.cli.export_run`), with the run's standardisation
built in through `standardize`.

Needs the ``onnx`` package (``pip install "chainrule[onnx]"``, which also installs
onnxruntime to run the exported file); chainrule imports it only when exporting.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from chainrule import onnx_activations
from chainrule.autograd import no_grad
from chainrule.files import atomic_write_bytes
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
from chainrule.nn.modules.flatten import Flatten
from chainrule.nn.modules.linear import Identity, Linear
from chainrule.nn.modules.module import Module
from chainrule.nn.modules.sparse import Embedding
from chainrule.tensor import Tensor
from chainrule.version import __version__

__all__ = ["DEFAULT_OPSET", "MIN_OPSET", "SUPPORTED_LAYERS", "export"]

StrPath = str | os.PathLike[str]

DEFAULT_OPSET = 17
MIN_OPSET = 13
"""The oldest opset written: Softmax and LogSoftmax take any axis from opset 13 on."""

_INSTALL_HINT = 'pip install "chainrule[onnx]"'


def _onnx() -> Any:
    try:
        import onnx  # optional dependency
        import onnx.checker
        import onnx.helper
        import onnx.numpy_helper
    except ImportError as error:
        raise ImportError(
            f"chainrule.onnx needs the onnx package: install it with: {_INSTALL_HINT}"
        ) from error
    return onnx


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


class _Graph:
    """Collects nodes and initializers, naming each value after the layer that makes it."""

    def __init__(self, onnx: Any) -> None:
        self.onnx = onnx
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.names: set[str] = set()

    def fresh(self, name: str) -> str:
        candidate, n = name, 1
        while candidate in self.names:
            n += 1
            candidate = f"{name}_{n}"
        self.names.add(candidate)
        return candidate

    def constant(self, name: str, value: Any, dtype: Any = None) -> str:
        array = np.asarray(value, dtype=dtype)
        array = np.ascontiguousarray(array) if array.ndim else array
        unique = self.fresh(name)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, unique))
        return unique

    def node(self, op: str, inputs: list[str], layer: str, **attributes: Any) -> str:
        output = self.fresh(f"/{layer.replace('.', '/')}/{op}" if layer else f"/{op}")
        self.nodes.append(
            self.onnx.helper.make_node(
                op, inputs, [output], name=self.fresh(f"{output}_node"), **attributes
            )
        )
        return output


class _Exporter:
    def __init__(self, onnx: Any, opset: int) -> None:
        self.graph = _Graph(onnx)
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
        if layer.track_running_stats:
            return g.node(
                "BatchNormalization",
                [
                    x,
                    g.constant(f"{name}.weight", scale, dtype),
                    g.constant(f"{name}.bias", shift, dtype),
                    g.constant(f"{name}.running_mean", layer.running_mean._data, dtype),
                    g.constant(f"{name}.running_var", layer.running_var._data, dtype),
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

    def layer(self, layer: Module, name: str, x: str, value: np.ndarray) -> str:
        return EXPORTERS[type(layer)](self, layer, name, x, value)


Exporter = Callable[[_Exporter, Any, str, str, np.ndarray], str]
"""(exporter, layer, its name, its input's value name, its input array) -> output name."""


def _single(op: str, **attributes: Callable[[Any], Any]) -> Exporter:
    """The exporter of a layer that is one ONNX op, its attributes read off the layer."""

    def export(ex: _Exporter, layer: Any, name: str, x: str, value: np.ndarray) -> str:
        return ex.graph.node(op, [x], name, **{k: read(layer) for k, read in attributes.items()})

    return export


def _silu(ex: _Exporter, layer: Any, name: str, x: str, value: np.ndarray) -> str:
    return ex.graph.node("Mul", [x, ex.graph.node("Sigmoid", [x], name)], name)


def _softmax(op: str) -> Exporter:
    def export(ex: _Exporter, layer: Any, name: str, x: str, value: np.ndarray) -> str:
        dim = layer.dim
        if dim is None:  # PyTorch's legacy choice, as chainrule.nn.functional makes it
            dim = 0 if value.ndim in (0, 1, 3) else 1
        return ex.graph.node(op, [x], name, axis=int(dim))

    return export


def _hardtanh(ex: _Exporter, layer: Any, name: str, x: str, value: np.ndarray) -> str:
    # Clip takes its bounds as inputs (opset 11 on), in the input's dtype
    low = ex.graph.constant(f"{name}.min_val", layer.min_val, value.dtype)
    high = ex.graph.constant(f"{name}.max_val", layer.max_val, value.dtype)
    return ex.graph.node("Clip", [x, low, high], name)


def _embedding(ex: _Exporter, layer: Any, name: str, x: str, value: np.ndarray) -> str:
    weight = ex.graph.constant(f"{name}.weight", layer.weight.detach().numpy())
    return ex.graph.node("Gather", [weight, x], name, axis=0)


EXPORTERS: dict[type[Module], Exporter] = {
    Linear: _Exporter.linear,
    ReLU: _single("Relu"),
    LeakyReLU: _single("LeakyRelu", alpha=lambda layer: float(layer.negative_slope)),
    ELU: _single("Elu", alpha=lambda layer: float(layer.alpha)),
    Hardtanh: _hardtanh,
    Sigmoid: _single("Sigmoid"),
    Tanh: _single("Tanh"),
    GELU: _Exporter.gelu,
    SiLU: _silu,
    Softplus: _Exporter.softplus,
    Softmax: _softmax("Softmax"),
    LogSoftmax: _softmax("LogSoftmax"),
    Dropout: _single("Identity"),
    BatchNorm1d: _Exporter.batch_norm,
    Flatten: _Exporter.flatten,
    Identity: _single("Identity"),
    Embedding: _embedding,
}
"""The dispatch table: each layer `export` writes (exactly these classes, not subclasses)
and how. Layers declared with ``onnx=False`` in `chainrule.nn.registry` are refused; a test
checks the two agree."""
EXPORTERS.update(onnx_activations.EXPORTERS)  # ReLU6, SELU, ..., PReLU: one module of their own

SUPPORTED_LAYERS: tuple[type[Module], ...] = tuple(EXPORTERS)
"""The layers `export` handles (exactly these classes, not subclasses), in `Sequential`."""


def _check_layers(model: Module) -> list[tuple[str, Module]]:
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


def _example_array(example_input: Any) -> np.ndarray:
    array = np.asarray(example_input._data if isinstance(example_input, Tensor) else example_input)
    if array.dtype.kind not in "fiu" or array.dtype.itemsize > 8:
        raise TypeError(f"example_input must be a float or integer tensor, got dtype {array.dtype}")
    return np.array(array, order="C")  # ascontiguousarray would make a 0-d array 1-d


def _dims(shape: tuple[int, ...], first: Any) -> list[Any]:
    """A value's ONNX dims: the first one `first` ("batch", None for unknown) or, given
    as a tuple, the size it holds."""
    if isinstance(first, tuple):
        first = int(first[0]) if first else None
    return [first if i == 0 else int(n) for i, n in enumerate(shape)]


def export(
    model: Module,
    example_input: Any,
    path: StrPath,
    *,
    opset: int = DEFAULT_OPSET,
    input_name: str = "input",
    output_name: str = "output",
    dynamic_batch: bool = True,
    standardize: tuple[np.ndarray, np.ndarray] | None = None,
) -> Path:
    """Write `model` (a Sequential of built-in layers) as an ONNX file at `path`.

    Args:
        model: the model; exported as ``model.eval()`` computes (its mode is left as it was,
            and running the example does not touch BatchNorm's running statistics).
        example_input: a batch of inputs (Tensor or ndarray) of the shape and dtype the
            ONNX model will take; only its shape past the first dimension and its dtype
            matter when `dynamic_batch`.
        path: the ``.onnx`` file to write (atomically: a failed export leaves it as it was).
        opset: the ONNX opset version (13 or newer; default 17).
        input_name, output_name: the names of the graph's input and output.
        dynamic_batch: leave the first dimension free ("batch"), else fix every dimension
            to the example's.
        standardize: (mean, scale), arrays of the input's feature shape: the graph starts
            with Sub and Div nodes computing (x - mean) / scale, so it takes raw features
            for a model trained on standardised ones (``chainrule export`` passes a run's).

    Returns the path written. Raises ValueError naming the first unsupported layer,
    TypeError for a non-numeric example, ImportError (with the pip command) without onnx.
    The file passes ``onnx.checker.check_model`` before it is written.
    """
    layers = _check_layers(model)
    onnx = _onnx()
    maximum = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= maximum:
        raise ValueError(
            f"opset must be an integer from {MIN_OPSET} to {maximum} (the onnx package's "
            f"newest), got {opset!r}"
        )
    if not input_name or not output_name or input_name == output_name:
        raise ValueError("input_name and output_name must be different non-empty strings")
    example = _example_array(example_input)
    if dynamic_batch and example.ndim == 0:
        raise ValueError("dynamic_batch needs an example input with a batch dimension")

    exporter = _Exporter(onnx, opset)
    graph = exporter.graph
    graph.names.update({input_name, output_name})
    value = example
    current = input_name
    if standardize is not None:  # (x - mean) / scale, before the first layer
        mean, scale = standardize
        current = graph.node(
            "Sub", [current, graph.constant("standardize.mean", mean, example.dtype)], "standardize"
        )
        current = graph.node(
            "Div",
            [current, graph.constant("standardize.scale", scale, example.dtype)],
            "standardize",
        )
        value = ((example - mean) / scale).astype(example.dtype)
    batch_kept = dynamic_batch

    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with no_grad():
            for name, layer in layers:
                current = exporter.layer(layer, name, current, value)
                if isinstance(layer, Flatten) and value.ndim > 1:
                    start, end = layer.start_dim % value.ndim, layer.end_dim % value.ndim
                    if start == 0 and end > 0:
                        batch_kept = False  # the batch dimension is merged with others
                output = layer(Tensor(value))
                value = np.asarray(output._data)
    finally:
        for module, mode in modes:
            module.training = mode

    graph.nodes.append(onnx.helper.make_node("Identity", [current], [output_name], name="/output"))
    # the output's first dimension: the free batch, unknown where Flatten merged the batch
    # into it, else the example's
    output_first: Any = value.shape[:1]
    if dynamic_batch:
        output_first = "batch" if batch_kept else None
    input_type = onnx.helper.np_dtype_to_tensor_dtype(example.dtype)
    output_type = onnx.helper.np_dtype_to_tensor_dtype(value.dtype)
    onnx_graph = onnx.helper.make_graph(
        graph.nodes,
        "chainrule",
        [
            onnx.helper.make_tensor_value_info(
                input_name,
                input_type,
                _dims(example.shape, "batch" if dynamic_batch else example.shape[:1]),
            )
        ],
        [
            onnx.helper.make_tensor_value_info(
                output_name, output_type, _dims(value.shape, output_first)
            )
        ],
        initializer=graph.initializers,
    )
    opset_id = onnx.helper.make_opsetid("", opset)
    proto = onnx.helper.make_model(
        onnx_graph,
        opset_imports=[opset_id],
        producer_name="chainrule",
        ir_version=onnx.helper.find_min_ir_version_for([opset_id]),
    )
    proto.producer_version = __version__
    onnx.checker.check_model(proto, full_check=True)
    atomic_write_bytes(path, proto.SerializeToString())
    return Path(path)


def __getattr__(name: str) -> object:
    """`export_run` moved to the command line's package (it reads run folders)."""
    if name == "export_run":
        raise AttributeError(
            "chainrule.onnx.export_run is now chainrule.cli.export_run (a run folder is the "
            "command line's business; chainrule.onnx.export takes a model)"
        )
    raise AttributeError(f"module 'chainrule.onnx' has no attribute {name!r}")
