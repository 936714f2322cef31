"""The launcher names the rank that died first, not the one MPICH's banner names (the
lowest rank that ended by a signal): DeathOrder against real processes killed in turn."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from chainrule.distributed.deaths import DeathOrder
from chainrule.distributed.launch import _name_killed_rank

pytestmark = pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="needs Linux pidfds")

BANNER = """
=   BAD TERMINATION OF ONE OF YOUR APPLICATION PROCESSES
=   PID {pid} RUNNING AT host
=   EXIT CODE: 9
YOUR APPLICATION TERMINATED WITH THE EXIT STRING: Killed (signal 9)
"""


def sleepers(piddir, count):
    """`count` sleeping processes registered as ranks 0.. in piddir, as init_process_group does."""
    processes = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
                 for _ in range(count)]  # fmt: skip
    for rank, process in enumerate(processes):
        (piddir / f"rank{rank}.pid").write_text(str(process.pid))
    return processes


def wait_until(condition, what):
    deadline = time.monotonic() + 30  # a liveness bound, not a timing claim
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def test_death_order_follows_the_kills(tmp_path):
    deaths = DeathOrder(tmp_path)
    processes = sleepers(tmp_path, 3)
    deaths.start()
    try:
        wait_until(lambda: len(deaths.pids) == 3, "the pid files were not read")
        for seen, rank in enumerate((2, 0, 1), start=1):
            processes[rank].send_signal(signal.SIGKILL)
            processes[rank].wait()
            wait_until(lambda n=seen: len(deaths.ended) == n, "the death was not seen")
    finally:
        deaths.stop()
        for process in processes:
            process.kill()
            process.wait()
    assert deaths.ended == ["2", "0", "1"]
    assert deaths.first() == "2"
    assert deaths.pids == {str(r): str(p.pid) for r, p in enumerate(processes)}


def test_the_first_to_die_is_named_not_the_banner_pid(tmp_path, capsys):
    deaths = DeathOrder(tmp_path)
    processes = sleepers(tmp_path, 2)
    deaths.start()
    try:
        wait_until(lambda: len(deaths.pids) == 2, "the pid files were not read")
        processes[1].kill()
        processes[1].wait()
        wait_until(lambda: deaths.ended == ["1"], "rank 1's death was not seen")
        processes[0].kill()  # as Hydra's cleanup does to the survivor
        processes[0].wait()
    finally:
        deaths.stop()
    _name_killed_rank(BANNER.format(pid=processes[0].pid), deaths, status=137)
    line = capsys.readouterr().err
    assert f"rank 1 (pid {processes[1].pid}) was killed by SIGKILL" in line, line


def test_without_a_watch_the_banner_pid_is_named(tmp_path, capsys):
    """No pidfds seen (the thread never started): the pid files still map the banner's pid."""
    deaths = DeathOrder(tmp_path)
    (tmp_path / "rank0.pid").write_text("4242")
    (tmp_path / "rank1.pid").write_text("4343")
    deaths.stop()
    assert deaths.first() is None
    _name_killed_rank(BANNER.format(pid=4343), deaths, status=137)
    assert "rank 1 (pid 4343) was killed by SIGKILL" in capsys.readouterr().err
    _name_killed_rank(BANNER.format(pid=4343), deaths, status=0)  # a clean exit: no line
    assert capsys.readouterr().err == ""


def test_pid_files_from_an_earlier_launch_are_skipped(tmp_path):
    """A kept CHAINRULE_DIST_PIDDIR: an old rank0.pid (a pid that has ended) must not be
    taken for this launch's first death."""
    stale = tmp_path / "rank0.pid"
    stale.write_text("4242")
    os.utime(stale, (time.time() - 60, time.time() - 60))
    deaths = DeathOrder(tmp_path)
    deaths.start()
    deaths.stop()
    assert deaths.first() is None and deaths.pids == {}
