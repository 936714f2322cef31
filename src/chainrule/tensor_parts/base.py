"""`TensorBase`: the slots every tensor has, shared by the mixins of `chainrule.tensor`."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from chainrule.autograd import Function, VersionCounter
    from chainrule.tensor import Tensor

Scalar = int | float | bool


class TensorBase:
    """The state of a tensor: its ndarray, its place in the graph and its version counter.

    The mixins in this package test `isinstance(x, TensorBase)` (chainrule.tensor.Tensor is
    the only subclass that is ever instantiated) and build results with `self._make`.
    """

    __slots__ = (
        "_data",
        "_vc",
        "grad",
        "requires_grad",
        "_ctx",
        "_retains_grad",
        "_seq",
        "_flow",
        "_prev",  # after an in-place op in the graph: this tensor's version before it
        "_base",  # for a view (basic index, reshape, permute): the tensor it views
        "_view_of",  # for a view: (op, options) that made it, to redo on a gradient
        "__weakref__",
    )
    __array_ufunc__ = None  # make `ndarray + Tensor` call Tensor.__radd__

    _data: np.ndarray
    _vc: VersionCounter | None
    grad: Tensor | None
    requires_grad: builtins.bool
    _ctx: Function | None
    _seq: builtins.int
    _flow: np.ndarray | None
    _retains_grad: builtins.bool

    @staticmethod
    def _make(data: np.ndarray, requires_grad: builtins.bool) -> Tensor:
        raise NotImplementedError  # Tensor._make

    if TYPE_CHECKING:  # for type checkers only: the methods chainrule.tensor_methods attaches

        def __getattr__(self, name: str) -> Any: ...

    # No `__getattr__` at run time: in CPython 3.11 it would turn off the specialised reads of
    # every tensor attribute. A torch name Tensor lacks points to the coverage page through
    # a descriptor per name instead (chainrule.coverage.point_to_coverage, in tensor.py).
