"""What every part of tensor_methods shares: the METHODS table, the @method decorator,
and the argument helpers (_array, _plain, _dims)."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule import ops
from chainrule.tensor import Tensor

Scalar = int | float | bool
METHODS: dict[str, Callable[..., Any]] = {}
"""Every method this module installs, by name (the coverage page and tests read it)."""
PROPERTIES: dict[str, property] = {}
"""Attributes installed as properties (``x.mT``, ``x.is_cuda`` ...), by name."""


def method(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Install the decorated function on Tensor under each name."""

    def install(fn: Callable[..., Any]) -> Callable[..., Any]:
        for name in names:
            METHODS[name] = fn
        return fn

    return install


def _array(value: Any) -> Any:
    return value.detach().numpy() if isinstance(value, Tensor) else value


def _plain(array: Any) -> Tensor:
    """A tensor outside the graph (comparisons, indices, samples)."""
    return Tensor._make(np.asarray(array), False)


def _dims(dim: Any, keepdim: Any, keepdims: Any, axis: Any = None) -> tuple[Any, bool]:
    """PyTorch accepts ``dim=``/``axis=`` and ``keepdim=``/``keepdims=`` alike."""
    return (axis if dim is None else dim), builtins.bool(
        keepdims if keepdims is not None else keepdim
    )


def _axis(self: Tensor, dim: Any) -> builtins.int:
    """`dim` as a non-negative axis of self (a 0-d tensor has the one axis 0)."""
    ops.normalize_dims(dim, self.ndim)  # the usual IndexError for a bad dim
    return builtins.int(dim) % builtins.max(self.ndim, 1)
