"""`export`: a model and an example input to a checked ONNX file, written atomically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.autograd import no_grad
from chainrule.files import atomic_write_bytes
from chainrule.nn.modules.flatten import Flatten, Unflatten
from chainrule.nn.modules.module import Module
from chainrule.onnx.graph import load_onnx
from chainrule.onnx.layers import LayerExporter, check_layers
from chainrule.tensor import Tensor
from chainrule.version import __version__

StrPath = str | os.PathLike[str]

DEFAULT_OPSET = 17
MIN_OPSET = 13
"""The oldest opset written: Softmax and LogSoftmax take any axis from opset 13 on."""


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
    layers = check_layers(model)
    onnx = load_onnx()
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

    exporter = LayerExporter(onnx, opset)
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
                if isinstance(layer, Unflatten) and layer.dim % value.ndim == 0:
                    batch_kept = False  # the batch dimension is split
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
