"""The playground's web server: static page, a few JSON endpoints and one WebSocket per tab.

`create_app()` builds the FastAPI app; `serve(host, port, open_browser)` runs it on uvicorn.
Each WebSocket owns one `Session` (its own data, model and optimizer), so tabs cannot see or
disturb each other. Every message is validated (`messages.parse_client_message`); a bad one
gets an error on that socket and a log line, and the socket stays open. The server also
limits the number of tabs, the message rate and the message size.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import io
import itertools
import logging
import threading
import time
import webbrowser
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any, cast

from fastapi import FastAPI, WebSocket
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.websockets import WebSocketDisconnect

from chainrule.playground import access, export
from chainrule.playground.datasets import thumbnails
from chainrule.playground.engine import Engine, stamp
from chainrule.playground.messages import (
    FEATURES,
    MAX_CSV_BYTES,
    MAX_LAYERS,
    MAX_MESSAGE_BYTES,
    MAX_NEURONS,
    MAX_POINTS,
    PlaygroundConfig,
    ProtocolError,
    menus,
    parse_client_message,
)
from chainrule.playground.session import Session

log = logging.getLogger("chainrule.playground")
STATIC = Path(__file__).parent / "static"
MAX_SESSIONS = 40  # a class of students, one tab each
RATE_PER_SECOND = 40.0
RATE_BURST = 80.0
WS_MAX_SIZE = 4 * 1024 * 1024  # uvicorn drops the connection beyond this; we answer below it

_ids = itertools.count(1)


class RateLimiter:
    """A token bucket: `rate` messages a second on average, bursts of up to `burst`."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = burst, time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def limits() -> dict[str, Any]:
    return {
        "max_layers": MAX_LAYERS,
        "max_neurons": MAX_NEURONS,
        "max_points": MAX_POINTS,
        "max_csv_bytes": MAX_CSV_BYTES,
        "max_message_bytes": MAX_MESSAGE_BYTES,
        "features": list(FEATURES),
    }


