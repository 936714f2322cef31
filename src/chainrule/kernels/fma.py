"""The fused multiply-add a·b + c, rounded once, as PyTorch's SGD rounds its update.

PyTorch's ``param.add_(grad, alpha=-lr)`` (and every ``add`` with an ``alpha``: SGD's weight
decay, momentum and Nesterov terms) runs ``fmadd(grad, alpha, param)`` on a CPU with FMA:
θ + (-γ)·g rounded once, not the product rounded and then the difference (measured with
torch 2.13 on float32 normal values at γ = 0.1: the single rounding equals torch's step in
every value, the double one differs in 9% of them). SGD's kernels (`chainrule.kernels.sgd`)
use these, so its steps are PyTorch's bit for bit.

- **Compiled** (`fused`, for loops made with numba): LLVM's ``llvm.fma`` intrinsic, a
  ``vfmadd`` instruction where the processor has one (and a correctly rounded library call
  where it has not), vectorised by LLVM like any arithmetic.
- **NumPy** (`fma_numpy`), the same numbers bit for bit: OpenBLAS's axpy where a probe
  found it exact (`chainrule.kernels.axpy`), else `chainrule.kernels.fma_emulation`
  (round-to-odd, Boldo & Melquiond 2008).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.kernels.axpy import axpy
from chainrule.kernels.fma_emulation import fma_emulated

__all__ = ["fma_emulated", "fma_numpy", "fused", "prepare"]

fused: Any = None
"""``fused(a, b, c)``: a·b + c rounded once (float32 or float64 scalars in a numba loop);
made by `prepare`."""


def prepare() -> None:
    """Make `fused` (a numba intrinsic calling ``llvm.fma``) and put it in this module's
    globals, where a loop compiled afterwards finds it. Call it only when
    `chainrule.kernels.numba_enabled()`; a second call does nothing."""
    global fused
    if fused is not None:
        return
    from llvmlite import ir  # numba's own dependency: only with the `fast` extra
    from numba import types
    from numba.extending import intrinsic

    @intrinsic
    def _fused(typingctx: Any, a: Any, b: Any, c: Any) -> Any:
        if not (a == b == c and a in (types.float32, types.float64)):
            return None

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            kind = args[0].type
            shape = ir.FunctionType(kind, [kind, kind, kind])
            return builder.call(builder.module.declare_intrinsic("llvm.fma", [kind], shape), args)

        return a(a, a, a), codegen

    fused = _fused


def fma_numpy(a: np.ndarray, b: Any, c: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out ← a·b + c rounded once to out's dtype (float32 or float64): arrays ``a`` and
    ``c`` of out's shape and dtype (``out`` may be ``c``, or a third array), ``b`` a scalar
    of that dtype. BLAS's axpy where it is verified to give these bits
    (`chainrule.kernels.axpy`: one call), else `fma_emulated`. Returns ``out``."""
    if out is not a:
        if out is not c:
            np.copyto(out, c)
        if axpy(b, a, out):
            return out
        c = out  # out holds c's values now
    return fma_emulated(a, b, c, out)
