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
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()}"
