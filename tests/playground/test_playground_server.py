"""The playground server: HTTP and WebSocket API through FastAPI's test client, the session
logic, validation of bad input, limits, isolation of tabs and the Python round trip."""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the playground extra (fastapi) is not installed")
pytest.importorskip("httpx", reason="fastapi's test client needs httpx")

with warnings.catch_warnings():  # starlette's note about httpx versus httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

import chainrule
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.checkpoint import load
from chainrule.playground import export
from chainrule.playground.cli import add_playground_arguments, run_playground
from chainrule.playground.messages import (
    MAX_MESSAGE_BYTES,
    PlaygroundConfig,
    ProtocolError,
    parse_client_message,
)
from chainrule.playground.server import STATIC, create_app
from chainrule.playground.session import Session
from chainrule.playground.training import suggest_learning_rate


class LocalClient(TestClient):
    """The test client as a browser on this machine: Host 127.0.0.1:8000 (the server answers
    only the hosts it serves), and sockets opened from the page's own origin."""

    def __init__(self, app, host="127.0.0.1:8000", **kwargs):
        super().__init__(app, base_url=f"http://{host}", **kwargs)
        self.host = host

    def websocket_connect(self, url, *args, **kwargs):
        headers = {"origin": f"http://{self.host}", **kwargs.pop("headers", {})}
        return super().websocket_connect(f"ws://{self.host}{url}", *args, headers=headers, **kwargs)


@pytest.fixture
def client():
    with LocalClient(create_app()) as test_client:
        yield test_client


def config(**changes):
    return PlaygroundConfig(**changes).model_dump()


def receive_until(ws, kind, limit=50):
    """Messages up to and including the first of type `kind` (errors are returned too)."""
    seen = []
    for _ in range(limit):
        message = ws.receive_json()
        seen.append(message)
        if message["type"] == kind:
            return message, seen
    raise AssertionError(f"no {kind!r} message among {[m['type'] for m in seen]}")


def opened(ws):
    hello = ws.receive_json()
    assert hello["type"] == "hello"
    data = ws.receive_json()
    assert data["type"] == "data"
    frame = ws.receive_json()
    assert frame["type"] == "frame"
    return hello, data, frame


def expect_error(ws, pattern):
    message, _ = receive_until(ws, "error")
    assert re.search(pattern, message["message"]), message["message"]
    return message


def drawn(ws, frame):
    """Tell the server the page drew `frame`, as the page does after each one."""
    ws.send_json({"type": "drawn", "seq": frame["seq"]})
    return frame


def next_frame(ws):
    """The next frame, acknowledged (a playing session waits for its page otherwise)."""
    frame, _ = receive_until(ws, "frame")
    return drawn(ws, frame)


def still_alive(ws):
    ws.send_json({"type": "frame"})
    frame, _ = receive_until(ws, "frame")
    return frame


# ---------------------------------------------------------------- HTTP


def test_page_and_static_modules_are_served(client):
    page = client.get("/")
    assert page.status_code == 200
    assert '<script type="module" src="/static/ui.js">' in page.text
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    for path in sorted(STATIC.iterdir()):
        response = client.get(f"/static/{path.name}")
        assert response.status_code == 200, path.name
        if path.suffix == ".js":
            assert "javascript" in response.headers["content-type"]
            for module in re.findall(r'from "\./([\w.]+)"', response.text):
                assert (STATIC / module).is_file(), f"{path.name} imports a missing {module}"
            code = response.text.replace("http://www.w3.org/2000/svg", "")  # a name, not a URL
            assert "http://" not in code and "https://" not in code


def test_defaults_and_thumbnails(client):
    defaults = client.get("/api/defaults").json()
    assert defaults["config"] == PlaygroundConfig().model_dump()
    assert defaults["limits"]["max_layers"] == 8 and defaults["limits"]["max_neurons"] == 32
    thumbs = client.get("/api/thumbnails").json()
    for name in ("circle", "xor", "gauss", "spiral", "moons", "spiral_multi", "blobs"):
        rows = np.array(thumbs[name])
        assert rows.shape[1] == 3 and np.abs(rows[:, :2]).max() <= 6.5
    assert {"reg_plane", "reg_gauss"} <= set(thumbs)


