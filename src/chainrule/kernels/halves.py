"""Two threads for one large element-wise pass (an optimizer's update): the caller and one
kept helper thread each take chunks of the pass, so both cores work on it.

Used by Adam's loop (kernels/adam.py) on a parameter of `SHARE_MIN` values or more. (The
captured flat plain-SGD update was tried and measured slower in every record: kernels/sgd.py
says why.) The loop is compiled with ``nogil=True``:
while one runs, the GIL is free, and a second thread can run the same loop over other
elements at the same time. An update is element-wise, so who computes an element does not
change it: the numbers are the serial loop's bit for bit.

`share(run, count)` runs ``run(0) ... run(count - 1)``, chunks of one pass, and returns when
all are done. The caller claims chunks from the front, the helper from the back, each
chunk by a non-blocking lock acquire, so a chunk runs once. The caller never waits for a
helper that has not started: if the helper is late (woken slowly, its core busy with
another process), the caller claims its chunks too and does them itself. It waits only for
a chunk the helper is running, so a helper preempted mid-chunk costs at most the rest of
that chunk. One hand-over per pass: the helper is woken once (a queue put), not per chunk.

Why it can pay on this machine (2 cores, docs/speed.md): Adam's loop is bound by one
core's divider and its pull from L3/memory; two threads each running it over their own
315k values took about the time of one. The previous attempt at a helper thread (not in
the tree) ran loops compiled without ``nogil``: the helper's chunks waited for the GIL the
caller's loop held, so the two never overlapped.

When it is used: numba on, the pass at least `SHARE_MIN` elements, and more than one
thread allowed (`threads_allowed`: ``CHAINRULE_UPDATE_THREADS=1`` or
`set_update_threads(1)`, a process pinned to one CPU, or OpenBLAS limited to one thread,
e.g. by threadpoolctl's ``threadpool_limits(1)``, all keep it serial). The NumPy twins
always run serially.
"""

from __future__ import annotations

import os
import queue
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["SHARE_MIN", "set_update_threads", "share", "threads_allowed", "update_threads"]

SHARE_MIN = 131_072
"""Elements of one pass from which the helper may take part: waking it costs 30-90 µs
here (docs/speed.md), about a 131k-value Adam pass's half, so smaller passes cannot pay;
above it, `share` measures whether they do."""

_choice: int | None = None  # set_update_threads / CHAINRULE_UPDATE_THREADS; None: not read
_helper: _Helper | None = None
_start = threading.Lock()
_MAIN = threading.main_thread().ident


def update_threads() -> int:
    """The number of threads an optimizer's update may use (1 or 2): the user's choice
    (`set_update_threads`, else ``CHAINRULE_UPDATE_THREADS``, default 2), at most the
    CPUs this process may run on."""
    global _choice
    if _choice is None:
        text = os.environ.get("CHAINRULE_UPDATE_THREADS", "").strip()
        try:
            _choice = max(1, min(2, int(text))) if text else 2
        except ValueError:
            warnings.warn(
                f"CHAINRULE_UPDATE_THREADS={text!r} is not a number: using 2 (set 1 for "
                "updates on the calling thread only)",
                RuntimeWarning,
                stacklevel=2,
            )
            _choice = 2
        if _choice > 1 and len(_cpus()) < 2:
            _choice = 1
    return _choice


def set_update_threads(count: int) -> None:
    """1: optimizer updates run on the calling thread only; 2: a large update is shared
    with one helper thread (the default when the process may use two CPUs or more)."""
    global _choice
    if count not in (1, 2):
        raise ValueError(f"set_update_threads: count must be 1 or 2, got {count!r}")
    _choice = count if count == 1 or len(_cpus()) >= 2 else 1


def _cpus() -> set[int]:
    try:
        return os.sched_getaffinity(0)
    except (AttributeError, OSError):  # not Linux: the CPU count
        return set(range(os.cpu_count() or 1))


def threads_allowed() -> bool:
    """Whether `share` may use the helper now: two update threads allowed, the caller the
    main thread (a helper shared by several callers would serialise them), and BLAS not
    limited to one thread (a user who limits BLAS so wants one thread)."""
    if (_choice if _choice is not None else update_threads()) < 2:
        return False
    if threading.get_ident() != _MAIN:
        return False
    from chainrule.kernels import blas  # a sibling: its thread count is asked once cached

    control = blas.thread_control()
    return control is None or control[0]() != 1


class _Task:
    """One shared pass: `count` chunks, each claimed once by a non-blocking acquire."""

    __slots__ = ("claims", "done", "error", "run")

    def __init__(self, run: Callable[[int], Any], count: int) -> None:
        self.run = run
        self.claims = [threading.Lock() for _ in range(count)]
        self.done = threading.Lock()
        self.done.acquire()  # released by the helper when it has claimed all it can
        self.error: BaseException | None = None

    def helper_side(self) -> None:
        """The helper's part: chunks from the back until one is taken by the caller."""
        try:
            for index in range(len(self.claims) - 1, -1, -1):
                if not self.claims[index].acquire(False):
                    break
                self.run(index)
        except BaseException as error:  # handed to the caller, who raises it
            self.error = error
        finally:
            self.done.release()


