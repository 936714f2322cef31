"""BLAS's ``axpy``, y ← α·x + y, as SGD's fused multiply-add: one call instead of NumPy's
emulation (`chainrule.kernels.fma_emulation`), shared between OpenBLAS's threads for long vectors.

OpenBLAS's axpy kernel on this project's benchmark machines (SkylakeX, picked on AVX-512
Xeons) computes each element as one fused multiply-add: α·x + y rounded once, what
torch.optim.SGD's ``param.add_(grad, alpha=-lr)`` gives and what `chainrule.kernels.fma`
computes. That is a property of the kernel OpenBLAS picked for this processor, not a
promise of the interface, so it is checked, not assumed: on first use for a dtype, `axpy`
runs the library's routine on a probe (2,000 and 40,011 values, lengths that reach every
kernel's vector body, its tail and OpenBLAS's split between threads; random values where
one and two roundings differ in about one in ten) and compares it with the emulation bit
for bit. A library that differs in one bit, or that is not found (`chainrule.kernels.blas.
openblas`: MKL, Accelerate, a NumPy built against a system BLAS), is never used: the
callers emulate. Element-wise, so the split between threads changes no bit.

Where it pays (measured in docs/speed.md, "SGD rounded as PyTorch rounds it"): a long
update right after two-thread products, whose halves sit in each core's cache; OpenBLAS's
threads, still spinning after those products, update their own halves. A call costs
about 7 µs whatever the length (64 values, quiet: the routine's call 4.9 µs, 4.7-5.3 in 9
rounds, the checks the rest; it was 8.1 with ``.ctypes.data`` pointers), where NumPy's
two-rounding ``p -= lr * g`` takes 2.7: short arrays stay with numba's loop when numba is
on, and without numba that is the price of an exact short update.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from chainrule.kernels import blas
from chainrule.kernels.fma_emulation import fma_emulated

__all__ = ["AXPY_MIN", "axpy", "axpy_ready"]

AXPY_MIN = 65_536
"""With numba on, SGD's plain update takes `axpy` from this many values on (the captured
W1/W2 flat pass, W1's first weight), numba's loop below (one call of the dispatcher costs
less than ctypes' conversions)."""

_routines: dict[Any, Any] = {}  # dtype -> the verified ctypes function, or None


def _load(dtype: np.dtype) -> Any:
    library = blas.openblas()
    if library is None:
        return None
    name = "cblas_saxpy" if dtype == np.float32 else "cblas_daxpy"
    found = blas.symbol(library, name)
    if found is None:
        return None
    function, wide = found
    integer = ctypes.c_int64 if wide else ctypes.c_int
    scalar = ctypes.c_float if dtype == np.float32 else ctypes.c_double
    function.restype = None
    function.argtypes = [integer, scalar, ctypes.c_void_p, integer, ctypes.c_void_p, integer]
    return function


def _agrees(function: Any, dtype: np.dtype) -> bool:
    """Whether the library's axpy is bitwise the emulated fma on the probe."""
    rng = np.random.default_rng(20261202)
    for size in (2_000, 40_011):
        x = rng.standard_normal(size).astype(dtype)
        y = rng.standard_normal(size).astype(dtype)
        alpha = dtype.type(-0.1)
        expected = fma_emulated(x, alpha, y, np.empty_like(y))
        _call(function, alpha, x, y)
        if not np.array_equal(y, expected):
            return False
    return True


_VIEW: Any = ctypes.c_char * 0  # Any: NumPy's stubs do not declare ndarray a Buffer
"""A zero-length ctypes array over an array's buffer passes its address to a ``c_void_p``
argument: one C call (0.9 µs measured), where ``.ctypes.data`` builds a Python object
(2.5 µs)."""


def _call(function: Any, alpha: Any, x: np.ndarray, y: np.ndarray) -> None:
    # y is writeable (checked by the callers); x may not be, and then takes .ctypes.data
    source = _VIEW.from_buffer(x) if x.flags.writeable else x.ctypes.data
    function(y.size, float(alpha), source, 1, _VIEW.from_buffer(y), 1)  # exact: a float


def axpy_ready(dtype: np.dtype) -> bool:
    """Whether `axpy` runs for float arrays of this dtype (found and verified; asked once)."""
    if dtype not in _routines:
        function = _load(dtype) if dtype in (np.float32, np.float64) else None
        _routines[dtype] = function if function is not None and _agrees(function, dtype) else None
    return _routines[dtype] is not None


def axpy(alpha: Any, x: np.ndarray, y: np.ndarray) -> bool:
    """y ← alpha·x + y rounded once, in place, by BLAS; False (nothing done) when it cannot:
    no verified routine for y's dtype, arrays that are not C-contiguous ndarrays of one
    dtype and size, or alpha = 0. ``alpha`` is rounded to y's dtype (as torch rounds
    ``alpha``).

    alpha = 0 is refused because OpenBLAS's axpy returns at once for it, leaving y as it
    is, where the fma (and torch's ``add_(x, alpha=0)``, e.g. SGD at lr = 0) gives NaN
    for an infinite or NaN x and +0 for y = -0 and a negative x·0 (measured)."""
    dtype = y.dtype
    if not (
        alpha != 0
        and type(x) is np.ndarray
        and type(y) is np.ndarray
        and x.dtype == dtype
        and x.size == y.size
        and x.flags.c_contiguous
        and y.flags.c_contiguous
        and y.flags.writeable
        and axpy_ready(dtype)
    ):
        return False
    _call(_routines[dtype], dtype.type(alpha), x, y)
    return True
