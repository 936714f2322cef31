"""BLAS threads per rank: cores on this node / ranks on this node, so ranks do not fight.

NumPy's matrix products run on a BLAS (OpenBLAS in NumPy's wheels) that by default starts
one thread per core in every process; four ranks on four cores would then run sixteen
threads and slow each other down. Each rank therefore limits its BLAS to
max(1, cores // local_ranks) threads, where local_ranks counts the ranks sharing this node
(an MPI shared-memory split) and cores is what this process may run on (its CPU affinity).

Overrides, strongest first: ``CHAINRULE_THREADS=n`` (also `chainrule train --threads n`);
then a thread count the user already set in ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``
or ``MKL_NUM_THREADS`` is left alone. The limit is applied with threadpoolctl (installed
with chainrule[distributed]); without it, only the environment variables apply, which
`chainrule train --nproc` sets for its ranks before NumPy starts.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["THREAD_VARIABLES", "available_cores", "rank_threads", "set_rank_threads"]

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_limiter: Any = None  # keeps threadpoolctl's limit alive for the life of the process


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def rank_threads(local_ranks: int, cores: int | None = None) -> int:
    """The default BLAS threads of one of `local_ranks` ranks on a node: cores // ranks."""
    cores = available_cores() if cores is None else cores
    return max(1, cores // max(1, local_ranks))


def _requested() -> int | None:
    text = os.environ.get("CHAINRULE_THREADS")
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"CHAINRULE_THREADS must be a positive integer, got {text!r}") from None
    if value < 1:
        raise ValueError(f"CHAINRULE_THREADS must be a positive integer, got {text!r}")
    return value


def set_rank_threads(comm: Any, mpi: Any) -> int | None:
    """Limit this rank's BLAS threads (see the module docstring); the limit, or None if the
    user's own setting was left in place or threadpoolctl is missing."""
    global _limiter
    threads = _requested()
    if threads is None:
        if any(os.environ.get(name) for name in THREAD_VARIABLES):
            return None
        local = comm.Split_type(mpi.COMM_TYPE_SHARED)
        try:
            threads = rank_threads(local.Get_size())
        finally:
            local.Free()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    _limiter = threadpool_limits(limits=threads, user_api="blas")
    return threads
