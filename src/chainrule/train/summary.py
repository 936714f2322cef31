"""`summary(model, input_shape)`: a table of layers, output shapes and parameter counts.

As Keras's ``model.summary()``: one forward pass on zeros of shape (1, *input_shape) under
``no_grad()`` and ``model.eval()`` records the output shape of every leaf layer (a module
with no children, e.g. each layer of a ``Sequential``, nested ones included). A layer's
parameter count is Σ p.size over its own parameters; e.g. ``Linear(4, 8)`` has
4·8 weights + 8 biases = 40.

Example::

    >>> print(summary(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)), (4,)))
    Layer (type)   Output shape   Param #
    =====================================
    0 (Linear)     (1, 8)         40
    1 (ReLU)       (1, 8)         0
    2 (Linear)     (1, 3)         27
    =====================================
    Total params: 67
    Trainable params: 67
    Non-trainable params: 0
    Input shape: (1, 4)  Output shape: (1, 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.autograd import no_grad
from chainrule.tensor import Tensor
from chainrule.types import DTypeLike

if TYPE_CHECKING:
    from chainrule.nn.modules.module import Module

__all__ = ["summary"]


def _shape_of(output: Any) -> str:
    if isinstance(output, Tensor):
        return str(tuple(output.shape))
    if isinstance(output, (tuple, list)):
        return ", ".join(_shape_of(item) for item in output)
    return type(output).__name__


def _capture(module: Any, name: str, shapes: dict[str, str]) -> None:
    """Wrap the module's forward (an instance attribute shadows the class's method)."""
    forward = module.forward

    def recording_forward(*args: Any, **kwargs: Any) -> Any:
        output = forward(*args, **kwargs)
        shapes[name] = _shape_of(output)
        return output

    object.__setattr__(module, "forward", recording_forward)


def _count(params: Sequence[Any]) -> tuple[int, int]:
    """(all, trainable) parameter counts."""
    total = sum(int(p._data.size) for p in params)
    trainable = sum(int(p._data.size) for p in params if p.requires_grad)
    return total, trainable


def summary(model: Module, input_shape: Sequence[int], dtype: DTypeLike = None) -> str:
    """The model's layers as a table: dotted name (type), output shape, parameter count.

    Args:
        model: an ``nn.Module``.
        input_shape: one sample's shape, without the batch dimension (e.g. ``(4,)``).
        dtype: the dtype of the zeros fed in; the model's floating dtype by default (pass
            ``chainrule.int64`` for a model that starts with an ``Embedding``).

    Rows follow ``named_modules()`` order; a leaf layer the forward pass did not call shows
    '-' as its shape, and a container with parameters of its own gets a row for them.
    Totals count each parameter once, also when layers share it.
    """
    if dtype is None:
        floats = [p._data.dtype for p in model.parameters() if p._data.dtype.kind == "f"]
        dtype = floats[0] if floats else np.float32
    leaves: list[tuple[str, Any]] = []
    rows_of: list[tuple[str, Any]] = []
    for name, module in model.named_modules():
        is_leaf = not any(True for _ in module.children())
        if is_leaf and name:
            leaves.append((name, module))
        if is_leaf or any(True for _ in module.parameters(recurse=False)):
            rows_of.append((name, module))

    shapes: dict[str, str] = {}
    was_training = model.training
    for name, module in leaves:
        _capture(module, name, shapes)
    try:
        model.eval()
        with no_grad():
            output = model(Tensor._make(np.zeros((1, *input_shape), dtype=dtype), False))
    finally:
        for _, module in leaves:
            object.__delattr__(module, "forward")
        model.train(was_training)

    rows = [("Layer (type)", "Output shape", "Param #")]
    for name, module in rows_of:
        own, _ = _count(list(module.parameters(recurse=False)))
        label = f"{name or '(model)'} ({type(module).__name__})"
        shape = _shape_of(output) if not name else shapes.get(name, "-")
        rows.append((label, shape, f"{own:,}"))
    total, trainable = _count(list(model.parameters()))

    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    rule = "=" * max(len(line) for line in lines)
    return "\n".join(
        [
            lines[0],
            rule,
            *lines[1:],
            rule,
            f"Total params: {total:,}",
            f"Trainable params: {trainable:,}",
            f"Non-trainable params: {total - trainable:,}",
            f"Input shape: {(1, *input_shape)}  Output shape: {_shape_of(output)}",
        ]
    )
