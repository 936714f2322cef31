"""What both views of autodiff share: the names given to tensors and how values print."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

import numpy as np

from chainrule.tensor import Tensor

MAX_SHOWN = 6  # tensors with at most this many elements show their values


class _HasParameters(Protocol):
    def named_parameters(self) -> Iterable[tuple[str, Tensor]]: ...


Names = Mapping[str, Tensor] | Iterable[tuple[str, Tensor]] | _HasParameters | None


def _named_tensors(names: Names) -> list[tuple[str, Tensor]]:
    """(name, tensor) pairs from a dict, an iterable of pairs or a model's named_parameters."""
    if names is None:
        return []
    if hasattr(names, "named_parameters"):
        return list(names.named_parameters())
    if isinstance(names, Mapping):
        return list(names.items())
    return list(names)


def _name_table(names: Names) -> dict[int, str]:
    return {id(tensor): name for name, tensor in _named_tensors(names)}


def _format(array: np.ndarray | None) -> str:
    """Small arrays in full on one line, larger ones as their shape and norm."""
    if array is None:
        return "-"
    array = np.asarray(array)
    if array.size > MAX_SHOWN:
        return f"<{array.shape} array, norm {float(np.linalg.norm(array)):.4g}>"
    if array.ndim == 0:
        return f"{array.item():.4g}" if array.dtype.kind == "f" else str(array.item())
    if array.dtype.kind == "f":
        text = np.array2string(array, separator=", ", formatter={"float_kind": "{:.4g}".format})
    else:
        text = np.array2string(array, separator=", ")
    return " ".join(text.split())
