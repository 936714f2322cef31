"""Tensor creation helpers with PyTorch's signatures: zeros(2, 3), randn((2, 3)), ..."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import dtypes
from chainrule.random import Generator, numpy_stream
from chainrule.tensor import Tensor


def _size(size: tuple[Any, ...]) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    dims = tuple(int(n) for n in size)
    if any(n < 0 for n in dims):
        raise ValueError(f"negative dimension in size {dims}")
    return dims


def _wrap(array: np.ndarray, requires_grad: bool) -> Tensor:
    result = Tensor._make(array, False)
    return result.requires_grad_(True) if requires_grad else result


def _float(dtype: Any) -> np.dtype:
    return dtypes.DEFAULT_FLOAT if dtype is None else dtypes.as_dtype(dtype)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _wrap(np.zeros(_size(size), dtype=_float(dtype)), requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _wrap(np.ones(_size(size), dtype=_float(dtype)), requires_grad)


def empty(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _wrap(np.empty(_size(size), dtype=_float(dtype)), requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    if dtype is None:
        kind = np.asarray(fill_value).dtype.kind
        dtype = dtypes.DEFAULT_FLOAT if kind == "f" else (dtypes.bool_ if kind == "b" else None)
    array = np.full(
        _size((size,)), fill_value, dtype=None if dtype is None else dtypes.as_dtype(dtype)
    )
    if array.dtype.kind in "iu":
        array = array.astype(np.int64, copy=False)
    return _wrap(array, requires_grad)


def zeros_like(other: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _wrap(np.zeros_like(other._data, dtype=dtype and dtypes.as_dtype(dtype)), requires_grad)


def ones_like(other: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _wrap(np.ones_like(other._data, dtype=dtype and dtypes.as_dtype(dtype)), requires_grad)


def full_like(other: Tensor, fill_value: Any, dtype: Any = None) -> Tensor:
    return _wrap(
        np.full_like(other._data, fill_value, dtype=dtype and dtypes.as_dtype(dtype)), False
    )


def arange(
    start: float, end: float | None = None, step: float = 1, dtype: Any = None,
    requires_grad: bool = False,
) -> Tensor:  # fmt: skip
    """Values from start (inclusive) to end (exclusive); integers give int64, floats float32."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if dtype is None:
        integral = all(
            float(v).is_integer() and not isinstance(v, float) for v in (start, end, step)
        )
        dtype = dtypes.int64 if integral else dtypes.DEFAULT_FLOAT
    return _wrap(np.arange(start, end, step, dtype=dtypes.as_dtype(dtype)), requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None) -> Tensor:
    return _wrap(np.linspace(start, end, steps, dtype=_float(dtype)), False)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _wrap(np.eye(n, m, dtype=_float(dtype)), requires_grad)


def randn(
    *size: Any, generator: Generator | None = None, dtype: Any = None, requires_grad: bool = False
) -> Tensor:
    """Standard normal samples."""
    dt = _float(dtype)
    array = numpy_stream(generator).standard_normal(_size(size), dtype=dt)
    return _wrap(np.asarray(array, dtype=dt), requires_grad)


def rand(
    *size: Any, generator: Generator | None = None, dtype: Any = None, requires_grad: bool = False
) -> Tensor:
    """Uniform samples on [0, 1)."""
    dt = _float(dtype)
    array = numpy_stream(generator).random(_size(size), dtype=dt)
    return _wrap(np.asarray(array, dtype=dt), requires_grad)


def randint(
    low: int, high: int | None = None, size: Any = (), generator: Generator | None = None
) -> Tensor:
    """Integers uniform on [low, high) (randint(high, size) also works)."""
    if high is None:
        low, high = 0, low
    array = numpy_stream(generator).integers(low, high, size=_size((size,)), dtype=np.int64)
    return _wrap(np.asarray(array), False)


def randperm(n: int, generator: Generator | None = None) -> Tensor:
    """A random permutation of 0..n-1."""
    return _wrap(numpy_stream(generator).permutation(n).astype(np.int64), False)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with the ndarray, as torch.from_numpy."""
    return _wrap(np.asarray(array), False)
