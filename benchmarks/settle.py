"""Between two contenders' turns, wait until the last one's threads have gone idle.

A thread pool keeps its threads spinning for a while after its work is done, so that the
next piece of work starts without a wake-up: PyTorch's OpenMP threads spin for 5-7 ms
after a turn on this machine (its worker's CPU time kept growing that long), OpenBLAS's
idle thread for about 130 ms after its last two-thread product. Whoever takes the next
turn shares the two cores with that spinning: the captured deep narrow step, timed step by
step after a PyTorch turn, took 639, 312, 291 ... µs over its first steps against 213 µs
later on (16% over a 30-step stretch; 4% after a JAX turn, 1% after its own). In
`make bench` JAX takes its turn right after PyTorch, and PyTorch right after chainrule's
captured step: PyTorch's W2 epoch ran at 29,674 samples/s alone and 13,813 after captured
turns while the limit was 50 ms, shorter than OpenBLAS's spin (hence LIMIT_SECONDS).
`settle` waits, before each turn, until the bench's processes (the workers, and this
process's threads other than the calling one) have used almost no CPU for a couple of
milliseconds.

A thread counts as busy while the kernel lists it as running or runnable (state R in
/proc/<pid>/task/<tid>/stat): a spinning thread is R at every look, a pool thread asleep
on its condition variable is S. (Its CPU time, in /proc/.../schedstat, was tried first: it
is brought up to date only at the scheduler's ticks, so a thread spinning on the other
core looked idle for a 2 ms window and then used 60-100 ms of CPU during PyTorch's turn.)
Without /proc (not Linux) `settle` returns at once.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

QUIET_SECONDS = 0.005  # this long with no other thread running: settled
LIMIT_SECONDS = 0.25  # never wait longer (a thread that never sleeps: give up)


def _running(pids: list[int], skip: int) -> int | None:
    """How many threads of `pids`, the thread `skip` aside, are running or runnable (R);
    None when /proc cannot tell."""
    count, seen = 0, False
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            if pid == os.getpid() and int(task) == skip:
                continue
            try:
                state = Path(f"/proc/{pid}/task/{task}/stat").read_text().rsplit(")", 1)[1]
            except (OSError, IndexError):
                continue
            seen = True
            count += state.split(maxsplit=1)[0] == "R"
    return count if seen else None


def settle(pids: list[int], read: Callable[[list[int], int], int | None] = _running) -> float:
    """Wait until no thread of `pids` (this process's own, the calling thread aside,
    included when its pid is listed) has been running for QUIET_SECONDS, at most
    LIMIT_SECONDS; returns the seconds waited. `read(pids, skip)`: how many of their
    threads run now (the tests give their own)."""
    me = threading.get_native_id()
    start = time.perf_counter()
    if read(pids, me) is None:
        return 0.0
    window_start = start
    while True:
        time.sleep(QUIET_SECONDS / 10)
        now, running = time.perf_counter(), read(pids, me)
        if running is None or now - start >= LIMIT_SECONDS:
            return now - start
        if running:
            window_start = now  # still busy: the quiet window restarts
        elif now - window_start >= QUIET_SECONDS:
            return now - start