# ---------------------------------------------------------------- WebSocket basics


def test_socket_opens_with_data_and_a_frame(client):
    with client.websocket_connect("/ws") as ws:
        hello, data, frame = opened(ws)
        assert hello["limits"]["max_points"] == 5000
        assert len(data["train"]) == 250 and len(data["test"]) == 250
        assert frame["step"] == 0 and frame["epoch"] == 0
        assert len(base64.b64decode(frame["output"]["values"])) == 100 * 100
        assert [len(layer) for layer in frame["neurons"]] == [4, 8, 8]
        assert all(len(base64.b64decode(b)) == 20 * 20 for b in frame["neurons"][1])
        assert [np.shape(w) for w in frame["weights"]] == [(8, 4), (8, 8), (1, 8)]
        assert 0.3 < frame["test_loss"] < 1.5


def test_config_step_play_pause_reset(client):
    with client.websocket_connect("/ws") as ws:
        opened(ws)
        ws.send_json(
            {
                "type": "config",
                "config": config(dataset="spiral", layers=[8, 8, 8], activations=["tanh"] * 3),
            }
        )
        data, _ = receive_until(ws, "data")
        assert data["dataset"] == "spiral"
        frame, _ = receive_until(ws, "frame")
        assert len(frame["weights"]) == 4
        ws.send_json({"type": "step"})
        frame, _ = receive_until(ws, "frame")
        # one epoch: 250 training points in batches of 10
        assert frame["epoch"] == 1 and frame["step"] == 25 and frame["grad_norms"] is not None
        ws.send_json({"type": "play"})
        receive_until(ws, "status")
        steps = [next_frame(ws)["step"] for _ in range(5)]
        assert steps == sorted(steps) and steps[-1] > 1
        ws.send_json({"type": "pause"})
        status, _ = receive_until(ws, "status")
        assert status["playing"] is False
        ws.send_json({"type": "reset"})
        while True:  # frames trained before the pause may still be in flight
            frame, _ = receive_until(ws, "frame")
            if frame["step"] == 0:
                break
        assert frame["epoch"] == 0


def test_a_page_with_its_own_setup_gets_no_default_data_or_frame_first(client):
    with client.websocket_connect("/ws?await_config=1") as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_json({"type": "config", "config": config(dataset="spiral", seed=5)})
        data = ws.receive_json()
        assert data["type"] == "data" and data["dataset"] == "spiral"
        frame = ws.receive_json()
        assert frame["type"] == "frame" and frame["step"] == 0
    with client.websocket_connect("/ws?await_config=1") as ws:  # the default setup, too
        assert ws.receive_json()["type"] == "hello"
        ws.send_json({"type": "config", "config": config()})
        assert ws.receive_json()["dataset"] == "circle"
        assert ws.receive_json()["type"] == "frame"


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("payload", "pattern"),
    [
        ("{not json", "malformed JSON"),
        ("[1, 2, 3]", "JSON object"),
        ('{"type": 7}', "JSON object"),
        ('{"type": "launch_missiles"}', "does not match any of the expected tags"),
        ('{"type": "play", "extra": 1}', "Extra inputs are not permitted"),
        ('{"type": "config", "config": {"learning_rate": "0.1"}}', "valid number"),
        ('{"type": "config", "config": {"learning_rate": 100}}', "less than or equal"),
        ('{"type": "config", "config": {"layers": [8, 8, 8, 8, 8, 8, 8, 8, 8]}}', "at most 8"),
        ('{"type": "config", "config": {"layers": [33], "activations": ["tanh"]}}', "32"),
        ('{"type": "config", "config": {"layers": [4], "activations": []}}', "activations"),
        ('{"type": "config", "config": {"colour": "red"}}', "Extra inputs"),
        ('{"type": "config", "config": {"batch_size": 31}}', "less than or equal"),
        ('{"type": "config", "config": {"dataset": "reg_plane"}}', "regression dataset"),
        ('{"type": "config", "config": {"features": ["x1", "x1"]}}', "repeat"),
        ('{"type": "set_weight", "layer": 0, "target": 0, "source": 0, "value": 1e9}', "100"),
        ('{"type": "set_weight", "layer": 2, "target": 7, "source": 0, "value": 1}', "no such"),
        ('{"type": "set_weight", "layer": 5, "target": 0, "source": 0, "value": 1}', "not exist"),
        ('{"type": "probe", "split": "train", "index": 4999}', "no train point"),
        ('{"type": "add_point", "x1": 7, "x2": 0, "label": 1}', "less than or equal"),
        ('{"type": "upload_checkpoint", "data": "!!!not base64!!!"}', "base64"),
        ('{"type": "upload_checkpoint", "data": "aGVsbG8="}', "too short"),
        ('{"type": "upload_csv", "text": "x1,x2,label\\n1,2\\n"}', "expected 3 values"),
        ('{"type": "upload_csv", "text": "1,2,7\\n"}', "class indices"),
    ],
)
def test_bad_messages_get_an_error_and_the_socket_lives_on(client, payload, pattern, caplog):
    with client.websocket_connect("/ws") as ws:
        opened(ws)
        ws.send_text(payload)
        expect_error(ws, pattern)
        assert still_alive(ws)["type"] == "frame"
    assert any("playground session" in r.getMessage() for r in caplog.records)


