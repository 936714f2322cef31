"""The process group: which rank this process is, how many there are, and the MPI communicator.

`init_process_group(backend="mpi")` takes the rank and the world size from the MPI launcher
(``mpiexec -n 4 python train.py``, ``srun --mpi=pmix ...``); a process started without a
launcher is a world of one. mpi4py is imported here only, on first use, so the rest of
chainrule never needs MPI.

From then on a failure anywhere ends the job instead of hanging it:

- an uncaught exception in any rank prints one line naming the rank and calls MPI Abort,
  which makes the launcher stop every other rank (within about a second with MPICH);
- a rank that leaves the program (exits, returns from main) while the group is live tells
  the others on a control channel; a rank waiting in a collective for it stops with a line
  naming it;
- every collective waits with a deadline (`timeout`, default 300 s, or
  ``CHAINRULE_DIST_TIMEOUT`` seconds): a rank stuck or far behind ends the job with a
  message rather than a silent hang. A rank killed outright (SIGKILL, out of memory) is
  noticed by the launcher itself, which stops the rest.
"""

from __future__ import annotations

import atexit
import datetime
import os
import sys
import time
import traceback
from dataclasses import dataclass
from types import TracebackType
from typing import Any

__all__ = [
    "destroy_process_group",
    "get_rank",
    "get_world_size",
    "init_process_group",
    "is_available",
    "is_initialized",
    "is_mpi_available",
]

DEFAULT_TIMEOUT = datetime.timedelta(seconds=300)
_CONTROL_TAG = 7317  # the tag of "rank r is leaving" notices on the control communicator


@dataclass
class _Group:
    comm: Any  # the data communicator (a duplicate of COMM_WORLD: our traffic only)
    control: Any  # a second duplicate, for failure notices only
    rank: int
    size: int
    timeout: float  # seconds a collective may wait
    mpi: Any  # the mpi4py.MPI module


_group: _Group | None = None


def is_available() -> bool:
    """True: the package is importable (MPI itself may still be missing: `is_mpi_available`)."""
    return True


