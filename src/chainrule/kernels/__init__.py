"""Optional compiled kernels: loops that NumPy runs as several passes over memory, fused
into one pass by numba when the `fast` extra is installed (``pip install chainrule[fast]``).

NumPy stays the default that works everywhere: every kernel has a NumPy twin that gives the
same numbers (to float rounding), and the callers choose between them with `compiled`.
``CHAINRULE_NUMBA=0`` in the environment turns the compiled kernels off (the tests run both
paths this way); `numba_enabled` says which path is in use.

This package is the only place that imports numba (import-linter's contracts enforce it),
and it imports it lazily: `import chainrule` never pays numba's start-up time.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

FLOAT_DTYPES = frozenset({np.dtype(np.float32), np.dtype(np.float64)})
"""The dtypes the compiled loops are written for; any other takes the NumPy twin. (A set:
``dtype in FLOAT_DTYPES`` is one hash lookup, cheaper than two ``==`` on hot paths.)"""

_enabled: bool | None = None  # decided on first use


def _numba_loads() -> bool:
    """Whether numba is installed and imports. An install that is there but broken (an
    llvmlite of another version, a missing shared library) warns once and leaves the NumPy
    kernels in use, instead of failing on the first optimizer step. Asked on first use
    only: that is when a kernel would import numba anyway."""
    if importlib.util.find_spec("numba") is None:
        return False
    try:
        import numba  # the optional extra; only in this package
    except Exception as error:  # any failure to load: ImportError, OSError, llvmlite's own
        reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
        warnings.warn(
            f"chainrule: numba is installed but does not load ({type(error).__name__}: "
            f"{reason}); using the NumPy kernels. Reinstall it (pip install --force-reinstall "
            "'chainrule[fast]') or set CHAINRULE_NUMBA=0 to silence this.",
            RuntimeWarning,
            stacklevel=3,
        )
        return False
    return True


def numba_enabled() -> bool:
    """True when numba is installed, loads, and ``CHAINRULE_NUMBA`` is not ``0``."""
    global _enabled
    if _enabled is None:
        wanted = os.environ.get("CHAINRULE_NUMBA", "1").strip() != "0"
        _enabled = wanted and _numba_loads()
    return _enabled


def set_numba_enabled(enabled: bool) -> None:
    """Turn the compiled kernels on or off for this process (tests compare both paths).
    Turning them on without a numba that loads keeps them off."""
    global _enabled
    _enabled = bool(enabled) and _numba_loads()


def compiled(
    function: Callable[..., Any],
    prepare: Callable[[], None] | None = None,
    **options: Any,
) -> Callable[..., Any]:
    """`function` compiled by ``numba.njit(cache=True, **options)`` on its first call,
    after ``prepare()`` (e.g. making the helpers `function` calls: numba resolves a loop's
    globals when it compiles).

    Call it only when `numba_enabled()`; the caller keeps the NumPy path for the rest.
    The compiled code is cached on disk (numba's cache), so a second process skips the
    compile (about half a second a kernel)."""
    dispatcher: Any = None

    def run(*args: Any) -> Any:
        nonlocal dispatcher
        if dispatcher is None:
            import numba  # the optional extra; only here

            if prepare is not None:
                prepare()
            dispatcher = numba.njit(cache=True, **options)(function)
        return dispatcher(*args)

    run.__name__ = run.__qualname__ = function.__name__
    run.__doc__ = function.__doc__
    return run


def jit(function: Callable[..., Any], **options: Any) -> Any:
    """``numba.njit(cache=True, **options)(function)``, made now: a helper that other
    kernels call (they find it as a module global when they compile, so it must be
    compiled first). Call it only when `numba_enabled()`."""
    import numba  # the optional extra; only here

    return numba.njit(cache=True, **options)(function)


def compile_on_first_call(
    namespace: dict[str, Any],
    name: str,
    source: Callable[..., Any],
    prepare: Callable[[], None] | None = None,
) -> Callable[..., Any]:
    """A stand-in for the loop `name` of the module whose globals are `namespace`: its
    first call runs `prepare` (e.g. compiles the helpers `source` calls: numba resolves a
    loop's globals when it compiles), compiles `source` (`jit`) and puts numba's dispatcher
    in its place, so callers that look the loop up in the module at every call (ops.fused,
    a captured program) reach it later without a Python wrapper. Call it only when
    `numba_enabled()`. A caller that holds the stand-in itself (took the name before the
    first call) keeps working through it: it compiles once, then calls the dispatcher."""
    dispatcher: Any = None

    def first(*args: Any) -> Any:
        nonlocal dispatcher
        if dispatcher is None:
            if prepare is not None:
                prepare()
            dispatcher = jit(source)
            namespace[name] = dispatcher
        return dispatcher(*args)

    first.__name__ = first.__qualname__ = name
    first.__doc__ = source.__doc__
    return first


def fusable(param: np.ndarray, *states: np.ndarray | None) -> bool:
    """Whether a compiled optimizer loop can update `param` and its `states` (None: not
    used) in place through flat views: a C-contiguous float32/float64 `param`, and each
    state of its dtype and C-contiguous. Numba aside: callers check `numba_enabled`."""
    if param.dtype not in FLOAT_DTYPES or not param.flags.c_contiguous:
        return False
    for state in states:
        if state is not None and not (state.dtype == param.dtype and state.flags.c_contiguous):
            return False
    return True


def contiguous_like(array: np.ndarray, like: np.ndarray) -> np.ndarray:
    """`array` as a C-contiguous array of `like`'s dtype: itself when it is one already (a
    gradient read by a compiled loop through a flat view)."""
    if array.dtype != like.dtype or not array.flags.c_contiguous:
        return np.ascontiguousarray(array, dtype=like.dtype)
    return array
