"""The machine a benchmark ran on, and one thread count for BLAS and PyTorch alike."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def set_threads(count: int, with_torch: bool = True) -> None:
    """The same thread count for BLAS (NumPy, scikit-learn) and PyTorch's intra-op pool."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(count)
    if with_torch:
        import torch

        torch.set_num_threads(count)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()}; {blas_kernel()}"


def blas_kernel() -> str:
    """Which kernels NumPy's OpenBLAS runs, and whether the environment chose them.

    OpenBLAS picks its kernels by the processor at load time unless OPENBLAS_CORETYPE names
    them; some machines set that (with OPENBLAS_L2_SIZE) for old OpenBLAS builds, and a
    current NumPy then runs slower kernels (on a Zen 5: Haswell's AVX2 kernels, half the
    2048² product's rate of SkylakeX's AVX-512 ones). `make bench` unsets both.
    """
    import numpy  # noqa: F401  (threadpoolctl sees only the libraries loaded)
    from threadpoolctl import threadpool_info

    kernels = [
        f"{pool.get('internal_api', '?')} {pool.get('version', '?')} "
        f"{pool.get('architecture', '?')} kernels"
        for pool in threadpool_info()
        if pool.get("user_api") == "blas"
    ]
    chosen = [f"{name}={os.environ[name]}" for name in BLAS_OVERRIDES if name in os.environ]
    text = ", ".join(kernels) or "no BLAS found"
    return text + (f" (set by {', '.join(chosen)})" if chosen else "")


# what fixes OpenBLAS's kernels from outside; benchmarks report them when set
BLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