def test_binary_and_oversized_messages(client):
    with client.websocket_connect("/ws") as ws:
        opened(ws)
        ws.send_bytes(b"\x00\x01")
        expect_error(ws, "binary")
        ws.send_text(json.dumps({"type": "upload_csv", "text": "1,1,0\n" * 200_000}))
        expect_error(ws, "at most 1000000 characters")  # the CSV is over 1 MB
        text = "x" * (MAX_MESSAGE_BYTES + 1)
        ws.send_text(text)
        expect_error(ws, "message too large")
        csv = "1,1,0\n" * 5001
        ws.send_text(json.dumps({"type": "upload_csv", "text": csv}))
        expect_error(ws, "more than 5,000 rows")
        too_big = base64.b64encode(b"\0" * 1_000_500).decode()
        ws.send_text(json.dumps({"type": "upload_checkpoint", "data": too_big}))
        expect_error(ws, "at most|larger than")
        still_alive(ws)


def test_message_rate_is_limited():
    app = create_app(rate=5, burst=10)
    with LocalClient(app) as client, client.websocket_connect("/ws") as ws:
        opened(ws)
        for _ in range(40):
            ws.send_json({"type": "pause"})
        error = expect_error(ws, "rate limit")
        assert error["type"] == "error"
        time.sleep(1.0)  # the bucket refills
        ws.send_json({"type": "frame"})
        receive_until(ws, "frame", limit=200)


def test_session_limit_and_foreign_origin():
    app = create_app(max_sessions=1)
    with LocalClient(app) as client:
        with client.websocket_connect("/ws") as first:
            opened(first)
            with client.websocket_connect("/ws") as second:
                expect_error(second, "too many open tabs")
            still_alive(first)
        with (
            pytest.raises(WebSocketDisconnect),
            client.websocket_connect("/ws", headers={"origin": "http://evil.example"}) as ws,
        ):
            ws.receive_json()


# ---------------------------------------------------------------- isolation


def test_two_sessions_stay_isolated(client):
    with client.websocket_connect("/ws") as a, client.websocket_connect("/ws") as b:
        _, _, frame_a0 = opened(a)
        _, data_b0, frame_b0 = opened(b)
        assert frame_a0["weights"] == frame_b0["weights"]  # the same default seed
        a.send_json(
            {
                "type": "config",
                "config": config(dataset="xor", layers=[3], activations=["relu"], seed=99),
            }
        )
        receive_until(a, "frame")
        a.send_json({"type": "set_weight", "layer": 0, "target": 0, "source": 0, "value": 42.0})
        frame_a, _ = receive_until(a, "frame")
        assert frame_a["weights"][0][0][0] == 42.0
        for _ in range(3):
            a.send_json({"type": "step"})
            receive_until(a, "frame")
        a.send_json({"type": "add_point", "x1": 1.0, "x2": 1.0, "label": 1})
        receive_until(a, "frame")
        b.send_json({"type": "frame"})
        frame_b, _ = receive_until(b, "frame")
        assert frame_b["step"] == 0 and frame_b["weights"] == frame_b0["weights"]
        assert frame_b["test_loss"] == frame_b0["test_loss"]
        b.send_json({"type": "step"})
        frame_b, _ = receive_until(b, "frame")
        assert frame_b["epoch"] == 1 and len(frame_b["weights"]) == 3


