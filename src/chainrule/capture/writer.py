"""The source of a captured program as it is written: its lines, and the objects (kept
buffers, parameters, helpers) that its names stand for."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from chainrule.autograd import accumulate, unbroadcast
from chainrule.tensor import Tensor


def plain(name: str) -> str:
    """A name for a comment of the program: word characters only (no line break)."""
    return re.sub(r"\W", "_", name)


def _add_grad(previous: Any, part: Any) -> Any:
    """The copy (fan-out) gate for gradients that may be None."""
    if previous is None:
        return part
    return previous if part is None else previous + part


class Writer:
    """The source lines of a program, and the objects its names stand for."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.indent = 1
        self.namespace: dict[str, Any] = {
            "np": np, "Tensor": Tensor, "make": Tensor._make, "unbroadcast": unbroadcast,
            "accumulate": accumulate, "add_grad": _add_grad,
        }  # fmt: skip

    def bind(self, name: str, value: Any) -> str:
        self.namespace[name] = value
        return name

    def buffer(
        self, name: str, like: np.ndarray, shape: tuple[int, ...] | None = None,
        transposed: bool = False,
    ) -> str:  # fmt: skip
        """A buffer kept from step to step: like `like` (its layout too), or of like's dtype
        and the given shape, C-ordered, or with `transposed` the transpose of a C-ordered
        array (column-major: the layout of ops.linalg.batch_product's short batches)."""
        if shape is None:
            return self.bind(name, np.empty_like(like))
        if transposed:
            return self.bind(name, np.empty(shape[::-1], like.dtype).T)
        return self.bind(name, np.empty(shape, like.dtype))

    def __call__(self, line: str) -> None:
        self.lines.append("    " * self.indent + line)
