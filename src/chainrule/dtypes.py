"""Data types and the rules that turn Python and NumPy data into a tensor's array.

PyTorch's rules, on NumPy dtypes: Python floats become float32 (the default float type),
Python ints int64, bools bool; NumPy arrays keep their dtype (float64 stays float64).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.types import DTypeLike

dtype = np.dtype  # `isinstance(x.dtype, chainrule.dtype)`: chainrule's dtypes are NumPy's
float16 = half = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
int8 = np.dtype(np.int8)
int16 = short = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = long = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)
uint16 = np.dtype(np.uint16)
uint32 = np.dtype(np.uint32)
uint64 = np.dtype(np.uint64)
bool_ = np.dtype(np.bool_)

ALIASES: dict[str, np.dtype] = {
    "float": float32,
    "double": float64,
    "half": float16,
    "int": int32,
    "long": int64,
    "short": int16,
    "bool": bool_,
}
"""PyTorch's dtype names that shadow Python builtins (``torch.float``, ``torch.int``, ...):
exported by `chainrule` under those names, kept out of this module's own namespace."""

DEFAULT_FLOAT = float32


def get_default_dtype() -> np.dtype:
    """The dtype of floating tensors made from Python floats and by zeros(), randn(), ..."""
    return DEFAULT_FLOAT


def set_default_dtype(d: DTypeLike) -> None:
    """Make `d` (float32 or float64; float16 too) the default floating dtype, as in PyTorch.

    Layers created afterwards get weights of this dtype, since they are made by randn/empty.
    """
    global DEFAULT_FLOAT
    chosen = as_dtype(d)
    if chosen.kind != "f":
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    DEFAULT_FLOAT = chosen


def as_dtype(dtype: DTypeLike) -> np.dtype:
    """Accept a NumPy dtype, a dtype name ('float32') or a Python type, as PyTorch does."""
    if isinstance(dtype, str) and dtype.removeprefix("torch.") in ALIASES:
        return ALIASES[dtype.removeprefix("torch.")]
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}: use e.g. chainrule.float32") from None


def float_or_default(dtype: DTypeLike) -> np.dtype:
    """`dtype` as a NumPy dtype, or the default floating dtype when None: what a layer's
    parameters are made in (the `dtype=` argument of every built-in layer)."""
    return DEFAULT_FLOAT if dtype is None else as_dtype(dtype)


def is_floating(dtype: np.dtype) -> bool:
    return dtype.kind == "f"


def to_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Convert `data` (nested lists, scalars, ndarrays) into a fresh ndarray.

    A Tensor is unwrapped by its caller (Tensor.__init__): this module sits below tensor.py."""
    if isinstance(data, np.ndarray | np.generic):
        array = np.array(data, dtype=None if dtype is None else as_dtype(dtype))
    else:
        try:
            array = np.array(data, dtype=None if dtype is None else as_dtype(dtype))
        except (ValueError, TypeError) as error:
            raise ValueError(f"cannot make a tensor from {type(data).__name__}: {error}") from None
        if dtype is None and array.dtype == np.float64:
            array = array.astype(DEFAULT_FLOAT)  # Python floats are float32, as in PyTorch
        elif dtype is None and array.dtype.kind in "iu":
            array = array.astype(np.int64, copy=False)  # Python ints are int64
    if array.dtype == object or array.dtype.kind in "USV":
        raise TypeError(f"cannot make a tensor of dtype {array.dtype} from {type(data).__name__}")
    return array


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}  # bool < integer < floating, as in PyTorch


def promote(a: np.dtype, b: np.dtype, a_is_0d: bool = False, b_is_0d: bool = False) -> np.dtype:
    """The result dtype of a binary op, by PyTorch's rule: the higher category wins (a float
    beats an integer beats a bool); within one category a 0-d operand does not widen a
    tensor with dims (float32 (N,) * float64 0-d -> float32); otherwise NumPy's rule."""
    if a == b:
        return a
    category_a, category_b = _CATEGORY.get(a.kind, 3), _CATEGORY.get(b.kind, 3)
    if category_a != category_b:
        return a if category_a > category_b else b
    if a_is_0d != b_is_0d:
        return b if a_is_0d else a
    return np.promote_types(a, b)