# ---------------------------------------------------------------- the session itself


def manual_backprop(session):
    """dL/dW, dL/dz of the probed point, computed with chainrule directly (a fresh model)."""
    split, index = session.probe
    row = index if split == "train" else session.data.n_train + index
    linears = [m for m in session.model if isinstance(m, nn.Linear)]
    layers = []
    for module in session.model:
        if isinstance(module, nn.Linear):
            copy = nn.Linear(module.in_features, module.out_features)
            copy.weight.data[...] = module.weight.detach().numpy()
            copy.bias.data[...] = module.bias.detach().numpy()
            layers.append(copy)
        else:
            layers.append(type(module)())
    model = nn.Sequential(*layers)
    x = chainrule.tensor(session.x_all[row : row + 1])
    out = model(x)
    label = session.data.labels[row]
    loss = F.binary_cross_entropy_with_logits(out[:, 0], chainrule.tensor([float(label)]))
    loss.backward()
    return loss.item(), [m.weight.grad.numpy() for m in layers if isinstance(m, nn.Linear)], linears


def test_backprop_view_matches_chainrule():
    session = Session(PlaygroundConfig(dataset="xor", layers=[4, 3], activations=["relu", "tanh"]))
    session.train_frame(max_steps=3)
    session.set_probe("train", 5)
    bp = session.frame()["backprop"]
    loss, grads, _ = manual_backprop(session)
    assert bp["loss"] == pytest.approx(loss, rel=1e-5)
    for layer, grad in zip(bp["layers"], grads, strict=True):
        np.testing.assert_allclose(layer["dw"], grad, rtol=1e-4, atol=1e-7)
    # local x upstream = downstream, for every link
    for i, layer in enumerate(bp["layers"]):
        below = bp["inputs"] if i == 0 else bp["layers"][i - 1]["a"]
        np.testing.assert_allclose(np.outer(layer["dz"], below), layer["dw"], rtol=1e-4, atol=1e-7)
        if i < len(bp["layers"]) - 1:
            np.testing.assert_allclose(
                np.array(layer["local"]) * layer["da"], layer["dz"], rtol=1e-4, atol=1e-7
            )
    assert [g["node"] for g in bp["gates"]][0] == "BinaryCrossEntropyWithLogitsBackward"


def test_divergence_pauses_names_a_layer_and_suggests_a_learning_rate():
    session = Session(
        PlaygroundConfig(
            dataset="reg_plane",
            problem="regression",
            loss="mse",
            layers=[8, 8, 8],
            activations=["relu"] * 3,
            learning_rate=10.0,
            optimizer="sgd",
            init="he",
        )
    )
    session.playing = True
    for _ in range(40):
        frame = session.train_frame()
        if frame["divergence"]:
            break
    divergence = frame["divergence"]
    assert divergence is not None and session.playing is False
    assert divergence["suggested_lr"] == 1.0 and "try 1" in divergence["message"]
    # the weights shown give a finite loss (before: the step's weights overflowed: NaN)
    assert frame["train_loss"] is not None and np.isfinite(frame["train_loss"])
    assert divergence["layer"] is None or 1 <= divergence["layer"] <= 4
    assert all(np.all(np.isfinite(p.detach().numpy())) for p in session.model.parameters())
    assert suggest_learning_rate(0.03) == 0.003 and suggest_learning_rate(1e-5) == 1e-5


