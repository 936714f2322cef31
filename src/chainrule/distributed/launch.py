"""Starting ranks: where `mpiexec` is, and running a command as N local MPI processes.

The MPICH wheel of chainrule[distributed] installs ``mpiexec`` into the virtualenv's
scripts folder, next to its ``python``; that one is used (not a system MPI, whose library
would not match mpi4py's), unless ``CHAINRULE_MPIEXEC`` names another launcher.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TextIO

from chainrule.distributed.deaths import DeathOrder
from chainrule.distributed.threads import THREAD_VARIABLES, rank_threads

__all__ = ["launch", "mpiexec_path"]


def mpiexec_path() -> str:
    """The mpiexec to use: $CHAINRULE_MPIEXEC, the virtualenv's, or one on PATH."""
    chosen = os.environ.get("CHAINRULE_MPIEXEC")
    if chosen:
        return chosen
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(folder) / "mpiexec"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("mpiexec")
    if found is None:
        raise FileNotFoundError(
            "mpiexec not found: pip install 'chainrule[distributed]' (mpi4py and the mpich "
            "wheel, whose mpiexec lands next to python), or set CHAINRULE_MPIEXEC"
        )
    return found


def rank_environment(nproc: int, threads: int | None, base: Mapping[str, str]) -> dict[str, str]:
    """The ranks' environment: BLAS threads set before NumPy loads (cores // nproc unless
    `threads`, CHAINRULE_THREADS or the user's own OMP/OPENBLAS/MKL setting says otherwise)."""
    env = dict(base)
    if threads is not None:
        env["CHAINRULE_THREADS"] = str(threads)
    chosen = env.get("CHAINRULE_THREADS")
    if chosen is None and any(env.get(name) for name in THREAD_VARIABLES):
        return env
    count = chosen or str(rank_threads(nproc))
    for name in THREAD_VARIABLES:
        env[name] = count
    return env


def launch(command: Sequence[str], nproc: int, threads: int | None = None) -> int:
    """Run `command` as `nproc` MPI ranks on this machine; their exit status.

    The ranks' stderr passes through as it comes. When a rank dies from a signal (killed,
    out of memory), MPICH stops the others and reports the process id; a last line then
    names the rank, from the pid each rank registered at `init_process_group`.
    """
    with tempfile.TemporaryDirectory(prefix="chainrule-ranks-") as piddir:
        env = rank_environment(nproc, threads, os.environ)
        env.setdefault("CHAINRULE_DIST_PIDDIR", piddir)
        deaths = DeathOrder(Path(env["CHAINRULE_DIST_PIDDIR"]), nproc)
        process = subprocess.Popen(
            [mpiexec_path(), "-n", str(nproc), *command],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        # MPICH prints its failure banner on stdout: both streams pass through as they
        # come, and their tails are kept to find it
        tails = [bytearray(), bytearray()]
        pumps = [
            threading.Thread(target=_pump, args=(pipe, sink, tail), daemon=True)
            for pipe, sink, tail in zip(
                (process.stdout, process.stderr), (sys.stdout, sys.stderr), tails, strict=True
            )
        ]
        for pump in pumps:
            pump.start()
        deaths.start()  # after Popen: a launch that fails to start leaves no watcher behind
        try:
            status = process.wait()
        except KeyboardInterrupt:
            process.terminate()
            status = process.wait()
        deaths.stop()
        for pump in pumps:
            pump.join()
        seen = tails[0] + tails[1]
        _name_killed_rank(seen.decode(errors="replace"), deaths, status)
    return status


def _pump(pipe: IO[bytes] | None, sink: TextIO, tail: bytearray) -> None:
    """Copy `pipe` to `sink` chunk by chunk (progress lines appear live), keeping a tail."""
    assert pipe is not None
    binary = getattr(sink, "buffer", None)
    while chunk := os.read(pipe.fileno(), 65536):
        if binary is not None:
            binary.write(chunk)
        else:  # a text-only stream (a captured sys.stdout)
            sink.write(chunk.decode(errors="replace"))
        sink.flush()
        tail += chunk
        del tail[:-65536]  # the banner is at the end


def _name_killed_rank(output: str, deaths: DeathOrder, status: int) -> None:
    """After MPICH's "BAD TERMINATION ... PID p ... EXIT STRING: Killed (signal 9)"
    banner, one line naming the rank that died: the first to end as the launcher saw it
    (the banner's pid is the lowest rank that ended by a signal, which need not be the
    first), else the banner's."""
    found = re.search(r"PID (\d+) RUNNING AT", output)
    if found is None or status == 0:
        return
    first = deaths.first()
    if first is not None:
        who = f"rank {first} (pid {deaths.pids[first]})"
    else:
        pid = found.group(1)
        ranks = {registered: rank for rank, registered in deaths.pids.items()}
        who = f"rank {ranks[pid]} (pid {pid})" if pid in ranks else f"a rank (pid {pid})"
    killed = re.search(r"EXIT STRING: .*\(signal (\d+)\)", output)
    if killed is not None:
        number = int(killed.group(1))
        name = signal.Signals(number).name if number in signal.valid_signals() else number
        how = f"was killed by {name}"
    else:
        code = re.search(r"EXIT CODE: (\d+)", output)
        how = f"exited with status {code.group(1) if code else status}"
    print(f"chainrule: error: {who} {how}; mpiexec stopped the other ranks",
          file=sys.stderr, flush=True)  # fmt: skip