class Connection:
    """One tab: its socket, its session, and its place in the engine's ring while playing."""

    def __init__(
        self, ws: WebSocket, engine: Engine, session: Session, rate: float, burst: float
    ) -> None:
        self.ws = ws
        self.engine = engine
        self.id = next(_ids)
        self.session = session
        self.limiter = RateLimiter(rate, burst)
        self.ack_limiter = RateLimiter(4 * rate, 4 * burst)  # one per frame drawn, apart
        self.send_lock = asyncio.Lock()
        self.loop = asyncio.get_running_loop()
        self.last_rate_error = 0.0
        self.closed = False
        # "/ws?await_config=1" (the page): no default data and frame before its own config
        self.await_config = ws.query_params.get("await_config") == "1"
        self.data_sent = False
        # back-pressure (see engine.py): frames made and the last one the page drew
        self.produced = self.drawn = 0
        self.next_turn = self.last_frame = 0.0

    async def send(self, message: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.ws.send_json(message)

    def deliver(self, frame: dict[str, Any]) -> None:
        """Called on the engine thread: send `frame` from the event loop."""
        self.loop.call_soon_threadsafe(self._spawn_send, frame)

    def _spawn_send(self, frame: dict[str, Any]) -> None:
        if not self.closed:
            task = self.loop.create_task(self._send_quietly(frame))
            _background.add(task)
            task.add_done_callback(_background.discard)

    async def _send_quietly(self, message: dict[str, Any]) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await self.send(message)

    async def send_data(self) -> None:
        self.data_sent = True
        await self.send(self.session.data_message())

    async def error(self, text: str) -> None:
        log.warning("playground session %d: %s", self.id, text[:300])
        await self.send({"type": "error", "message": text})

    async def compute(self, fn: Any, *args: Any) -> Any:
        """Run a session method on the engine thread (between two training turns), so the
        event loop, and so every other tab, keeps going while chainrule computes."""
        return await self.engine.call(fn, *args)

    def _stamped_frame(self) -> dict[str, Any]:
        return stamp(self, self.session.frame())

    async def frame(self) -> dict[str, Any]:
        """A frame of the current state (numbered, as every frame, for the page's ack)."""
        return cast(dict[str, Any], await self.compute(self._stamped_frame))

    async def run(self) -> None:
        await self.send({"type": "hello", "session": self.id, "limits": limits()})
        if not self.await_config:  # else the page's own setup comes first (no default flash)
            await self.send_data()
            await self.send(await self.frame())
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                await self.error("binary messages are not accepted: send JSON text")
                continue
            is_ack = text.startswith('{"type":"drawn"') and len(text) < 64
            if not (self.ack_limiter if is_ack else self.limiter).allow():
                now = time.monotonic()
                if now - self.last_rate_error > 1.0:
                    self.last_rate_error = now
                    await self.error(
                        f"rate limit: at most {RATE_PER_SECOND:g} messages a second; "
                        "messages beyond it are dropped"
                    )
                continue
            try:
                await self.handle(parse_client_message(text))
            except ProtocolError as problem:
                await self.error(str(problem))
            except (WebSocketDisconnect, asyncio.CancelledError):
                raise
            except Exception as problem:  # a bug must not take the server down
                if is_disconnect(problem):
                    raise
                log.exception("playground session %d: internal error", self.id)
                await self.send({"type": "error", "message": f"internal error: {problem}"})

    async def handle(self, msg: Any) -> None:
        session = self.session
        kind = msg.type
        if kind == "drawn":
            self.drawn = max(self.drawn, min(msg.seq, self.produced))
            self.engine.wake()
        elif kind == "play":
            session.divergence = None
            session.playing = True
            self.drawn = self.produced  # the page asks for more: it has drawn what it wants
            self.engine.play(self)
            await self.send({"type": "status", "playing": True})
        elif kind == "pause":
            session.playing = False
            self.engine.stop(self)
            await self.send({"type": "status", "playing": False})
        elif kind == "step":
            session.playing = False
            self.engine.stop(self)
            await self.send(await self.compute(lambda: stamp(self, session.step_once())))
        elif kind == "reset":
            self.engine.stop(self)
            await self.compute(session.reset)
            await self.send(await self.frame())
        elif kind == "frame":
            await self.send(await self.frame())
        elif kind == "config":
            changed = await self.compute(session.apply_config, msg.config, msg.keep_model)
            if "data" in changed or not self.data_sent:
                await self.send_data()
            await self.send(await self.frame())
        elif kind == "set_weight":
            await self.compute(session.set_weight, msg.layer, msg.target, msg.source, msg.value)
            await self.send(await self.frame())
        elif kind == "probe":
            await self.compute(session.set_probe, msg.split, msg.index)
            await self.send(await self.frame())
        elif kind in ("add_point", "clear_points", "upload_csv"):
            if kind == "add_point":
                await self.compute(session.add_point, msg.x1, msg.x2, msg.label)
            elif kind == "clear_points":
                await self.compute(session.clear_points)
            else:
                await self.compute(session.upload_csv, msg.text)
            await self.send_everything()
        elif kind == "upload_checkpoint":
            session.playing = False
            self.engine.stop(self)
            await self.compute(export.load_checkpoint, session, msg.data)
            await self.send_everything()
        elif kind == "export":
            data = await self.compute(export.checkpoint_bytes, session)
            code = await self.compute(export.python_code, session)
            await self.send(
                {
                    "type": "export",
                    "filename": export.CHECKPOINT_NAME,
                    "checkpoint": base64.b64encode(data).decode("ascii"),
                    "python": code,
                }
            )

    async def send_everything(self) -> None:
        """After the data or the model changed under the page: config, data and a frame."""
        await self.send({"type": "config", "config": self.session.config.model_dump()})
        await self.send_data()
        await self.send(await self.frame())

    async def close(self) -> None:
        self.closed = True
        self.session.playing = False
        self.engine.stop(self)


def is_disconnect(error: BaseException) -> bool:
    """Whether `error` only says the client went away (closed tab, dropped network, a
    client that hung up mid-message): uvicorn's ClientDisconnected is an OSError,
    starlette raises RuntimeError for a send or receive after the close."""
    if isinstance(error, (WebSocketDisconnect, OSError)):
        return True
    if type(error).__name__ in ("ConnectionClosed", "ConnectionClosedError", "ConnectionClosedOK"):
        return True
    text = str(error)
    return isinstance(error, RuntimeError) and ("disconnect" in text or "close message" in text)


_background: set[asyncio.Task[None]] = set()  # frames being sent (kept from the collector)


def create_app(
    *,
    max_sessions: int = MAX_SESSIONS,
    rate: float = RATE_PER_SECOND,
    burst: float = RATE_BURST,
    hosts: Iterable[str] = access.LOOPBACK_HOSTS,
    token: str | None = None,
    share: str | None = None,
) -> FastAPI:
    """The playground app: '/' (the page), '/static/*', '/api/*' and the '/ws' socket.

    Only requests whose Host is one of `hosts` are answered (and a socket's Origin must be
    one of them too); with a `token`, only requests that carry it (see `access`). `share`
    is the URL the page shows as a QR code for a class."""
    engine = Engine()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine.start()
        yield
        engine.close()

    app = FastAPI(
        title="chainrule playground",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.add_middleware(access.Guard, hosts=hosts, token=token)
    app.state.sessions = 0
    app.state.engine = engine

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/api/defaults")
    async def defaults() -> JSONResponse:
        return JSONResponse(
            {"config": PlaygroundConfig().model_dump(), "limits": limits(), "menus": menus()}
        )

    @app.get("/api/share")
    async def share_link() -> JSONResponse:
        """The URL to share with a class and its QR code (SVG), when serving a class."""
        if share is None:
            return JSONResponse({"url": None, "svg": None})
        return JSONResponse({"url": share, "svg": qr_svg(share)})

    @app.get("/api/thumbnails")
    async def dataset_thumbnails() -> JSONResponse:
        return JSONResponse(_cached_thumbnails())

    @app.websocket("/ws")
    async def playground_socket(ws: WebSocket) -> None:
        await ws.accept()
        if app.state.sessions >= max_sessions:
            await ws.send_json(
                {"type": "error", "message": f"too many open tabs (at most {max_sessions})"}
            )
            await ws.close(code=1013)
            return
        app.state.sessions += 1
        connection: Connection | None = None
        try:
            connection = Connection(ws, engine, await engine.call(Session), rate, burst)
            log.info("playground session %d opened", connection.id)
            await connection.run()
        except Exception as error:
            if not is_disconnect(error):
                raise
            # the page went away mid-send or mid-receive: an ordinary end, not an error
        finally:
            app.state.sessions -= 1
            if connection is not None:
                await connection.close()
                log.info("playground session %d closed", connection.id)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


@functools.lru_cache(maxsize=4)
def qr_svg(url: str) -> str | None:
    """The QR code of `url` as inline SVG (None without the `segno` package)."""
    try:
        import segno  # optional, part of the playground extra
    except ImportError:
        return None
    return str(segno.make(url, error="m").svg_inline(scale=6, border=2))


def qr_text(url: str) -> str:
    """The QR code of `url` for a terminal (half-block characters), or '' without segno."""
    try:
        import segno  # optional, part of the playground extra
    except ImportError:
        return ""
    out = io.StringIO()
    segno.make(url, error="m").terminal(out=out, compact=True, border=2)
    return out.getvalue()


@functools.lru_cache(maxsize=1)
def _cached_thumbnails() -> dict[str, Any]:
    return thumbnails()


def _single_threaded_blas() -> None:
    """Small matrices run far faster on one BLAS thread than on several (thread start-up
    dominates); the sessions share one engine lock anyway."""
    try:
        from threadpoolctl import threadpool_limits  # optional
    except ImportError:
        return
    threadpool_limits(1)


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    open_browser: bool = True,
    max_sessions: int = MAX_SESSIONS,
) -> None:
    """Run the playground until Ctrl-C; opens the page in a browser once the server is up.

    On loopback (the default) anyone on this machine may use it, as with Jupyter's
    defaults minus the token; on any other address (`0.0.0.0`: a class on the LAN) the
    server makes a random access token and prints the URL to share, with a QR code."""
    import uvicorn  # only needed to serve

    _single_threaded_blas()
    if not log.handlers:  # session and bad-message lines next to uvicorn's own
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    token = None if access.is_loopback(host) else access.new_token()
    url = access.share_url(host, port, token)
    hosts = access.served_hosts(host)
    app = create_app(
        max_sessions=max_sessions, hosts=hosts, token=token, share=url if token else None
    )
    config = uvicorn.Config(app, host=host, port=port, log_level="info", ws_max_size=WS_MAX_SIZE)
    server = uvicorn.Server(config)

    def open_when_ready() -> None:
        for _ in range(100):
            if server.started:
                if token:
                    print(qr_text(url), end="", flush=True)
                    print(
                        f"chainrule playground: share {url}\n"
                        f"  (the link holds this run's access token; without it the server "
                        f"refuses. Served as: {', '.join(hosts)})",
                        flush=True,
                    )
                else:
                    print(f"chainrule playground: {url}", flush=True)
                if open_browser:
                    webbrowser.open(url)
                return
            time.sleep(0.1)

    threading.Thread(target=open_when_ready, daemon=True).start()
    server.run()