def test_multiclass_regression_and_custom_data():
    multi = Session(PlaygroundConfig(dataset="blobs", classes=4))
    frame = multi.train_frame()
    assert frame["output"]["kind"] == "classes" and frame["num_classes"] == 4
    assert np.shape(frame["confusion"]) == (4, 4) and np.sum(frame["confusion"]) == 250
    assert np.shape(frame["weights"][-1]) == (4, 8)

    regression = Session(PlaygroundConfig(dataset="reg_gauss", problem="regression", loss="mse"))
    frame = regression.train_frame()
    assert frame["output"]["kind"] == "value" and frame["test_accuracy"] is None
    assert len(regression.data.points) == 1200

    custom = Session()
    for x1, label in ((-3.0, 0), (3.0, 1), (0.0, 2), (-2.0, 0)):
        custom.add_point(x1, 1.0, label)
    assert custom.config.dataset == "custom" and custom.num_classes == 3
    assert np.shape(custom.frame()["weights"][-1]) == (3, 8)
    rows = custom.upload_csv("x1,x2,label\n10,0,1\n-20,5,0\n")
    assert rows == 2 and np.abs(custom.data.points).max() <= 6
    custom.clear_points()
    assert len(custom.data.points) == 0 and custom.frame()["train_loss"] is None
    with pytest.raises(ProtocolError):
        custom.add_point(0.0, 0.0, 1.5)


def test_own_points_join_the_data_and_keep_their_split():
    session = Session()
    built_in = {tuple(np.round(p, 3)) for p in session.data.points}
    session.add_point(1.0, 2.0, 1)  # the first click keeps the circle's 500 points
    assert session.config.dataset == "custom" and len(session.custom) == 501
    assert {tuple(p) for p in np.round(session.data.points, 3)} == built_in | {(1.0, 2.0)}
    session.clear_points()
    rng = np.random.default_rng(0)
    splits = []
    for k in range(13):  # 13 clicks: every point is in the data, none moves between splits
        session.add_point(*rng.uniform(-5, 5, 2).round(3), k % 2)
        n = session.data.n_train
        train = {tuple(p) for p in session.data.points[:n]}
        test = {tuple(p) for p in session.data.points[n:]}
        assert len(train) + len(test) == k + 1
        if splits:
            assert splits[-1][0] <= train and splits[-1][1] <= test
        splits.append((train, test))
    assert 5 <= len(splits[-1][0]) <= 8  # train_ratio 50 %
    from chainrule.playground.datasets import stable_test_mask

    for ratio in (10, 30, 50, 70, 90):
        mask = stable_test_mask(1000, ratio)
        assert not mask[0] and abs(mask.mean() - (100 - ratio) / 100) < 0.002
        assert np.array_equal(stable_test_mask(400, ratio), mask[:400])


def test_reset_draws_new_weights_and_regenerate_keeps_the_network(client):
    a, b = Session(), Session()
    first = a.frame()["weights"]
    a.reset()
    second = a.frame()["weights"]
    a.reset()
    third = a.frame()["weights"]
    assert first != second != third != first  # new random weights at every reset
    b.reset()
    assert b.frame()["weights"] == second  # the n-th reset of a setup is the same everywhere
    with client.websocket_connect("/ws") as ws:
        opened(ws)
        ws.send_json({"type": "step"})
        trained, _ = receive_until(ws, "frame")
        ws.send_json({"type": "config", "config": config(seed=77), "keep_model": True})
        data, _ = receive_until(ws, "data")
        frame, _ = receive_until(ws, "frame")
        assert frame["weights"] == trained["weights"] and frame["epoch"] == 1  # same network
        assert data["train"] != Session().data_message()["train"]  # new data
        ws.send_json({"type": "config", "config": config(seed=78)})  # a plain seed change
        frame, _ = receive_until(ws, "frame")
        assert frame["weights"] != trained["weights"] and frame["epoch"] == 0


