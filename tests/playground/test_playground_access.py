"""Who may use the playground: the host allowlist against DNS rebinding, the origin check of
sockets, and the access token of a class server (issue 14 class 6, issue 15 "serving a
class"). Real servers here bind loopback addresses only (127.0.0.2 stands in for a LAN)."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings

import pytest

pytest.importorskip("fastapi", reason="the playground extra (fastapi) is not installed")
pytest.importorskip("httpx", reason="fastapi's test client needs httpx")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from chainrule.playground import access
from chainrule.playground.server import create_app


def socket_opens(client, host, origin=None, cookie=None, query=""):
    """Open /ws with these headers: True if the server says hello, False if it refuses."""
    headers = {"host": host}
    if origin is not None:
        headers["origin"] = origin
    if cookie is not None:
        headers["cookie"] = cookie
    try:
        with client.websocket_connect(f"ws://{host}/ws{query}", headers=headers) as ws:
            return ws.receive_json()["type"] == "hello"
    except WebSocketDisconnect:
        return False


@pytest.fixture
def app_client():
    with TestClient(create_app()) as client:
        yield client


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "LOCALHOST"])
def test_loopback_hosts_are_served(app_client, host):
    assert app_client.get("/", headers={"host": host}).status_code == 200
    assert socket_opens(app_client, host, origin=f"http://{host}")


@pytest.mark.parametrize(
    "host", ["evil.example:8000", "127.0.0.1.evil.example", "localhost.evil:8000", "", "[::2]"]
)
def test_other_hosts_are_refused_over_http_and_websocket(app_client, host):
    """DNS rebinding: the attacker's name resolves to 127.0.0.1, so Host and Origin match."""
    response = app_client.get("/api/defaults", headers={"host": host})
    assert response.status_code == 403 and "does not serve the host" in response.text
    if host:
        assert not socket_opens(app_client, host, origin=f"http://{host}")


def test_socket_origin_must_be_the_served_page(app_client):
    host = "127.0.0.1:8000"
    assert not socket_opens(app_client, host, origin="http://evil.example")
    assert not socket_opens(app_client, host, origin="http://evil.example:8000")
    assert not socket_opens(app_client, host, origin="http://localhost:9999")  # another port
    assert not socket_opens(app_client, host, origin="null")
    assert socket_opens(app_client, host)  # tools (no Origin header) may connect locally


def test_hosts_given_are_served_too():
    app = create_app(hosts=access.served_hosts("class-laptop.example"))
    with TestClient(app) as client:
        assert client.get("/", headers={"host": "class-laptop.example:8000"}).status_code == 200
        assert client.get("/", headers={"host": "localhost:8000"}).status_code == 200
        assert client.get("/", headers={"host": "other.example:8000"}).status_code == 403


def test_served_hosts_and_share_url_of_a_wildcard_bind():
    hosts = access.served_hosts("0.0.0.0")
    assert hosts[:3] == ["127.0.0.1", "localhost", "::1"]
    assert socket.gethostname().lower() in hosts
    for address in access.lan_addresses():
        assert address in hosts and not address.startswith("127.")
    url = access.share_url("0.0.0.0", 8123, "TOKEN")
    assert url.endswith(":8123/?token=TOKEN")
    assert access.share_url("::1", 80, None) == "http://[::1]:80/"
    assert len(access.new_token()) >= 20 and access.new_token() != access.new_token()


def test_token_is_required_and_set_as_a_cookie():
    token = access.new_token()
    app = create_app(token=token, share=f"http://127.0.0.1:8000/?token={token}")
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        for path in ("/", "/static/ui.js", "/api/defaults", f"/?token={token}x", "/?token="):
            assert client.get(path).status_code == 403, path
        assert not socket_opens(client, "127.0.0.1:8000", origin="http://127.0.0.1:8000")
        assert not socket_opens(client, "127.0.0.1:8000", cookie=f"{access.COOKIE}=wrong")
        page = client.get(f"/?token={token}")
        assert page.status_code == 200 and "chainrule" in page.text
        set_cookie = page.headers["set-cookie"]
        assert f"{access.COOKIE}={token}" in set_cookie
        assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
        # the client keeps the cookie, as a browser does: the page's own requests pass
        assert client.get("/static/ui.js").status_code == 200
        share = client.get("/api/share").json()
        assert share["url"].endswith(f"?token={token}") and share["svg"].startswith("<svg")
        cookie = f"{access.COOKIE}={token}"
        assert socket_opens(client, "127.0.0.1:8000", origin="http://127.0.0.1:8000", cookie=cookie)
        assert socket_opens(client, "127.0.0.1:8000", query=f"?token={token}")


def test_without_a_class_there_is_no_share_link(app_client):
    assert app_client.get("/api/share", headers={"host": "127.0.0.1:8000"}).json()["url"] is None


def free_port(host):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def test_class_server_prints_a_token_url_and_qr_and_refuses_without_it():
    """A real `chainrule playground --host 127.0.0.2` (not loopback's 127.0.0.1, so served as
    for a class): the printed URL works, the same URL without the token is refused."""
    host = "127.0.0.2"
    try:
        port = free_port(host)
    except OSError:
        pytest.skip("127.0.0.2 cannot be bound here")
    process = subprocess.Popen(
        [sys.executable, "-m", "chainrule.playground", "--no-browser", "--host", host]
        + ["--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        printed = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            printed.append(line)
            if "share http" in line:
                break
        text = "".join(printed)
        match = re.search(r"share (http://127\.0\.0\.2:\d+/\?token=([\w-]+))", text)
        assert match, text
        url, token = match.groups()
        assert "▀" in text or "▄" in text or "█" in text  # the QR code in the terminal
        bare = f"http://{host}:{port}/"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(bare, timeout=10)
        assert refused.value.code == 403
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
            cookie = response.headers["set-cookie"].split(";")[0]
        assert asyncio.run(_ws_hello(f"ws://{host}:{port}/ws", bare[:-1], None)) is False
        assert asyncio.run(_ws_hello(f"ws://{host}:{port}/ws", bare[:-1], cookie)) is True
        assert token in cookie
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


async def _ws_hello(url, origin, cookie):
    import websockets  # a playground dependency

    headers = {"Cookie": cookie} if cookie else {}
    try:
        async with websockets.connect(url, origin=origin, additional_headers=headers) as ws:
            return '"hello"' in await asyncio.wait_for(ws.recv(), 30)
    except websockets.exceptions.InvalidStatus:
        return False
