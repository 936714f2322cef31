"""A class on one playground: N tabs training at once over the real WebSocket protocol.

    python -m benchmarks.playground_load               # N = 1, 10, 40; 20 s each
    python -m benchmarks.playground_load --quick       # N = 1, 3; 3 s each (tests run it)

Starts `python -m chainrule.playground` in a subprocess on 127.0.0.1, opens N sockets from
this process, presses play on each (the default network on the default circle) and does
what the page does: acknowledges every frame it receives. After a warm-up it measures, per
session, epochs a second (from the epoch counter of its frames) and frames a second, and
meanwhile times `GET /` every 100 ms. Reports the median, min and max epochs/s over the
sessions, fastest/slowest, and GET / latency p50 / p95, with the load average of the
machine (this process's clients share the machine with the server: a real class's
browsers would not).

Writes benchmarks/playground_load.json and the table between the markers in
docs/playground.md (unless --no-write).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DOC = HERE.parent / "docs" / "playground.md"
MARK_START, MARK_END = "<!-- load:start -->", "<!-- load:end -->"
EPOCH = re.compile(r'"epoch":\s*(\d+)')
SEQ = re.compile(r'"seq":\s*(\d+)')
FRAME = re.compile(r'\{"type":\s*"frame"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, max_sessions: int) -> subprocess.Popen[bytes]:
    src = str(HERE.parent / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, *sys.path])}
    process = subprocess.Popen(
        [sys.executable, "-m", "chainrule.playground", "--no-browser", "--port", str(port)]
        + ["--max-sessions", str(max_sessions)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
            return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the playground server did not start") from None
            time.sleep(0.2)


class Tab:
    """One simulated page: counts frames and epochs, acknowledges each frame."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, int]] = []  # (time, epoch) of each frame

    async def run(self, url: str, origin: str, stop: asyncio.Event) -> None:
        import websockets

        async with websockets.connect(url, origin=origin, max_size=2**23) as ws:  # type: ignore[arg-type]
            await ws.send(json.dumps({"type": "play"}))
            while not stop.is_set():
                try:
                    text = await asyncio.wait_for(ws.recv(), 1.0)
                except asyncio.TimeoutError:
                    continue
                if not isinstance(text, str) or not FRAME.match(text):
                    continue
                epoch, seq = EPOCH.search(text), SEQ.search(text[-200:])
                if epoch:
                    self.samples.append((time.monotonic(), int(epoch.group(1))))
                if seq:
                    await ws.send(f'{{"type":"drawn","seq":{seq.group(1)}}}')

    def rates(self, start: float, end: float) -> tuple[float, float]:
        """Epochs/s and frames/s between the first and the last frame in [start, end]."""
        inside = [(t, e) for t, e in self.samples if start <= t <= end]
        if len(inside) < 2:
            return 0.0, 0.0
        (t0, e0), (t1, e1) = inside[0], inside[-1]
        span = max(t1 - t0, 1e-9)
        return (e1 - e0) / span, (len(inside) - 1) / span


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_get(url: str, stop: threading.Event, out: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        try:
            urllib.request.urlopen(url, timeout=10).read()
            out.append(time.perf_counter() - started)
        except OSError:
            out.append(10.0)
        stop.wait(0.1)


async def measure(
    port: int, sessions: int, warmup: float, duration: float, server_pid: int | None = None
) -> dict[str, Any]:
    origin = f"http://127.0.0.1:{port}"
    tabs = [Tab() for _ in range(sessions)]
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(tab.run(f"ws://127.0.0.1:{port}/ws", origin, stop)) for tab in tabs
    ]
    await asyncio.sleep(warmup)
    latencies: list[float] = []
    get_stop = threading.Event()
    getter = threading.Thread(target=time_get, args=(origin + "/", get_stop, latencies))
    load_before = os.getloadavg()[0]
    cpu_before = cpu_seconds(server_pid) if server_pid else None
    start = time.monotonic()
    getter.start()
    await asyncio.sleep(duration)
    end = time.monotonic()
    cpu_after = cpu_seconds(server_pid) if server_pid else None
    server_cores = None
    if cpu_before is not None and cpu_after is not None:
        server_cores = (cpu_after - cpu_before) / (end - start)
    get_stop.set()
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.to_thread(getter.join)
    rates = [tab.rates(start, end) for tab in tabs]
    epochs = sorted(r[0] for r in rates)
    frames = sorted(r[1] for r in rates)
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] if latencies else None
    return {
        "sessions": sessions,
        "epochs_per_s": {
            "median": statistics.median(epochs),
            "min": epochs[0],
            "max": epochs[-1],
            "fastest_over_slowest": epochs[-1] / epochs[0] if epochs[0] > 0 else None,
        },
        "frames_per_s_median": statistics.median(frames),
        "get_ms": {
            "p50": 1000 * statistics.median(latencies) if latencies else None,
            "p95": 1000 * p95 if p95 is not None else None,
            "requests": len(latencies),
        },
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "server_cores": None if server_cores is None else round(server_cores, 2),
    }


def markdown(results: list[dict[str, Any]], when: str) -> str:
    lines = [
        f"Measured {when} by `python -m benchmarks.playground_load` (the default network on",
        "the circle, every tab playing and acknowledging frames as the page does):",
        "",
        "| tabs | epochs/s per tab: median (min–max) | fastest / slowest | frames/s per tab "
        "| GET / p50 / p95 | load average (1 min) | server CPU (cores) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        e, g, cores = r["epochs_per_s"], r["get_ms"], r.get("server_cores")
        ratio = e["fastest_over_slowest"]
        lines.append(
            f"| {r['sessions']} | {e['median']:.1f} ({e['min']:.1f}–{e['max']:.1f}) | "
            f"{'–' if ratio is None else f'{ratio:.2f}'} | {r['frames_per_s_median']:.1f} | "
            f"{g['p50']:.0f} / {g['p95']:.0f} ms | "
            f"{r['load_average_1min'][0]:.1f} → {r['load_average_1min'][1]:.1f} | "
            f"{'–' if cores is None else f'{cores:.2f}'} |"
        )
    return "\n".join(lines)


def write_doc(text: str) -> None:
    doc = DOC.read_text()
    if MARK_START in doc and MARK_END in doc:
        head, rest = doc.split(MARK_START, 1)
        _, tail = rest.split(MARK_END, 1)
        temporary = DOC.with_suffix(".md.tmp")
        temporary.write_text(f"{head}{MARK_START}\n{text}\n{MARK_END}{tail}")
        os.replace(temporary, DOC)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 1, 3 for 3 s: a smoke test")
    parser.add_argument("--sessions", type=int, nargs="*", help="the N to measure")
    parser.add_argument("--duration", type=float, help="seconds measured per N")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    counts = args.sessions or ([1, 3] if args.quick else [1, 10, 40])
    duration = args.duration or (3.0 if args.quick else 20.0)
    warmup = 1.5 if args.quick else 5.0
    port = free_port()
    server = start_server(port, max(counts) + 5)
    results = []
    try:
        for n in counts:
            result = asyncio.run(measure(port, n, warmup, duration, server.pid))
            results.append(result)
            print(json.dumps(result), flush=True)
            time.sleep(1.0)  # the closed tabs leave the ring
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    table = markdown(results, when)
    print(table)
    if not args.no_write:
        payload = {"when": when, "cpus": os.cpu_count(), "results": results}
        temporary = HERE / "playground_load.json.tmp"
        temporary.write_text(json.dumps(payload, indent=2) + "\n")
        os.replace(temporary, HERE / "playground_load.json")
        write_doc(table)
    return results


if __name__ == "__main__":
    main()
