"""The ONNX graph under construction: nodes and initializers, each value named after the
layer that makes it; and the lazy import of the onnx package (an optional extra)."""

from __future__ import annotations

from typing import Any

import numpy as np

INSTALL_HINT = 'pip install "chainrule[onnx]"'


def load_onnx() -> Any:
    try:
        import onnx  # optional dependency
        import onnx.checker
        import onnx.helper
        import onnx.numpy_helper
    except ImportError as error:
        raise ImportError(
            f"chainrule.onnx needs the onnx package: install it with: {INSTALL_HINT}"
        ) from error
    return onnx


class Graph:
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