def test_same_config_same_data_and_weights():
    cfg = PlaygroundConfig(
        dataset="spiral",
        noise=20,
        seed=1234,
        layers=[5, 3],
        activations=["relu", "elu"],
        init="uniform",
    )
    a, b = Session(cfg), Session(cfg)
    np.testing.assert_array_equal(a.data.points, b.data.points)
    assert a.frame()["weights"] == b.frame()["weights"]
    assert a.train_frame(budget=60)["weights"] == b.train_frame(budget=60)["weights"]  # an epoch
    other = Session(cfg.model_copy(update={"seed": 1235}))
    assert not np.array_equal(a.data.points, other.data.points)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"dataset": "blobs", "classes": 4, "optimizer": "sgd"},
        {"dataset": "spiral_multi", "loss": "mse", "activations": ["relu", "sigmoid"]},
        {
            "dataset": "reg_plane",
            "problem": "regression",
            "loss": "mse",
            "optimizer": "momentum",
            "activations": ["leaky_relu", "elu"],
        },
    ],  # fmt: skip
)
def test_captured_step_trains_exactly_as_the_eager_step(changes):
    """The fast path (chainrule.compile_step) gives the same weights, loss and gradient
    norms as the eager step it replaces."""
    cfg = PlaygroundConfig(**changes)
    fast, eager = Session(cfg), Session(cfg)
    eager.use_captured = False
    for _ in range(3):
        a, b = fast.train_frame(max_steps=7, budget=60), eager.train_frame(max_steps=7, budget=60)
    assert fast.captured is not None and eager.captured is None
    assert a["weights"] == b["weights"] and a["test_loss"] == b["test_loss"]
    np.testing.assert_allclose(a["grad_norms"], b["grad_norms"], rtol=1e-5)


def test_captured_step_diverges_like_the_eager_step():
    cfg = PlaygroundConfig(dataset="reg_plane", problem="regression", loss="mse",
                           layers=[8, 8, 8], activations=["relu"] * 3, learning_rate=10.0,
                           optimizer="sgd", init="he")  # fmt: skip
    session = Session(cfg)
    session.playing = True
    for _ in range(200):
        frame = session.train_frame(budget=60)
        if frame["divergence"]:
            break
    assert frame["divergence"] is not None and session.captured is not None
    assert all(np.all(np.isfinite(p.detach().numpy())) for p in session.model.parameters())


# ---------------------------------------------------------------- scheduling and back-pressure


class FakeTab:
    """A tab as the engine sees it, whose page draws every frame at once."""

    def __init__(self, draws=True):
        self.session = Session()
        self.session.playing = True
        self.produced = self.drawn = 0
        self.next_turn = self.last_frame = 0.0
        self.draws, self.frames = draws, []

    def deliver(self, frame):
        self.frames.append(frame)
        if self.draws:
            self.drawn = frame["seq"]


def test_engine_shares_training_fairly_and_waits_for_pages_that_do_not_draw():
    from chainrule.playground.engine import Engine

    engine = Engine()
    tabs = [FakeTab() for _ in range(4)]
    stuck = FakeTab(draws=False)
    odd = FakeTab()  # another network: it trains alone, in its own turns
    odd.session.apply_config(PlaygroundConfig(layers=[5], activations=["relu"]))
    engine.start()

    def wait(condition):
        deadline = time.monotonic() + 120
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.02)

    try:
        for tab in [*tabs, stuck, odd]:
            engine.play(tab)
        wait(lambda: len(stuck.frames) >= 2)
        stalled = stuck.session.steps  # its page drew nothing: its last turn is over
        wait(lambda: min(t.session.steps for t in tabs) > stalled + 150)
        for tab in [*tabs, stuck, odd]:
            tab.session.playing = False
    finally:
        engine.close()
    steps = [t.session.steps for t in tabs]
    # the four like tabs train together: the same steps, turn by turn
    assert max(steps) - min(steps) <= 25, steps
    # round robin: the tab of another network had its turns too (an epoch is 25 steps)
    assert odd.session.steps >= 25 and odd.session.epoch >= 1
    # the tab whose page never draws got at most two frames ahead, then no more turns
    assert len(stuck.frames) == 2 and stuck.session.steps == stalled


def test_server_never_runs_more_than_two_frames_ahead_of_the_page(client):
    with client.websocket_connect("/ws") as ws:
        opened(ws)
        ws.send_json({"type": "play"})
        receive_until(ws, "status")
        time.sleep(1.5)  # without acknowledgements the server stops after two frames
        ws.send_json({"type": "pause"})
        _, seen = receive_until(ws, "status")
        assert sum(m["type"] == "frame" for m in seen) <= 2, [m["type"] for m in seen]
        ws.send_json({"type": "frame"})
        frame, seen = receive_until(ws, "frame")
        assert len(seen) == 1  # nothing was queued behind: the pause took effect at once
        ws.send_json({"type": "play"})
        steps = [next_frame(ws)["step"] for _ in range(4)]  # acknowledged: training goes on
        assert steps == sorted(steps) and steps[-1] > frame["step"]


