"""Running real MPI ranks from the tests: `run_ranks(n, [script, args...])`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mpi4py", reason="needs chainrule[distributed] (mpi4py, mpich)")

from chainrule.distributed.launch import mpiexec_path

HERE = Path(__file__).resolve().parents[1] / "distributed"
SRC = Path(__file__).resolve().parents[2] / "src"


def rank_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    env.setdefault("CHAINRULE_THREADS", "1")  # 2 shared cores: no BLAS oversubscription
    env.update(extra)
    return env


def run_ranks(
    n: int, args: list[str], timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    """`mpiexec -n n python args...`, with this tree's chainrule; its completed process."""
    return subprocess.run(
        [mpiexec_path(), "-n", str(n), sys.executable, *args],
        env=rank_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
