"""Properties, dtype conversions and the new_* constructors."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule import dtypes
from chainrule.tensor import Tensor
from chainrule.tensor_methods._common import _array, method


def _new(fill: Callable[..., Tensor]) -> Callable[..., Tensor]:
    def make(
        self: Tensor,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
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
        dtype: Any = None,
        device: Any = None,
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
        data: Any,
        *,
        dtype: Any = None,
        device: Any = None,
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
def contiguous(self: Tensor, memory_format: Any = None) -> Tensor:
    """Values are always laid out for NumPy: the same tensor (PyTorch returns self too when
    it is already contiguous)."""
    return self


@method("is_contiguous")
def is_contiguous(self: Tensor, memory_format: Any = None) -> builtins.bool:
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
    self: Tensor, dtype: Any = None, non_blocking: builtins.bool = False, **kwargs: Any
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
