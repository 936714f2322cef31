"""Properties, dtype conversions and the new_* constructors."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule import dtypes
from chainrule.tensor import Tensor
from chainrule.tensor_methods._common import _array, method
from chainrule.types import DeviceLike, DTypeLike, TensorLike


def _new(fill: Callable[..., Tensor]) -> Callable[..., Tensor]:
    def make(
        self: Tensor,
        *size: Any,
        dtype: DTypeLike = None,
        device: DeviceLike = None,
        requires_grad: builtins.bool = False,
        **kw: Any,
    ) -> Tensor:
        return fill(
            *size,
            dtype=self.dtype if dtype is None else dtype,
            device=device,
            requires_grad=requires_grad,
        )

    return make


def _install_new() -> None:
    from chainrule import creation

    method("new_zeros")(_new(creation.zeros))
    method("new_ones")(_new(creation.ones))
    method("new_empty")(_new(creation.empty))

    def new_full(
        self: Tensor,
        size: Any,
        fill_value: Any,
        *,
        dtype: DTypeLike = None,
        device: DeviceLike = None,
        requires_grad: builtins.bool = False,
        **kw: Any,
    ) -> Tensor:
        return creation.full(
            size,
            fill_value,
            dtype=self.dtype if dtype is None else dtype,
            device=device,
            requires_grad=requires_grad,
        )

    def new_tensor(
        self: Tensor,
        data: TensorLike,
        *,
        dtype: DTypeLike = None,
        device: DeviceLike = None,
        requires_grad: builtins.bool = False,
    ) -> Tensor:
        return Tensor(
            data, dtype=self.dtype if dtype is None else dtype, requires_grad=requires_grad
        )

    method("new_full")(new_full)
    method("new_tensor")(new_tensor)


@method("nelement")
def nelement(self: Tensor) -> builtins.int:
    return self.numel()


@method("ndimension")
def ndimension(self: Tensor) -> builtins.int:
    return self.ndim


@method("element_size")
def element_size(self: Tensor) -> builtins.int:
    return builtins.int(self.dtype.itemsize)


@method("is_floating_point")
def is_floating_point(self: Tensor) -> builtins.bool:
    return self.dtype.kind == "f"


@method("is_complex")
def is_complex(self: Tensor) -> builtins.bool:
    return False


@method("contiguous")
def contiguous(self: Tensor, memory_format: object = None) -> Tensor:
    """Values are always laid out for NumPy: the same tensor (PyTorch returns self too when
    it is already contiguous)."""
    return self


@method("is_contiguous")
def is_contiguous(self: Tensor, memory_format: object = None) -> builtins.bool:
    return builtins.bool(_array(self).flags.c_contiguous)


@method("half")
def half(self: Tensor) -> Tensor:
    return self.to(dtypes.float16)


@method("short")
def short(self: Tensor) -> Tensor:
    return self.to(dtypes.int16)


@method("char")
def char(self: Tensor) -> Tensor:
    return self.to(dtypes.int8)


@method("byte")
def byte(self: Tensor) -> Tensor:
    return self.to(dtypes.uint8)


_TYPE_NAMES = {
    "float32": "torch.FloatTensor", "float64": "torch.DoubleTensor", "float16": "torch.HalfTensor",
    "int64": "torch.LongTensor", "int32": "torch.IntTensor", "int16": "torch.ShortTensor",
    "int8": "torch.CharTensor", "uint8": "torch.ByteTensor", "bool": "torch.BoolTensor",
}  # fmt: skip
_NAMED_TYPES = {name: np.dtype(code) for code, name in _TYPE_NAMES.items()}


@method("type")
def type(
    self: Tensor, dtype: DTypeLike = None, non_blocking: builtins.bool = False, **kwargs: Any
) -> Any:
    """type() → PyTorch's type name ('torch.FloatTensor'); type(dtype) → converted."""
    if dtype is None:
        return _TYPE_NAMES.get(self.dtype.name, self.dtype.name)
    if isinstance(dtype, str) and dtype in _NAMED_TYPES:
        dtype = _NAMED_TYPES[dtype]
    return self.to(dtype)


@method("__format__")
def format(self: Tensor, spec: str) -> str:
    """f"{loss:.4f}": a 0-d tensor formats as its number, as in PyTorch; others need an
    empty spec (then str(tensor))."""
    if self.ndim == 0:
        return builtins.format(self.item(), spec)
    return object.__format__(self, spec)


@method("is_nonzero")
def is_nonzero(self: Tensor) -> builtins.bool:
    """The truth of a one-element tensor (an error for any other size, as torch)."""
    if self.numel() != 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return builtins.bool(self.item())


@method("new")
def new(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """The legacy constructor: new(2, 3) is a (2, 3) tensor of self's dtype (zeros, not
    uninitialised), new([1, 2]) a tensor of those values, new() an empty one."""
    if len(args) == 1 and not isinstance(args[0], builtins.int):
        return Tensor(args[0], dtype=self.dtype)
    if not args:
        return Tensor._make(np.zeros((0,), dtype=self.dtype), False)
    return Tensor._make(np.zeros(tuple(builtins.int(a) for a in args), dtype=self.dtype), False)


@method("new_empty_strided")
def new_empty_strided(self: Tensor, size: Any, stride: Any, **kwargs: Any) -> Tensor:
    """new_empty(size): NumPy lays the values out itself, so `stride` is not honoured."""
    return self.new_empty(tuple(size), **kwargs)


def _elementwise(fn: Callable[..., Any], *arrays: Any, dtype: np.dtype) -> Any:
    return np.vectorize(fn, otypes=[dtype])(*arrays) if arrays[0].size else arrays[0]


@method("apply_")
def apply_(self: Tensor, callable: Callable[[Any], Any]) -> Tensor:
    """In place: each element replaced by callable(element) (a Python call each: slow)."""
    values = _elementwise(callable, _array(self), dtype=self.dtype)
    return self.copy_(Tensor._make(np.asarray(values, dtype=self.dtype), False))


@method("map_")
def map_(self: Tensor, tensor: Tensor, callable: Callable[[Any, Any], Any]) -> Tensor:
    """In place: self[i] = callable(self[i], tensor[i]) (tensor broadcast to self)."""
    other = np.broadcast_to(_array(tensor), tuple(self.shape))
    values = _elementwise(callable, _array(self), other, dtype=self.dtype)
    return self.copy_(Tensor._make(np.asarray(values, dtype=self.dtype), False))


@method("map2_")
def map2_(self: Tensor, x: Tensor, y: Tensor, callable: Callable[..., Any]) -> Tensor:
    """In place: self[i] = callable(self[i], x[i], y[i])."""
    shape = tuple(self.shape)
    a, b = np.broadcast_to(_array(x), shape), np.broadcast_to(_array(y), shape)
    values = _elementwise(callable, _array(self), a, b, dtype=self.dtype)
    return self.copy_(Tensor._make(np.asarray(values, dtype=self.dtype), False))


@method("conj_physical_")
def conj_physical_(self: Tensor) -> Tensor:
    """In place conjugation: nothing to change in a real tensor."""
    return self
