"""One engine thread computes for every tab: requests first, then training turns in a ring.

Before, each tab trained in its own worker thread and all of them queued on one lock, so
whoever got the lock next trained next: with many tabs some got far more epochs than
others, and a tab's pause or edit waited behind everyone's training. Now one thread owns
all of chainrule's computation (on 2 cores the GIL leaves no gain in more threads) and
serves, in this order:

1. requests (a config, a step, a probe, an upload...), in arrival order, each between two
   turns, so an edit waits for at most one turn;
2. a training *turn* of the next ready tab in the ring, together with every other ready
   tab whose network can be stacked with it (`batched.group_key`: same shape, loss,
   optimizer kind, batch size), as one stacked step for all (`batched.train_together`:
   an epoch of 40 default tabs costs about what 2 cost one by one; a lone tab takes the
   same path, the fastest there is for these networks): to the end of each one's epoch,
   or `TURN_S` seconds for a lone tab, `GROUP_TURN_S` for a group. A tab whose network has
   no stacked step (`group_key` None) trains alone through `Session.train`. Then each tab
   whose last frame is old enough gets a frame, and the group goes to the back of the
   ring: every tab gets a turn in every round, first come or not.

A frame (a forward pass over 10,900 grid and data points, and the heatmaps' bytes) costs
about four epochs of a stacked default tab. With one tab, frames come every
`FRAME_INTERVAL_S` (30 a second); with many, each tab's frames are spaced so that frames
take at most `FRAME_SHARE` of the engine's time and the rest goes to training (the
measured figures are in docs/playground.md: on a loaded machine, well under one frame a
second each for 40 tabs).

A tab takes a turn only when it is *ready*: playing, its page has drawn all but at most
one of the frames sent (`MAX_AHEAD`: the page acknowledges each frame it drew), and at
most `MAX_EPOCHS_PER_S` epochs a second (one tab alone does not take a whole core).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from chainrule.playground import batched
from chainrule.playground.session import ENGINE_LOCK

log = logging.getLogger("chainrule.playground")
TURN_S = 0.006  # the longest training stretch before the next tab's turn
GROUP_TURN_S = 0.1  # the longest for tabs training together (usually: one epoch)
FRAME_INTERVAL_S = 1 / 30  # at most 30 frames a second per tab
MAX_EPOCHS_PER_S = 30.0
FRAME_SHARE = 0.3  # of the engine's time, at most, for frames of playing tabs
MAX_AHEAD = 1  # frames sent but not yet drawn, beyond which a tab waits (so <= 2 in flight)


class Player(Protocol):
    """What the engine needs of a tab (server.Connection is one)."""

    session: Any
    produced: int  # frames made for this tab (its frames' `seq`)
    drawn: int  # the highest `seq` the page says it drew
    next_turn: float  # monotonic time before which it does not train
    last_frame: float

    def deliver(self, frame: dict[str, Any]) -> None:
        """Send a frame (called on the engine thread; must hand over to the event loop)."""


class Engine:
    def __init__(self, turn_s: float = TURN_S) -> None:
        self.turn_s = turn_s
        self._cv = threading.Condition()
        self._requests: deque[tuple[Callable[..., Any], tuple[Any, ...], Any, Any]] = deque()
        self._ring: deque[Player] = deque()
        self._closed = False
        self._thread: threading.Thread | None = None
        self.turns = 0
        self.frame_cost = 0.002  # seconds a frame takes (a moving average)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="playground-engine")
            self._thread.daemon = True
            self._thread.start()

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # ------------------------------------------------------------------ from the event loop
    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run `fn(*args)` on the engine thread, between two turns; returns its result."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._cv:
            if self._closed:
                raise RuntimeError("the playground engine has stopped")
            self._requests.append((fn, args, loop, future))
            self._cv.notify()
        return await future

    def play(self, player: Player) -> None:
        with self._cv:
            if player not in self._ring:
                self._ring.append(player)
            self._cv.notify()

    def stop(self, player: Player) -> None:
        with self._cv:
            if player in self._ring:
                self._ring.remove(player)

    def wake(self) -> None:
        """Something changed that may make a tab ready (a frame was drawn)."""
        with self._cv:
            self._cv.notify()

    # ------------------------------------------------------------------ the engine thread
    @staticmethod
    def ready(player: Player, now: float) -> bool:
        return (
            player.session.playing
            and player.produced - player.drawn <= MAX_AHEAD
            and now >= player.next_turn
        )

    def _next(self) -> tuple[str, Any] | None:
        """Under the lock: the next request, else the next ready tab with every other ready
        tab that can train with it (`batched.group_key`), all moved to the back of the
        ring; else None after waiting until something may have changed."""
        if self._requests:
            return "request", self._requests.popleft()
        now = time.monotonic()
        for _ in range(len(self._ring)):
            player = self._ring[0]
            if not player.session.playing:
                self._ring.popleft()
            elif self.ready(player, now):
                group = [player]
                key = batched.group_key(player.session)
                if key is not None:
                    group += [
                        p
                        for p in list(self._ring)[1:]
                        if self.ready(p, now) and batched.group_key(p.session) == key
                    ]
                for member in group:
                    self._ring.remove(member)
                self._ring.extend(group)
                return "turn", group
            else:
                self._ring.rotate(-1)
        waits = [p.next_turn - now for p in self._ring if p.next_turn > now]
        self._cv.wait(timeout=min(waits) if waits else None)
        return None

    def _run(self) -> None:
        while True:
            with self._cv:
                if self._closed:
                    return
                job = self._next()
            if job is None:
                continue
            kind, item = job
            if kind == "request":
                self._serve(*item)
            else:
                try:
                    self._turn(item)
                except Exception:  # a bug must not stop the engine for every tab
                    log.exception("playground: a training turn failed")
                    for player in item:
                        player.session.playing = False

    @staticmethod
    def _serve(fn: Callable[..., Any], args: tuple[Any, ...], loop: Any, future: Any) -> None:
        try:
            result = fn(*args)
        except BaseException as error:  # handed to the awaiting coroutine
            loop.call_soon_threadsafe(_settle, future, None, error)
        else:
            loop.call_soon_threadsafe(_settle, future, result, None)

    def frame_interval(self) -> float:
        """Seconds between two frames of one tab: 1/30, or more when frames of all the
        playing tabs would otherwise take more than FRAME_SHARE of the time."""
        return max(FRAME_INTERVAL_S, len(self._ring) * self.frame_cost / FRAME_SHARE)

    def _turn(self, group: list[Player]) -> None:
        """Train a group (one tab, or tabs stacked by `batched`), then the frames due."""
        started = time.monotonic()
        sessions = [p.session for p in group]
        with ENGINE_LOCK:
            if batched.group_key(sessions[0]) is None:  # no stacked step for this one
                ended = [sessions[0].train(budget=self.turn_s)]
            else:  # the stacked step (even for one tab: the fastest there is for these),
                # to the end of each epoch: the gather and write-back paid once
                budget = self.turn_s if len(group) == 1 else GROUP_TURN_S
                ended = batched.train_together(sessions, budget=budget)
        self.turns += 1
        interval = self.frame_interval()
        for player, epoch_ended in zip(group, ended, strict=True):
            session = player.session
            if epoch_ended:  # epochs at most 1/MAX_EPOCHS_PER_S apart on average, no burst
                spacing = 1 / MAX_EPOCHS_PER_S
                player.next_turn = max(player.next_turn, started - spacing) + spacing
            now = time.monotonic()
            if now - player.last_frame >= interval or not session.playing:
                player.last_frame = now
                frame = session.frame(grad_norms=session.take_grad_norms())
                self.frame_cost = 0.9 * self.frame_cost + 0.1 * (time.monotonic() - now)
                player.deliver(stamp(player, frame))


def stamp(player: Player, frame: dict[str, Any]) -> dict[str, Any]:
    """Number a frame for the page's acknowledgement (engine thread only)."""
    player.produced += 1
    frame["seq"] = player.produced
    return frame


def _settle(future: Any, result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