class _Helper:
    """The kept helper thread: blocked on its queue between passes (no CPU while idle)."""

    def __init__(self) -> None:
        self.tasks: queue.SimpleQueue[_Task] = queue.SimpleQueue()
        self.avoids = -1  # the CPU the helper is kept off (_place)
        self.thread = threading.Thread(target=self._serve, name="chainrule-update", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            self.tasks.get().helper_side()


def _forget_helper() -> None:
    """In a forked child the helper thread does not exist: make a new one when needed."""
    global _helper
    _helper = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_helper)


def _the_helper() -> _Helper:
    global _helper
    if _helper is None:
        with _start:
            if _helper is None:
                _helper = _Helper()
    return _helper


_getcpu: Any = None


def _place(helper: _Helper) -> None:
    """Keep the helper off the caller's CPU: woken on the caller's CPU (the kernel's
    wake-affine choice when the other core is busy, e.g. with OpenBLAS's spinning thread)
    it preempted the caller, and the two time-shared one core (measured: the caller's
    half took twice as long)."""
    global _getcpu
    if _getcpu is None:
        import ctypes

        try:
            _getcpu = ctypes.CDLL(None).sched_getcpu
            _getcpu.restype, _getcpu.argtypes = ctypes.c_int, []
        except (OSError, AttributeError):
            _getcpu = False
    if not _getcpu:
        return
    here = _getcpu()
    if here != helper.avoids:
        cpus = _cpus() - {here}
        if cpus:
            try:
                os.sched_setaffinity(helper.thread.native_id or 0, cpus)
                helper.avoids = here
            except OSError:
                pass


def share(run: Callable[[int], Any], count: int, key: Any = None) -> None:
    """Run ``run(i)`` for i in range(count): shared with the helper thread when
    `threads_allowed` and sharing has been measured faster for this `key` (a call site:
    the same pass step after step), else in order on this thread. ``run`` must be safe to
    call from another thread for any chunk, and the chunks must not depend on each other.

    Measured, not assumed: each key keeps the wall times of its last 7 passes of each
    kind (serial, shared). The first passes alternate; then a pass is shared when the
    median shared time is below 0.95 of the serial one, and every 8th pass runs the other
    kind (a probe), to follow a machine whose load changes; each probe that is 1.3 times
    slower or worse doubles the interval, up to 1024 passes. On a loaded machine (the
    other core busy, the helper woken late or preempted mid-chunk, when the caller waits
    a time slice for it) sharing measures slower, and the pass stays serial but for rare
    probes."""
    if count < 2 or not threads_allowed():
        _serial_pass(run, count)
        return
    record = _records.get(key)
    if record is None:
        if len(_records) >= 256:  # ids of arrays long gone: start again
            _records.clear()
        record = _records[key] = _Record()
    shared = record.choose()
    start = _clock()
    if shared:
        _shared_pass(run, count)
    else:
        _serial_pass(run, count)
    record.add(shared, _clock() - start)


def _serial_pass(run: Callable[[int], Any], count: int) -> None:
    for index in range(count):
        run(index)


def _shared_pass(run: Callable[[int], Any], count: int) -> None:
    """The chunks, the caller's from the front and the helper's from the back."""
    task = _Task(run, count)
    helper = _the_helper()
    _place(helper)
    helper.tasks.put(task)
    claims = task.claims
    mine = 0
    try:
        for index in range(count):
            if not claims[index].acquire(False):  # the helper has it, and all after it
                break
            run(index)
            mine += 1
    finally:
        if mine < count:
            task.done.acquire()  # the helper's chunk in progress, at most
    if task.error is not None:
        raise task.error


class _Record:
    """One call site's last wall times, serial and shared, and the choice they make."""

    __slots__ = ("every", "passes", "preferred", "times")
    KEEP = 7

    def __init__(self) -> None:
        self.times: tuple[list[float], list[float]] = ([], [])  # (serial, shared)
        self.passes = 0
        self.preferred: bool | None = None  # None until both kinds are measured
        self.every = _PROBE_FIRST

    def choose(self) -> bool:
        self.passes += 1
        serial, shared = self.times
        if len(serial) < 3 or len(shared) < 3:
            return self.passes % 2 == 0  # both kinds measured first, alternating
        preferred = _median(shared) < 0.95 * _median(serial)
        if preferred != self.preferred:
            self.preferred, self.every = preferred, _PROBE_FIRST
        return preferred != (self.passes % self.every == 0)  # now and then the other kind

    def add(self, shared: bool, seconds: float) -> None:
        times = self.times[shared]
        times.append(seconds)
        if len(times) > self.KEEP:
            del times[0]
        probe = self.preferred is not None and shared is not self.preferred
        if probe and seconds > 1.3 * _median(self.times[bool(self.preferred)]):  # it lost
            self.every = min(2 * self.every, _PROBE_LAST)


_PROBE_FIRST, _PROBE_LAST = 8, 1024  # passes between probes: doubled while they lose


def _median(times: list[float]) -> float:
    return sorted(times)[len(times) // 2]


_records: dict[Any, _Record] = {}
_clock = time.perf_counter


def cut(size: int, count: int) -> list[tuple[int, int]]:
    """``count`` (start, stop) ranges splitting range(size) in order, of sizes that differ
    by at most one multiple of 16 elements (a 64-byte line of float32: the two threads
    never write the same cache line)."""
    lines = -(-size // 16)
    bounds = [min(size, (lines * k // count) * 16) for k in range(count + 1)]
    return list(zip(bounds[:-1], bounds[1:], strict=True))
