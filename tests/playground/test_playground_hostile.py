"""Hostile or broken uploads and clients (issue 14 class 7): float64/float16 checkpoints,
headers describing far more than a playground network, load errors shown to the page, and
clients that hang up mid-message on a real server."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the playground extra (fastapi) is not installed")

import chainrule
from chainrule.playground import export, upload
from chainrule.playground.messages import PlaygroundConfig, ProtocolError
from chainrule.playground.session import Session


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def safetensors_bytes(header: dict, data: bytes = b"") -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


@pytest.mark.parametrize("dtype", [np.float64, np.float16])
def test_float64_and_float16_checkpoints_are_converted_and_train(tmp_path, dtype):
    source = Session(PlaygroundConfig(dataset="xor", layers=[5], activations=["tanh"]))
    source.train_frame(max_steps=5)
    source.model.to(dtype=dtype)
    path = tmp_path / "m.safetensors"
    chainrule.save({"model": source.model, "optimizer": source.optimizer,
                    "playground": source.config.model_dump()}, path)  # fmt: skip
    session = Session()
    config = export.load_checkpoint(session, b64(path.read_bytes()))
    assert config.layers == [5] and config.dataset == "xor"
    assert {p.detach().numpy().dtype for p in session.model.parameters()} == {np.dtype("float32")}
    np.testing.assert_allclose(
        session.model[0].weight.detach().numpy(),
        source.model[0].weight.detach().numpy().astype(np.float32),
        rtol=1e-3 if dtype is np.float16 else 1e-7,
    )
    for _ in range(3):  # every later frame works (it said "internal error" before)
        frame = session.train_frame(max_steps=5)
        assert frame["train_loss"] is not None and np.isfinite(frame["train_loss"])
    session.step_once()


def linear_header(layers: int) -> dict:
    header = {}
    offset = 0
    for i in range(layers):
        for part, shape in (("weight", [1, 1]), ("bias", [1])):
            header[f"{2 * i}.{part}"] = {"dtype": "F32", "shape": shape,
                                         "data_offsets": [offset, offset + 4]}  # fmt: skip
            offset += 4
    return header


def test_upload_describing_32768_layers_is_refused_before_any_work(monkeypatch):
    def no_load(*args, **kwargs):
        raise AssertionError("load ran: the limits must be checked first")

    monkeypatch.setattr(export, "load", no_load)
    session = Session()
    # 32,768 Linear(1, 1) layers: its header alone is over the playground's limit
    huge = safetensors_bytes(linear_header(32_768))
    with pytest.raises(ProtocolError, match="header is .* bytes"):
        export.load_checkpoint(session, b64(huge[:900_000]))
    # 100 layers fit in the header's bytes but not in the tensor count
    many = linear_header(100)
    with pytest.raises(ProtocolError, match="200 tensors: a playground network has at most 128"):
        export.load_checkpoint(session, b64(safetensors_bytes(many, b"\0" * 800)))
    # a model description of 1,000 activations (in 64 KiB) and no tensors at all
    layers = [{"name": str(i), "class": "Tanh", "args": {}} for i in range(1_000)]
    config = json.dumps({"class": "Sequential", "layers": layers})
    header = {"__metadata__": {"chainrule.config": config}}
    with pytest.raises(ProtocolError, match="describes more than 18 layers"):
        export.load_checkpoint(session, b64(safetensors_bytes(header)))
    one = {"w": {"dtype": "F32", "shape": [4096, 4096], "data_offsets": [0, 4]}}
    with pytest.raises(ProtocolError, match="larger than a playground layer"):
        export.load_checkpoint(session, b64(safetensors_bytes(one, b"\0" * 4)))
    odd = {"w": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}
    with pytest.raises(ProtocolError, match="unsupported dtype"):
        export.load_checkpoint(session, b64(safetensors_bytes(odd, b"\0" * 8)))


@pytest.mark.parametrize(
    "raw",
    [
        safetensors_bytes({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0"),
        b"\x80\x04\x95" + b"\0" * 40,  # a pickle
        struct.pack("<Q", 30) + b'{"w": "\xff\xfe\x00 raw bytes"}',
        safetensors_bytes(
            {"model.0.weight": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}},  # fmt: skip
            b"\x00\x00\xc0\x7f",
        ),
    ],
)
def test_load_errors_show_no_server_path_nor_raw_bytes(raw):
    session = Session()
    with pytest.raises(ProtocolError) as refused:
        export.load_checkpoint(session, b64(raw))
    message = str(refused.value)
    assert "/tmp" not in message and "upload.safetensors" not in message, message
    assert "b'" not in message and 'b"' not in message and "\\x" not in message, message
    assert message.isprintable() and len(message) < 300


def test_reason_strips_folder_and_bytes():
    error = ValueError("/tmp/abc/upload.safetensors is bad: starts with b'\\x80\\x04'")
    assert (
        upload.reason(error, "/tmp/abc")
        == "<upload>/upload.safetensors is bad: starts with <bytes>"
    )


# ---------------------------------------------------------------- a real server, rude clients


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def handshake(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:{port}\r\n\r\n"
        ).encode()
    )
    answer = sock.recv(4096)
    assert b"101" in answer.split(b"\r\n")[0], answer[:100]
    return sock


def masked_frame_start(length: int) -> bytes:
    """The start of a masked text frame announcing `length` bytes (client to server)."""
    return b"\x81" + bytes([0x80 | 127]) + struct.pack(">Q", length) + os.urandom(4)


async def play_then_vanish(port: int) -> None:
    import websockets

    ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws", origin=f"http://127.0.0.1:{port}")
    await ws.send(json.dumps({"type": "play"}))
    for _ in range(3):
        message = json.loads(await ws.recv())
        if message["type"] == "frame":
            await ws.send(json.dumps({"type": "drawn", "seq": message["seq"]}))
    await ws.send(json.dumps({"type": "export"}))  # its answer goes to a closed socket
    ws.transport.abort()  # no close handshake: the network dropped


def test_clients_hanging_up_mid_message_leave_no_tracebacks():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "chainrule.playground", "--no-browser", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        for _ in range(3):
            sock = handshake(port)  # half a 1 MB message, then gone
            sock.sendall(masked_frame_start(1_000_000) + b"x" * 30_000)
            sock.close()
            sock = handshake(port)  # gone before reading the hello
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()  # a reset, not a FIN
            asyncio.run(play_then_vanish(port))
        time.sleep(2.0)  # the server notices and cleans up
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            assert response.status == 200  # still serving
    finally:
        process.terminate()
        try:
            _, stderr = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
    assert "Traceback" not in stderr and "Exception in ASGI" not in stderr, stderr[-3000:]
    assert stderr.count("session") >= 6  # the sessions did open and close
