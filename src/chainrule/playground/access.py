"""Who may use the playground: the host allowlist (against DNS rebinding) and the class token.

DNS rebinding: a page served from `evil.example` can make that name resolve to 127.0.0.1
afterwards; its requests then reach the local server with `Host: evil.example:8000` and a
matching `Origin: http://evil.example:8000`, so comparing Origin with Host proves nothing.
As Jupyter does, the server answers only requests whose Host names one of the addresses it
serves (127.0.0.1, localhost, [::1], and what `--host` names: the machine's hostname and
LAN addresses for `0.0.0.0`), and a socket's Origin, when sent, must be such a host too.

Serving a class (any bind address other than loopback): every request must carry the
access token, a `secrets.token_urlsafe` string printed in the URL to share. The page's
first request has it in the query (`/?token=...`); the answer sets it as a cookie
(HttpOnly, SameSite=Strict), which the page's later requests and its WebSocket send.

`Guard` is plain ASGI middleware, so it sees HTTP requests and WebSocket handshakes alike.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import secrets
import socket
from collections.abc import Iterable
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger("chainrule.playground")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
COOKIE = "chainrule_playground_token"
WILDCARDS = frozenset({"0.0.0.0", "::", ""})


def is_loopback(host: str) -> bool:
    """True for 127.0.0.1, ::1 and localhost: the addresses only this machine reaches."""
    return host in LOOPBACK_HOSTS


def new_token() -> str:
    return secrets.token_urlsafe(16)


def hostname_of(netloc: str) -> str | None:
    """'Example.org:8000' -> 'example.org', '[::1]:80' -> '::1'; None if malformed."""
    try:
        parts = urlsplit(f"//{netloc}")
        name = parts.hostname
        _ = parts.port  # raises ValueError for a bad port
    except ValueError:
        return None
    return name.rstrip(".").lower() if name else None


def lan_addresses() -> list[str]:
    """This machine's own non-loopback IP addresses, best guess first (no packet is sent:
    connecting a UDP socket only asks the kernel which source address it would use)."""
    found: list[str] = []
    for target, family in (("10.255.255.255", socket.AF_INET), ("fd00::1", socket.AF_INET6)):
        with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((target, 1))
            found.append(probe.getsockname()[0])
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(socket.gethostname(), None):
            found.append(str(info[4][0]))
    unique = []
    for address in found:
        try:
            ip = ipaddress.ip_address(address.split("%")[0])
        except ValueError:
            continue
        if not (ip.is_loopback or ip.is_unspecified or ip.is_link_local) and str(ip) not in unique:
            unique.append(str(ip))
    return unique


def served_hosts(bind: str) -> list[str]:
    """The names a browser may use to reach a server bound to `bind`: loopback always; for
    a wildcard bind also the hostname and the LAN addresses; else the bind name itself."""
    hosts = ["127.0.0.1", "localhost", "::1"]
    if bind in WILDCARDS:
        name = socket.gethostname().lower()
        extra = [name, f"{name}.local", *lan_addresses()]
        with contextlib.suppress(OSError):
            extra.append(socket.getfqdn().lower())
    else:
        extra = [bind.strip("[]").lower()]
    for host in extra:
        if host and host not in hosts:
            hosts.append(host)
    return hosts


def share_url(bind: str, port: int, token: str | None) -> str:
    """The URL to give out: the LAN address for a wildcard bind, with the token if any."""
    if bind in WILDCARDS:
        addresses = lan_addresses()
        shown = addresses[0] if addresses else socket.gethostname()
    else:
        shown = bind.strip("[]")
    netloc = f"[{shown}]:{port}" if ":" in shown else f"{shown}:{port}"
    return f"http://{netloc}/" + (f"?token={token}" if token else "")


class Guard:
    """ASGI middleware: refuse a request whose Host (or a socket's Origin) is not served,
    and, when a token is set, one that carries neither `?token=` nor the cookie."""

    def __init__(self, app: Any, hosts: Iterable[str], token: str | None = None) -> None:
        self.app = app
        self.hosts = frozenset(h.lower() for h in hosts)
        self.token = token

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        problem = self._problem(scope, headers)
        if problem is not None:
            log.warning("playground: refused %s %s: %s", scope["type"], scope["path"], problem)
            await _refuse(scope, receive, send, problem)
            return
        if scope["type"] == "http" and self.token is not None and _query_token(scope):
            await self.app(scope, receive, _with_cookie(send, self.token))
            return
        await self.app(scope, receive, send)

    def _problem(self, scope: dict[str, Any], headers: dict[str, str]) -> str | None:
        host = hostname_of(headers.get("host", ""))
        if host is None or host not in self.hosts:
            return "this server does not serve the host " + repr(headers.get("host", ""))[:80]
        origin = headers.get("origin")
        if scope["type"] == "websocket" and origin is not None:
            parts = urlsplit(origin)
            if hostname_of(parts.netloc) not in self.hosts or parts.netloc != headers["host"]:
                return "a socket from another origin " + repr(origin)[:80]
        if self.token is not None:
            offered = _query_token(scope) or _cookie_token(headers)
            if offered is None or not secrets.compare_digest(offered, self.token):
                return "no valid access token (open the link with ?token=... that was shared)"
        return None


def _query_token(scope: dict[str, Any]) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    return values[0] if values else None


def _cookie_token(headers: dict[str, str]) -> str | None:
    cookie: SimpleCookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except Exception:  # a malformed cookie header counts as no token
        return None
    morsel = cookie.get(COOKIE)
    return morsel.value if morsel else None


def _with_cookie(send: Any, token: str) -> Any:
    """Wrap `send` to set the token cookie on the response start."""

    async def sending(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            value = f"{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/".encode("latin-1")
            message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", value)]}
        await send(message)

    return sending


async def _refuse(scope: dict[str, Any], receive: Any, send: Any, problem: str) -> None:
    if scope["type"] == "websocket":
        await receive()  # the websocket.connect event
        await send({"type": "websocket.close", "code": 1008, "reason": problem[:120]})
        return
    body = f"403 Forbidden: {problem}\n".encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
