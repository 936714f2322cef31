"""BLAS threads per matrix product: one thread for products too short to share.

OpenBLAS (what NumPy's wheels ship) splits a product between all its threads once it has
at least 262,144 multiply-adds (m·k·n: its own threshold, 65,536 x 4). A split costs a
hand-over to the other threads and a barrier at the end, and the rows the other thread
wrote sit in that core's cache, so the elementwise passes that read the result next (a
bias, ReLU, the optimizer's update) fetch them from across the chip. On the benchmark
machine (2-core Xeon, AVX-512), quiet, a second thread pays from a few million
multiply-adds up: the captured W1 step ran 1.068x (1.046-1.091) faster with W1's
128 x 256 x 128 products (4.2M) on two threads than on one, W2's 1.059x (0.84-1.22) with
its 32 x 784 x 256 (6.4M) on two; below 2M (W2's 32 x 256 x 128, the names model's
products) one thread stays (11 alternating rounds in one process, nothing else running;
docs/speed.md). Under load two OpenBLAS threads collapse (each waits for a time slice at
the barrier), and one thread is much the faster there: the threshold was 16M while it was
chosen on a loaded machine.
So `matmul` runs a 2-D product of fewer than `PARALLEL_MACS` multiply-adds on one thread
(lowered for the call, restored after: three ctypes calls, about 1 us), and leaves larger
and smaller ones (the latter are single-threaded by OpenBLAS anyway) as NumPy runs them.
The result is the same to float32 rounding, not always bitwise: with a long inner
dimension (k above about 450) OpenBLAS blocks the sums differently on one thread than on
two, so the last bits of an entry may differ. The eager and captured steps both make their
products in `chainrule.ops.linalg`'s kernels, which call this, so they still agree
bitwise.

The library's ``openblas_get_num_threads``/``openblas_set_num_threads`` are found once,
on the first product that needs them, through threadpoolctl (an optional package, in the
`fast` and `all` extras): NumPy's own OpenBLAS, the one beside its package (SciPy's wheels
load a second one). Without threadpoolctl, with another BLAS (MKL, Accelerate), or with
OpenBLAS on its OpenMP layer (per-thread limits), products run as NumPy runs them.
(`openblas` and `symbol` give the library's other routines to kernels.axpy; without
threadpoolctl `openblas` finds the library NumPy's wheels bundle by its file name.) The
count is switched from the main thread only: OpenBLAS's pthreads pool is shared by the
process, and two threads lowering and restoring it at once could leave it lowered. The
count the user (or threadpoolctl's `threadpool_limits`) set is read at every call, so a
lower limit is kept.
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading
from typing import Any

import numpy as np

OPENBLAS_SPLITS_AT = 65_536 * 4
"""OpenBLAS runs a gemm of fewer multiply-adds than this on one thread by itself."""

PARALLEL_MACS = 2_000_000
"""Products of at least this many multiply-adds keep all of BLAS's threads. (`ops.linalg`
imports the value: set both to experiment.)"""

_MAIN = threading.main_thread().ident
_functions: tuple[Any, Any] | None = None  # (get, set), found on first use
_looked = False
_enabled = True


def _library() -> tuple[Any, bool] | None:
    """(NumPy's own OpenBLAS as a ctypes library, whether it runs on OpenMP), or None (see
    the module)."""
    try:
        from threadpoolctl import ThreadpoolController  # optional: the fast/all extras
    except ImportError:
        return _bundled()
    try:
        found = ThreadpoolController().select(internal_api="openblas").lib_controllers
    except Exception:  # an unusual library layout: keep NumPy's behaviour
        return None
    # NumPy's own (its wheels ship it beside the package: numpy.libs, numpy/.dylibs), else
    # the only one loaded; SciPy's wheels bring a second OpenBLAS that NumPy never calls
    home = os.path.dirname(np.__file__)
    ours = [lib for lib in found if str(lib.filepath).startswith(home)] or found
    if len(ours) != 1:
        return None
    try:
        library = ctypes.CDLL(ours[0].filepath)
    except OSError:
        return None
    return library, getattr(ours[0], "threading_layer", "") == "openmp"


def _bundled() -> tuple[Any, bool] | None:
    """Without threadpoolctl: the OpenBLAS that NumPy's wheels bundle beside the package
    (``numpy.libs/libscipy_openblas*.so``, ``numpy/.dylibs/``), already loaded by NumPy,
    for `symbol` (kernels.axpy). Its threading layer is unknown, so reported as OpenMP:
    the thread count is never switched without threadpoolctl."""
    home = os.path.dirname(np.__file__)
    found = sorted(
        glob.glob(f"{home}.libs/libscipy_openblas*.so*")
        + glob.glob(f"{home}/.dylibs/libscipy_openblas*.dylib")
    )
    if len(found) != 1:
        return None
    try:
        return ctypes.CDLL(found[0]), True
    except OSError:
        return None


_opened: tuple[Any, bool] | None = None
_opened_looked = False


def openblas() -> Any:
    """NumPy's OpenBLAS as a ctypes library (found once, through threadpoolctl), or None
    without threadpoolctl or with another BLAS."""
    global _opened, _opened_looked
    if not _opened_looked:
        _opened, _opened_looked = _library(), True
    return None if _opened is None else _opened[0]


def symbol(library: Any, name: str) -> tuple[Any, bool] | None:
    """(the function `name` of `library` under OpenBLAS's prefixes and suffixes, whether it
    takes 64-bit integers), or None. NumPy's wheels ship scipy-openblas, whose names are
    ``scipy_<name>64_`` with 64-bit integers; other builds use ``<name>``."""
    for prefix in ("", "scipy_"):
        for suffix in ("", "64_", "_64"):
            function = getattr(library, f"{prefix}{name}{suffix}", None)
            if function is not None:
                return function, suffix != ""
    return None


def _find() -> tuple[Any, Any] | None:
    """OpenBLAS's get/set_num_threads as ctypes functions, or None (see the module)."""
    library = openblas()
    if library is None or (_opened is not None and _opened[1]):  # per-thread limits
        return None
    get = symbol(library, "openblas_get_num_threads")
    put = symbol(library, "openblas_set_num_threads")
    if get is None or put is None:
        return None
    get[0].restype, get[0].argtypes = ctypes.c_int, []
    put[0].restype, put[0].argtypes = None, [ctypes.c_int]
    return get[0], put[0]


