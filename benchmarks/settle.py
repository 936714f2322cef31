"""Between two contenders' turns, wait until the last one's threads have gone idle.

A thread pool keeps its threads spinning for a while after its work is done, so that the
next piece of work starts without a wake-up: PyTorch's OpenMP threads spin for 5-7 ms
after a turn on this machine (its worker's CPU time kept growing that long), OpenBLAS's
for a shorter time. Whoever takes the next turn shares the two cores with that spinning:
the captured deep narrow step, timed step by step after a PyTorch turn, took 639, 312,
291 ... µs over its first steps against 213 µs later on (16% over a 30-step stretch; 4%
after a JAX turn, 1% after its own). In `make bench` JAX takes its turn right after
PyTorch. `settle` waits, before each turn, until the bench's processes (the workers, and
this process's threads other than the calling one) have used almost no CPU for a couple
of milliseconds.

The CPU time comes from /proc/<pid>/task/<tid>/schedstat (nanoseconds on the CPU, per
thread); without it (not Linux) `settle` returns at once.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

QUIET_SECONDS = 0.002  # this long with (almost) no CPU used by the others: settled
BUSY_SHARE = 0.05  # "almost no": under 5% of one core over that window
LIMIT_SECONDS = 0.05  # never wait longer (a thread that never sleeps: give up)


def _cpu_ns(pids: list[int], skip: int) -> int | None:
    """Nanoseconds on the CPU of every thread of `pids` but the thread `skip`; None when
    /proc cannot tell."""
    total, seen = 0, False
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            if pid == os.getpid() and int(task) == skip:
                continue
            try:
                total += int(Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[0])
                seen = True
            except (OSError, ValueError, IndexError):
                continue
    return total if seen else None


def settle(pids: list[int], read: Callable[[list[int], int], int | None] = _cpu_ns) -> float:
    """Wait until the threads of `pids` (this process's own, the calling thread aside,
    included when its pid is listed) have been idle for QUIET_SECONDS, at most
    LIMIT_SECONDS; returns the seconds waited. `read(pids, skip)`: their CPU nanoseconds
    (the tests give their own)."""
    me = threading.get_native_id()
    start = time.perf_counter()
    before = read(pids, me)
    if before is None:
        return 0.0
    window_start, window_cpu = start, before
    while True:
        time.sleep(QUIET_SECONDS / 4)
        now, cpu = time.perf_counter(), read(pids, me)
        if cpu is None or now - start >= LIMIT_SECONDS:
            return now - start
        if cpu - window_cpu > BUSY_SHARE * (now - window_start) * 1e9:
            window_start, window_cpu = now, cpu  # still busy: the quiet window restarts
        elif now - window_start >= QUIET_SECONDS:
            return now - start
