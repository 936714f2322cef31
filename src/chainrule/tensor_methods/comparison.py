"""Comparisons (eq, lt, isclose, allclose ...): tensors outside the graph, as in PyTorch."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.tensor import Tensor
from chainrule.tensor_methods._common import _array, _plain, method
from chainrule.types import TensorLike


def _comparison(compare: Any) -> Callable[..., Tensor]:
    def apply(self: Tensor, other: TensorLike) -> Tensor:
        return _plain(compare(_array(self), _array(other)))

    return apply


for _names, _ufunc in (
    (("ne", "not_equal"), np.not_equal),
    (("lt", "less"), np.less),
    (("le", "less_equal"), np.less_equal),
    (("gt", "greater"), np.greater),
    (("ge", "greater_equal"), np.greater_equal),
    (("logical_and",), np.logical_and),
    (("logical_or",), np.logical_or),
    (("logical_xor",), np.logical_xor),
    (("bitwise_and", "__and__"), np.bitwise_and),
    (("bitwise_or", "__or__"), np.bitwise_or),
    (("bitwise_xor", "__xor__"), np.bitwise_xor),
):
    method(*_names)(_comparison(_ufunc))


for _names, _test in (
    (("isnan",), np.isnan),
    (("isinf",), np.isinf),
    (("isfinite",), np.isfinite),
    (("isposinf",), np.isposinf),
    (("isneginf",), np.isneginf),
    (("logical_not",), np.logical_not),
    (("bitwise_not",), np.invert),
    (("signbit",), np.signbit),
):
    method(*_names)(lambda self, _f=_test: _plain(_f(_array(self))))


@method("isclose")
def isclose(
    self: Tensor,
    other: TensorLike,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    equal_nan: builtins.bool = False,
) -> Tensor:
    return _plain(
        np.isclose(_array(self), _array(other), rtol=rtol, atol=atol, equal_nan=equal_nan)
    )


@method("allclose")
def allclose(
    self: Tensor,
    other: TensorLike,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    equal_nan: builtins.bool = False,
) -> builtins.bool:
    return builtins.bool(
        np.allclose(_array(self), _array(other), rtol=rtol, atol=atol, equal_nan=equal_nan)
    )
