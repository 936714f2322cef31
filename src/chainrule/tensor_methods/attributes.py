"""Tensor attributes PyTorch code reads: memory layout, device flags, and the complex-number
helpers that are the identity on real tensors.

chainrule tensors are real, dense and on the CPU, so the device and format flags
(``is_cuda``, ``is_sparse``, ``is_quantized`` ...) are constants, and ``conj()``,
``resolve_conj()``, ``real`` return the tensor itself, as PyTorch does for a real tensor.
``stride()``, ``storage_offset()`` and ``data_ptr()`` describe the NumPy array underneath
(in elements, as PyTorch counts): a view shares its base's memory, so
``x[:, 1:].storage_offset() == 1`` as in torch. They can differ from torch where chainrule
lays a result out differently (a short-batch matmul returns a column-major array).
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from chainrule import dtypes
from chainrule.tensor import Tensor
from chainrule.tensor_methods._common import PROPERTIES, _array, _plain, method
from chainrule.types import DTypeLike


class layout:
    """PyTorch's memory-layout type; chainrule has one layout, ``strided`` (dense)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"torch.{self.name}"


strided = layout("strided")

for _flag in ("cuda", "sparse", "sparse_csr", "quantized", "meta", "mkldnn", "mps", "xla",
              "xpu", "ipu", "vulkan", "maia", "mtia", "nested"):  # fmt: skip
    PROPERTIES[f"is_{_flag}"] = property(lambda self: False, doc="False: chainrule is CPU-only.")
PROPERTIES["is_cpu"] = property(lambda self: True, doc="True: every chainrule tensor is.")
PROPERTIES["layout"] = property(lambda self: strided, doc="torch.strided (dense memory).")
PROPERTIES["itemsize"] = property(
    lambda self: builtins.int(self.dtype.itemsize), doc="Bytes per element."
)
PROPERTIES["nbytes"] = property(
    lambda self: builtins.int(self.numel() * self.dtype.itemsize), doc="numel · itemsize."
)
PROPERTIES["retains_grad"] = property(
    lambda self: builtins.bool(self._retains_grad),
    doc="Whether retain_grad() was called on this non-leaf tensor.",
)


def _matrix_transpose(self: Tensor) -> Tensor:
    if self.ndim < 2:
        raise RuntimeError(
            f"tensor.mT is only supported on matrices or batches of matrices. Got {self.ndim}-D "
            "tensor."
        )
    return self.transpose(-2, -1)


PROPERTIES["mT"] = property(_matrix_transpose, doc="Transpose of the last two dims.")
PROPERTIES["mH"] = property(_matrix_transpose, doc="mT (the conjugate of a real tensor is itself).")


def _hermitian(self: Tensor) -> Tensor:
    if self.ndim > 2:
        raise RuntimeError(
            f"tensor.H is only supported on matrices (2-D tensors). Got {self.ndim}-D tensor."
        )
    return self.T


PROPERTIES["H"] = property(_hermitian, doc="Conjugate transpose of a matrix: .T when real.")
PROPERTIES["real"] = property(lambda self: self, doc="The tensor itself (it is real).")


def _imag(self: Tensor) -> Tensor:
    raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")


PROPERTIES["imag"] = property(_imag, doc="An error, as in PyTorch for a real tensor.")


@method("adjoint")
def adjoint(self: Tensor) -> Tensor:
    return _matrix_transpose(self)


@method("conj", "conj_physical", "resolve_conj", "resolve_neg")
def conj(self: Tensor) -> Tensor:
    """The complex conjugate: the tensor itself for a real tensor (PyTorch returns self)."""
    return self


@method("is_conj", "is_neg", "is_inference", "is_distributed", "is_shared", "is_pinned")
def is_conj(self: Tensor) -> builtins.bool:
    """False: no lazy conjugate/negative bit, no inference mode, no shared or pinned memory."""
    return False


@method("is_signed")
def is_signed(self: Tensor) -> builtins.bool:
    return self.dtype.kind in "fi"


@method("is_same_size")
def is_same_size(self: Tensor, other: Tensor) -> builtins.bool:
    return tuple(self.shape) == tuple(other.shape)


@method("isreal")
def isreal(self: Tensor) -> Tensor:
    """True everywhere: a real tensor has no imaginary part."""
    return _plain(np.ones(self.shape, dtype=bool))


@method("angle")
def angle(self: Tensor) -> Tensor:
    """The argument of each value: 0 for x >= 0, π for x < 0 (NaN stays NaN); integer
    inputs give the default float. Its gradient is 0, as torch's for real inputs."""
    values = _array(self)
    target = values.dtype if values.dtype.kind == "f" else dtypes.get_default_dtype()
    result = np.where(values < 0, np.pi, 0.0).astype(target)
    result = np.where(np.isnan(values), values, result).astype(target)
    out = Tensor._make(result, False)
    return out if not self.requires_grad else self._as_float() * 0 + out


@method("get_device")
def get_device(self: Tensor) -> builtins.int:
    """-1: the CPU (a GPU tensor would give its index)."""
    return -1


@method("stride")
def stride(self: Tensor, dim: Any = None) -> Any:
    """Elements to step in memory for one step along each dim."""
    array = self._data
    steps = tuple(builtins.int(s) // array.itemsize for s in array.strides)
    return steps if dim is None else steps[dim]


def _root(array: np.ndarray) -> np.ndarray:
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


@method("storage_offset")
def storage_offset(self: Tensor) -> builtins.int:
    """Where this tensor's first element sits in its base's memory, in elements."""
    array = self._data
    start = array.__array_interface__["data"][0]
    base = _root(array).__array_interface__["data"][0]
    return builtins.int((start - base) // array.itemsize)


@method("data_ptr", "const_data_ptr")
def data_ptr(self: Tensor) -> builtins.int:
    """The address of the first element (equal for tensors sharing memory at one place)."""
    return builtins.int(self._data.__array_interface__["data"][0])


@method("to_dense")
def to_dense(self: Tensor, dtype: DTypeLike = None, *, masked_grad: Any = None) -> Tensor:
    """A dense tensor is its own dense form."""
    return self if dtype is None else self.to(dtype)


@method("dim_order")
def dim_order(self: Tensor, *, ambiguity_check: Any = False) -> tuple[builtins.int, ...]:
    """The dims from outermost to innermost in memory (by decreasing stride)."""
    steps = stride(self)
    return tuple(sorted(range(self.ndim), key=lambda d: (-steps[d], d)))
