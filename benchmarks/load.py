"""How busy the machine was while a workload ran: what else shares the cores.

/proc/stat gives the CPU time spent by all processes (and, on a virtual machine, the time
the hypervisor gave to other guests: steal) since boot; the difference over the workload,
minus the CPU time of the benchmark's own processes, is the others' share. A run is marked
"under load" when the others took more than 10% of the machine's CPU time or steal was
above 5%: its ratios may then be off, since noise does not hit every contender alike.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

OTHERS_LIMIT = 0.10
STEAL_LIMIT = 0.05


def _cpu_times() -> tuple[int, int, int] | None:
    """(total, busy, steal) jiffies over all CPUs since boot, or None off Linux."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    total = user + nice + system + idle + iowait + irq + softirq + steal
    return total, total - idle - iowait - steal, steal


def _process_jiffies(pids: list[int]) -> int:
    """utime + stime of these processes, in jiffies (a process's children that it waited
    for are not counted: workers are not waited for until the end)."""
    total = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime stime
    return total


def _load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


class LoadMeter:
    """meter = LoadMeter(pids); ...work...; meter.stop() -> a dict of what was measured."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.start_times = _cpu_times()
        self.start_ours = _process_jiffies(pids)
        self.start_load = _load_average()

    def stop(self) -> dict[str, Any]:
        end = _cpu_times()
        ours = _process_jiffies(self.pids) - self.start_ours
        report: dict[str, Any] = {
            "load_average_start": self.start_load,
            "load_average_end": _load_average(),
            "cpus": os.cpu_count(),
        }
        if end is None or self.start_times is None or end[0] <= self.start_times[0]:
            return {**report, "steal": None, "others": None, "under_load": None}
        total = end[0] - self.start_times[0]
        busy = end[1] - self.start_times[1]
        steal = (end[2] - self.start_times[2]) / total
        others = max(0.0, (busy - ours) / total)
        under = steal > STEAL_LIMIT or others > OTHERS_LIMIT
        return {**report, "steal": steal, "others": others, "under_load": under}