def is_mpi_available() -> bool:
    """True when mpi4py (and an MPI library under it) can be imported."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def _mpi() -> Any:
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError(
            "chainrule.distributed needs MPI: pip install 'chainrule[distributed]' "
            f"(mpi4py and mpich) ({error})"
        ) from None
    return MPI


def _timeout_seconds(timeout: datetime.timedelta | float | None) -> float:
    env = os.environ.get("CHAINRULE_DIST_TIMEOUT")
    if timeout is None and env:
        try:
            timeout = float(env)
        except ValueError:
            raise ValueError(f"CHAINRULE_DIST_TIMEOUT must be seconds, got {env!r}") from None
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    seconds = timeout.total_seconds() if isinstance(timeout, datetime.timedelta) else timeout
    if not seconds > 0:
        raise ValueError(f"timeout must be > 0 seconds, got {seconds}")
    return float(seconds)


def init_process_group(
    backend: str | None = "mpi",
    init_method: str | None = None,
    timeout: datetime.timedelta | float | None = None,
    world_size: int = -1,
    rank: int = -1,
    **_ignored: Any,
) -> None:
    """Join the MPI job this process was launched in (torch.distributed's call).

    Args:
        backend: "mpi" (the only one; None means it too). "gloo"/"nccl" are refused with a
            message, since the ranks come from the MPI launcher here, not from a store.
        init_method, world_size, rank: accepted for torch's signature; the launcher decides
            them, and a `world_size`/`rank` that disagrees with it is an error.
        timeout: how long a collective may wait for the other ranks (a timedelta or seconds).

    Also sets this rank's BLAS threads to cores / ranks-on-this-node unless told otherwise
    (`chainrule.distributed.threads`).
    """
    global _group
    if _group is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    if backend not in (None, "mpi"):
        raise ValueError(
            f"backend {backend!r} is not available in chainrule: use backend='mpi' and start "
            "the ranks with mpiexec (see docs/distributed.md)"
        )
    seconds = _timeout_seconds(timeout)
    MPI = _mpi()
    world = MPI.COMM_WORLD
    world_rank, world_count = world.Get_rank(), world.Get_size()
    if world_size not in (-1, world_count) or rank not in (-1, world_rank):
        raise ValueError(
            f"init_process_group(world_size={world_size}, rank={rank}) disagrees with the MPI "
            f"launcher (rank {world_rank} of {world_count}): leave them out with backend='mpi'"
        )
    comm, control = world.Dup(), world.Dup()
    _group = _Group(comm, control, world_rank, world_count, seconds, MPI)
    _register_pid(world_rank)
    if world_count > 1:
        sys.excepthook = _abort_on_exception
        atexit.register(_notify_exit)
    from chainrule.distributed.threads import set_rank_threads

    set_rank_threads(comm, MPI)


def _register_pid(rank: int) -> None:
    """Tell the `--nproc` launcher which process is which rank (to name a killed one)."""
    folder = os.environ.get("CHAINRULE_DIST_PIDDIR")
    if folder:
        path = os.path.join(folder, f"rank{rank}.pid")
        try:
            with open(path + ".tmp", "w", encoding="ascii") as file:
                file.write(str(os.getpid()))
            os.replace(path + ".tmp", path)  # the launcher never reads half a pid
        except OSError:
            pass  # only a nicer message depends on it


def is_initialized() -> bool:
    return _group is not None


def group() -> _Group:
    """The live process group, or RuntimeError saying how to start one."""
    if _group is None:
        raise RuntimeError(
            "Default process group has not been initialized, please make sure to call "
            "init_process_group."
        )
    return _group


def get_rank() -> int:
    """This process's rank, 0 .. world_size - 1."""
    return group().rank


def get_world_size() -> int:
    """The number of processes in the job."""
    return group().size


def destroy_process_group() -> None:
    """Leave the group (not collective: each rank may call it when it is done)."""
    global _group
    if _group is None:
        return
    sys.excepthook = sys.__excepthook__
    try:
        atexit.unregister(_notify_exit)
    finally:
        _group = None


# ---------------------------------------------------------------------- failures
ABORT_PAUSE = 0.25
"""Seconds a failing rank waits between printing its message and MPI Abort."""


def fail(message: str) -> None:
    """Print `message` as one line and stop the whole job (MPI Abort), from any rank."""
    print(f"chainrule.distributed: {message}", file=sys.stderr, flush=True)
    live = _group
    if live is not None and live.size > 1:
        # mpiexec forwards a rank's stderr through its proxy, and Abort kills the proxies:
        # without a pause the line (and the traceback before it) was now and then lost,
        # an empty stderr in 1 of 8 runs of tests/distributed/fault_script.py
        time.sleep(ABORT_PAUSE)
        live.mpi.COMM_WORLD.Abort(1)
    raise SystemExit(1)


def _abort_on_exception(
    kind: type[BaseException], error: BaseException, tb: TracebackType | None
) -> None:
    """sys.excepthook of a rank: the traceback, then one line naming the rank, then Abort."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, tb)
    else:
        traceback.print_exception(kind, error, tb)
    rank = _group.rank if _group is not None else "?"
    text = str(error).splitlines()[0] if str(error) else ""
    fail(
        f"rank {rank} failed with {kind.__name__}{': ' + text if text else ''}; stopping all ranks"
    )


def _notify_exit() -> None:
    """At exit of a rank whose group is still live: tell the others it is gone."""
    live = _group
    if live is None or live.size < 2:
        return
    note = f"rank {live.rank} exited (pid {os.getpid()})".encode()
    requests = [
        live.control.Isend(note, dest=peer, tag=_CONTROL_TAG)
        for peer in range(live.size)
        if peer != live.rank
    ]
    # eager sends of a few bytes complete at once; never let the exit itself hang
    live.mpi.Request.Testall(requests)


def peer_notice() -> str | None:
    """A pending "rank r exited" notice from another rank, if any (non-blocking)."""
    live = group()
    MPI = live.mpi
    status = MPI.Status()
    if not live.control.Iprobe(source=MPI.ANY_SOURCE, tag=_CONTROL_TAG, status=status):
        return None
    buffer = bytearray(status.Get_count(MPI.BYTE))
    live.control.Recv([buffer, MPI.BYTE], source=status.Get_source(), tag=_CONTROL_TAG)
    return buffer.decode(errors="replace")