# ---------------------------------------------------------------- round trip with Python


def test_export_round_trip_and_python_code(client, tmp_path):
    with client.websocket_connect("/ws") as ws:
        opened(ws)
        ws.send_json(
            {
                "type": "config",
                "config": config(dataset="gauss", layers=[3], activations=["sigmoid"]),
            }
        )
        receive_until(ws, "frame")
        ws.send_json({"type": "step"})
        trained, _ = receive_until(ws, "frame")
        ws.send_json({"type": "export"})
        exported, _ = receive_until(ws, "export")
    path = tmp_path / exported["filename"]
    path.write_bytes(base64.b64decode(exported["checkpoint"]))
    checkpoint = load(path)
    model = checkpoint.model
    np.testing.assert_allclose(model[0].weight.detach().numpy(), trained["weights"][0], atol=1e-5)
    assert checkpoint["playground"]["dataset"] == "gauss"
    adam = chainrule.optim.Adam(model.parameters(), lr=0.01)  # as the script does
    chainrule.checkpoint.restore_optimizer(checkpoint, adam)
    assert adam.state_dict()["state"]  # Adam's moments from the browser, not from scratch

    script = tmp_path / "train.py"
    script.write_text(exported["python"].replace("range(100)", "range(2)"))
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert result.returncode == 0, result.stderr
    assert "epoch 0: train loss" in result.stdout
    loaded = re.search(r"loaded model: train loss ([\d.]+), test loss ([\d.]+)", result.stdout)
    assert loaded, result.stdout  # the loaded model's loss first: the numbers the page showed
    assert float(loaded.group(1)) == pytest.approx(trained["train_loss"], abs=2e-4)
    assert float(loaded.group(2)) == pytest.approx(trained["test_loss"], abs=2e-4)
    assert "restore_optimizer(checkpoint, optimizer)" in exported["python"]

    with client.websocket_connect("/ws") as ws:  # a new tab continues from the checkpoint
        opened(ws)
        ws.send_json({"type": "upload_checkpoint", "data": exported["checkpoint"]})
        adopted, _ = receive_until(ws, "config")
        assert adopted["config"]["dataset"] == "gauss" and adopted["config"]["layers"] == [3]
        frame, _ = receive_until(ws, "frame")
        assert frame["weights"] == trained["weights"]


def test_checkpoint_from_plain_python_is_accepted(tmp_path):
    model = nn.Sequential(nn.Linear(2, 5), nn.Tanh(), nn.Linear(5, 1))
    chainrule.checkpoint.save(model, tmp_path / "m.safetensors")
    session = Session()
    data = base64.b64encode((tmp_path / "m.safetensors").read_bytes()).decode()
    cfg = export.load_checkpoint(session, data)
    assert cfg.features == ["x1", "x2"] and cfg.layers == [5] and cfg.activations == ["tanh"]
    wrong = nn.Sequential(nn.Linear(2, 5), nn.GELU(), nn.Linear(5, 1))
    chainrule.checkpoint.save(wrong, tmp_path / "w.safetensors")
    with pytest.raises(ProtocolError, match="GELU"):
        export.load_checkpoint(
            session, base64.b64encode((tmp_path / "w.safetensors").read_bytes()).decode()
        )


# ---------------------------------------------------------------- messages and CLI


def test_parse_client_message_limits():
    with pytest.raises(ProtocolError, match="too large"):
        parse_client_message(" " * (MAX_MESSAGE_BYTES + 1))
    message = parse_client_message('{"type": "probe", "index": null}')
    assert message.index is None


def test_cli_arguments_default_to_localhost():
    parser = argparse.ArgumentParser()
    add_playground_arguments(parser)
    args = parser.parse_args([])
    assert (args.host, args.port, args.no_browser) == ("127.0.0.1", 8000, False)
    assert args.max_sessions == 40
    args = parser.parse_args(["--host", "0.0.0.0", "--port", "9000", "--no-browser"])
    assert (args.host, args.port, args.no_browser) == ("0.0.0.0", 9000, True)
    args = parser.parse_args(["--max-sessions", "0"])
    assert run_playground(args) == 2