def thread_control() -> tuple[Any, Any] | None:
    """(get, set) of the OpenBLAS thread count, or None when it cannot be switched."""
    global _functions, _looked
    if not _looked:
        _functions, _looked = _find(), True
    return _functions


def set_thread_choice(enabled: bool) -> None:
    """Turn the per-product thread choice on or off for this process (benchmarks compare
    both; off, every product runs as NumPy runs it)."""
    global _enabled
    _enabled = bool(enabled)


def one_thread(m: int, k: int, n: int) -> bool:
    """Whether an (m, k) @ (k, n) product runs on one thread here (see the module)."""
    return OPENBLAS_SPLITS_AT <= m * k * n < PARALLEL_MACS


def lowers_threads() -> bool:
    """Whether `matmul` would lower the thread count for a product in `one_thread`'s
    window now (else it runs np.matmul as it is: the same gemm as ``ndarray.dot``, which a
    captured program then calls instead, once a step asked)."""
    if not _enabled or threading.get_ident() != _MAIN:
        return False
    control = _functions if _looked else thread_control()
    return control is not None and control[0]() != 1


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``np.matmul(a, b, out=out)`` for 2-D a (m, k) and b (k, n), on one BLAS thread when
    the product is too short to share (`one_thread`)."""
    macs = a.shape[0] * a.shape[1] * b.shape[1]
    if macs < OPENBLAS_SPLITS_AT or macs >= PARALLEL_MACS or not _enabled:
        return np.matmul(a, b, out=out)  # as NumPy runs it (the usual case: checked first)
    control = _functions if _looked else thread_control()
    if control is None or threading.get_ident() != _MAIN:
        return np.matmul(a, b, out=out)
    get, put = control
    threads = get()
    if threads == 1:
        return np.matmul(a, b, out=out)
    put(1)
    try:
        return np.matmul(a, b, out=out)
    finally:
        put(threads)
