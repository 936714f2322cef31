"""Tensor creation with PyTorch's signatures: zeros(2, 3), randn((2, 3), generator=g), ...

Every function takes PyTorch's keyword arguments: ``dtype=``, ``device=`` (the CPU only:
'cpu', None or a CPU `device`; a GPU device is a clear error), ``requires_grad=``,
``generator=`` for random ones, ``out=`` (the result is written into that tensor) and the
memory-layout options ``layout=``, ``pin_memory=``, ``memory_format=`` (accepted: a NumPy
array has one layout). Floating results use the default dtype (`set_default_dtype`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import dtypes
from chainrule.devices import check_device
from chainrule.random import Generator, boxmuller, draws, resolve
from chainrule.tensor import Tensor
from chainrule.types import DeviceLike, DTypeLike, ShapeLike, TensorLike, TensorOrNumber


def _size(size: tuple[Any, ...]) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    elif len(size) == 1 and isinstance(size[0], Tensor):
        size = tuple(size[0].tolist()) if size[0].ndim else (size[0].item(),)
    dims = tuple(int(n) for n in size)
    if any(n < 0 for n in dims):
        raise ValueError(f"negative dimension in size {dims}")
    return dims


def _wrap(
    array: np.ndarray,
    requires_grad: bool = False,
    device: DeviceLike = None,
    out: Tensor | None = None,
    **layout: Any,
) -> Tensor:
    """The tensor for `array`, after checking the device; written into `out` when given."""
    check_device(device)
    result = Tensor._make(array, False)
    if out is not None:
        return write_out(out, result)
    return result.requires_grad_(True) if requires_grad else result


def write_out(out: Any, result: Tensor) -> Tensor:
    """PyTorch's ``out=``: the values go into `out` (of the result's shape), returned."""
    if not isinstance(out, Tensor):
        raise TypeError(f"out= expects a Tensor, got {type(out).__name__}")
    if tuple(out.shape) != tuple(result.shape):
        raise ValueError(f"out= has shape {tuple(out.shape)} but the result has {result.shape}")
    return out.copy_(result.detach())


def _float(dtype: DTypeLike) -> np.dtype:
    return dtypes.get_default_dtype() if dtype is None else dtypes.as_dtype(dtype)


def zeros(
    *size: ShapeLike, dtype: DTypeLike = None, requires_grad: bool = False, **kw: Any
) -> Tensor:
    return _wrap(np.zeros(_size(size), dtype=_float(dtype)), requires_grad, **kw)


def ones(
    *size: ShapeLike, dtype: DTypeLike = None, requires_grad: bool = False, **kw: Any
) -> Tensor:
    return _wrap(np.ones(_size(size), dtype=_float(dtype)), requires_grad, **kw)


def empty(
    *size: ShapeLike, dtype: DTypeLike = None, requires_grad: bool = False, **kw: Any
) -> Tensor:
    """Uninitialised in PyTorch; zeros here (NumPy's np.empty would leak old memory)."""
    return _wrap(np.zeros(_size(size), dtype=_float(dtype)), requires_grad, **kw)


def _fill_dtype(fill_value: Any, dtype: DTypeLike) -> np.dtype:
    if dtype is not None:
        return dtypes.as_dtype(dtype)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    kind = np.asarray(fill_value).dtype.kind
    return {"f": dtypes.get_default_dtype(), "b": dtypes.bool_}.get(kind, dtypes.int64)


def full(
    size: ShapeLike,
    fill_value: TensorOrNumber,
    *,
    dtype: DTypeLike = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    value = fill_value.item() if isinstance(fill_value, Tensor) else fill_value
    array = np.full(_size((size,)), value, dtype=_fill_dtype(fill_value, dtype))
    return _wrap(array, requires_grad, **kw)


def _like_dtype(other: TensorLike, dtype: DTypeLike) -> np.dtype:
    return dtypes.as_dtype(dtype) if dtype is not None else _array(other).dtype


def _array(other: TensorLike) -> np.ndarray:
    return other.detach().numpy() if isinstance(other, Tensor) else np.asarray(other)


def zeros_like(
    input: Any,
    *,
    dtype: DTypeLike = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    shape = _array(input).shape
    return _wrap(np.zeros(shape, _like_dtype(input, dtype)), requires_grad, **kw)


def ones_like(
    input: Any,
    *,
    dtype: DTypeLike = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    shape = _array(input).shape
    return _wrap(np.ones(shape, _like_dtype(input, dtype)), requires_grad, **kw)


empty_like = zeros_like


def full_like(
    input: Any,
    fill_value: Any,
    *,
    dtype: DTypeLike = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    shape = _array(input).shape
    return _wrap(np.full(shape, fill_value, _like_dtype(input, dtype)), requires_grad, **kw)


def rand_like(
    input: Any,
    *,
    generator: Generator | None = None,
    dtype: DTypeLike = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    dt = _like_dtype(input, dtype)
    return rand(
        _array(input).shape, generator=generator, dtype=dt, requires_grad=requires_grad, **kw
    )


def randn_like(
    input: Any,
    *,
    generator: Generator | None = None,
    dtype: DTypeLike = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    dt = _like_dtype(input, dtype)
    return randn(
        _array(input).shape, generator=generator, dtype=dt, requires_grad=requires_grad, **kw
    )


def randint_like(
    input: Any,
    low: int = 0,
    high: int | None = None,
    *,
    generator: Generator | None = None,
    dtype: DTypeLike = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    shape = _array(input).shape
    result = randint(low, high, shape, generator=generator, **kw)
    return result.to(_like_dtype(input, dtype))


def arange(
    start: Any, end: Any = None, step: Any = 1, *, dtype: DTypeLike = None,
    requires_grad: bool = False, **kw: Any,
) -> Tensor:  # fmt: skip
    """Values from start (inclusive) to end (exclusive); integers give int64, floats float32."""
    start, end, step = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if dtype is None:
        integral = all(
            float(v).is_integer() and not isinstance(v, float) for v in (start, end, step)
        )
        dtype = dtypes.int64 if integral else dtypes.get_default_dtype()
    return _wrap(np.arange(start, end, step, dtype=dtypes.as_dtype(dtype)), requires_grad, **kw)


def range(
    start: TensorOrNumber,
    end: TensorOrNumber | None = None,
    step: TensorOrNumber = 1,
    *,
    dtype: DTypeLike = None,
    **kw: Any,
) -> Tensor:
    """Like arange but including `end`, and floating by default (torch.range)."""
    if end is None:
        start, end = 0, start
    count = int(np.floor((end - start) / step)) + 1
    values = start + step * np.arange(count, dtype=np.float64)
    return _wrap(values.astype(_float(dtype)), **kw)


def linspace(
    start: TensorOrNumber,
    end: TensorOrNumber,
    steps: int,
    *,
    dtype: DTypeLike = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    return _wrap(np.linspace(start, end, steps, dtype=_float(dtype)), requires_grad, **kw)


def logspace(
    start: TensorOrNumber, end: TensorOrNumber, steps: int, base: float = 10.0, *,
    dtype: DTypeLike = None, requires_grad: bool = False, **kw: Any,
) -> Tensor:  # fmt: skip
    values = np.logspace(start, end, steps, base=base)
    return _wrap(values.astype(_float(dtype)), requires_grad, **kw)


def eye(
    n: int, m: int | None = None, *, dtype: DTypeLike = None, requires_grad: bool = False, **kw: Any
) -> Tensor:
    return _wrap(np.eye(n, m, dtype=_float(dtype)), requires_grad, **kw)


def randn(
    *size: ShapeLike, generator: Generator | None = None, dtype: DTypeLike = None,
    requires_grad: bool = False, **kw: Any,
) -> Tensor:  # fmt: skip
    """Standard normal samples: torch's numbers for the same seed (`chainrule.random`)."""
    dt = _float(dtype)
    array = boxmuller.normal(resolve(generator), _size(size), dt)
    return _wrap(array, requires_grad, **kw)


def rand(
    *size: ShapeLike, generator: Generator | None = None, dtype: DTypeLike = None,
    requires_grad: bool = False, **kw: Any,
) -> Tensor:  # fmt: skip
    """Uniform samples on [0, 1): torch's numbers for the same seed."""
    dt = _float(dtype)
    array = draws.uniform(resolve(generator), _size(size), dt)
    return _wrap(array, requires_grad, **kw)


def randint(
    low: int | None = None, high: int | None = None, size: Any = (), *,
    generator: Generator | None = None, dtype: DTypeLike = None, requires_grad: bool = False,
    **kw: Any,
) -> Tensor:  # fmt: skip
    """Integers uniform on [low, high) (randint(high, size) and randint(high=, size=) too)."""
    if low is None and high is None:
        raise TypeError("randint() missing required argument 'high'")
    if high is None:
        low, high = 0, low
    elif low is None:
        low = 0
    if isinstance(high, (tuple, list)):  # randint(high, size)
        low, high, size = 0, low, high
    dt = dtypes.int64 if dtype is None else dtypes.as_dtype(dtype)
    wide = dt in (dtypes.int64, dtypes.float32, dtypes.float64)
    array = draws.integers(resolve(generator), int(low), int(high), _size((size,)), wide)
    return _wrap(array.astype(dt, copy=False), requires_grad, **kw)


def randperm(
    n: int, *, generator: Generator | None = None, dtype: DTypeLike = None,
    requires_grad: bool = False, **kw: Any,
) -> Tensor:  # fmt: skip
    """A random permutation of 0..n-1 (torch's Fisher-Yates, so torch's order for a seed)."""
    dt = dtypes.int64 if dtype is None else dtypes.as_dtype(dtype)
    if np.dtype(dt).kind in "iu":  # written in that dtype directly (no int64 copy to cast)
        array = draws.randperm(resolve(generator), int(n), dt)
    else:
        array = draws.randperm(resolve(generator), int(n)).astype(dt)
    return _wrap(array, requires_grad, **kw)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with the ndarray, as torch.from_numpy."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return _wrap(array)


def as_tensor(data: TensorLike, dtype: DTypeLike = None, device: DeviceLike = None) -> Tensor:
    """`data` as a tensor, sharing memory when it already is one (or an ndarray) of `dtype`."""
    check_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or np.dtype(dtype) == data.dtype):
        return _wrap(data)
    return Tensor(data, dtype=dtype)


asarray = as_tensor
