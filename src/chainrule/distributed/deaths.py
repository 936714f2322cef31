"""The order in which a launch's ranks end, seen by the launcher itself.

MPICH's failure banner names the first rank *in rank order* whose exit was a signal, not
the first to die: when rank 1 is killed and rank 0 then dies of a signal too (killed in
Hydra's cleanup, or aborting on the lost peer), the banner names rank 0. So the launcher
watches the pids the ranks register at `init_process_group` with Linux pidfds, which
become readable the moment their process ends, and keeps the order they ended in.
"""

from __future__ import annotations

import os
import select
import threading
import time
from pathlib import Path

_POLL_MS = 50  # how often new pid files are looked for; a death wakes the poll at once


class DeathOrder:
    """A thread that records the ranks of `piddir/rank<r>.pid` in the order they end.

    `start()`, then `stop()` once mpiexec has exited; `first()` is then the rank that
    ended first, or None where nothing was seen (no pidfds on this system, no pid files).
    """

    def __init__(self, piddir: Path, ranks: int | None = None) -> None:
        self.piddir = piddir
        self.ranks = ranks  # how many register; once all have, the folder is not read again
        # pid files older than this launch (a user's CHAINRULE_DIST_PIDDIR kept from an
        # earlier run) name processes that are not its ranks: they are skipped. A second
        # of slack: file times come from the kernel's coarse clock, a few ms behind
        self.since = time.time() - 1.0
        self.ended: list[str] = []  # ranks, in the order their processes ended
        self.pids: dict[str, str] = {}  # rank -> pid, as registered
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        if hasattr(os, "pidfd_open"):  # Linux 5.3+; elsewhere the banner alone names the rank
            self._thread.start()

    def stop(self) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()
        for rank, text in self._new_pid_files():  # the pids, where no thread watched them
            self.pids[rank] = text

    def first(self) -> str | None:
        return self.ended[0] if self.ended else None

    def _watch(self) -> None:
        poller = select.poll()
        watched: dict[int, str] = {}  # pidfd -> rank
        try:
            while not self._done.is_set():
                if self.ranks is None or len(self.pids) < self.ranks:
                    self._look_for_new_ranks(poller, watched)
                # several pidfds ready in one wake: they ended within one wake-up of each
                # other, and the lower rank is taken first (the banner's order)
                ready = sorted(poller.poll(_POLL_MS), key=lambda event: int(watched[event[0]]))
                for fd, _ in ready:
                    rank = watched.pop(fd)
                    poller.unregister(fd)
                    os.close(fd)
                    self.ended.append(rank)
        finally:
            for fd in watched:
                os.close(fd)

    def _new_pid_files(self) -> list[tuple[str, str]]:
        """(rank, pid) of each pid file not read yet, whole (one being written is skipped)."""
        found = []
        for path in self.piddir.glob("rank*.pid"):
            rank = path.stem.removeprefix("rank")
            if rank in self.pids or not rank.isdigit():
                continue
            try:
                if path.stat().st_mtime < self.since:
                    continue
                text = path.read_text(encoding="ascii").strip()
            except OSError:
                continue
            if text.isdigit():
                found.append((rank, text))
        return found

    def _look_for_new_ranks(self, poller: select.poll, watched: dict[int, str]) -> None:
        for rank, text in self._new_pid_files():
            self.pids[rank] = text
            try:
                fd = os.pidfd_open(int(text))
            except ProcessLookupError:
                self.ended.append(rank)  # it ended before it was watched
                continue
            except OSError:
                continue
            watched[fd] = rank
            poller.register(fd, select.POLLIN)
