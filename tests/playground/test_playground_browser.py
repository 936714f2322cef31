"""The playground in a real browser: Playwright drives headless Chromium (Debian's package)
against `python -m chainrule.playground` running in a subprocess.

Skipped only when /usr/bin/chromium is absent. The screenshot of the trained state goes to
tests/artifacts/playground.png (set CHAINRULE_UPDATE_DOCS=1 to also refresh
docs/playground.png for the README).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytest.importorskip("fastapi", reason="the playground extra (fastapi) is not installed")

import chainrule  # noqa: E402
import chainrule.nn.functional as F  # noqa: E402
from chainrule import nn  # noqa: E402
from chainrule.playground.messages import PlaygroundConfig  # noqa: E402
from chainrule.playground.session import Session  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "chainrule.playground", "--port", str(port), "--no-browser"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"the server did not start: {process.stderr.read()}") from None
            time.sleep(0.2)
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def frame_value(page, expression):
    return page.evaluate(
        f"(() => {{ const f = window.playground.frame; return f && {expression}; }})()"
    )


def wait_for_frame(page, timeout=15_000):
    page.wait_for_function("window.playground && window.playground.frame", timeout=timeout)


def test_spiral_with_an_extra_layer_learns_within_30_seconds(page, server):
    page.goto(server)
    wait_for_frame(page)
    page.click("[data-dataset=spiral]")
    page.wait_for_function("window.playground.data && window.playground.data.dataset === 'spiral'")
    layers_before = page.evaluate("window.playground.state.layers.length")
    page.click("#add-layer")
    page.wait_for_function(
        f"window.playground.frame.weights.length === {layers_before + 2}", timeout=10_000
    )
    page.click("#play")
    started = time.monotonic()
    shown = page.wait_for_function(  # the number on the page, read with the frame it shows
        "(() => { const f = window.playground.frame, t = document.getElementById('test-loss');"
        " return f.test_loss !== null && f.test_loss < 0.1 && parseFloat(t.textContent); })()",
        timeout=30_000,
    ).json_value()
    elapsed = time.monotonic() - started
    epochs = frame_value(page, "f.epoch")
    assert shown < 0.1 and elapsed < 30
    assert epochs >= 1 and page.evaluate("location.hash").count("layers=8%2C8%2C8") == 1
    page.check("#show_test")
    time.sleep(1.0)  # train a little more, then pause for the picture
    page.click("#play")  # pause
    time.sleep(0.3)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "playground.png"), full_page=True)
    if os.environ.get("CHAINRULE_UPDATE_DOCS") == "1":
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(ARTIFACTS / "playground.png", ROOT / "docs" / "playground.png")


def test_the_default_network_trains_and_each_frame_is_acknowledged(page, server):
    """Frames keep coming while playing only because the page acknowledges each one it drew
    (the speed itself is measured by benchmarks/playground_load.py, not here)."""
    page.goto(server)
    wait_for_frame(page)
    page.click("#play")
    page.wait_for_function("window.playground.frame.epoch >= 3", timeout=30_000)
    page.wait_for_function("window.playground.framesShown >= 10", timeout=30_000)
    page.click("#play")
    assert frame_value(page, "f.seq") >= 10


def test_large_network_stops_on_the_next_frame_and_shows_edits_at_once(browser, server):
    """Back-pressure on 8 layers of 32: after pause at most two more frames arrive, and a
    neuron removed while playing shows within the next few frames."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    layers = ",".join(["32"] * 8)
    page.goto(server + f"#dataset=spiral&layers={layers.replace(',', '%2C')}")
    page.wait_for_function(
        "window.playground.frame && window.playground.frame.weights.length === 9"
    )
    page.click("#play")
    page.wait_for_function("window.playground.frame.step > 0", timeout=30_000)
    page.wait_for_function("window.playground.framesShown >= 8", timeout=60_000)
    before = page.evaluate(  # click and count in one go: the page redraws all the time
        "(() => { const n = window.playground.framesShown;"
        " document.querySelector(\".layer-ctl button[title='Remove a neuron']\").click();"
        " return n; })()"
    )
    # read the count in the page at the moment the edit is first there (polling it from Python
    # afterwards counts the frames drawn while the reply travels)
    shown_at_edit = page.wait_for_function(
        "window.playground.frame.weights[0].length === 31 && window.playground.framesShown",
        timeout=30_000,
    ).json_value()
    shown_edit = shown_at_edit - before
    assert shown_edit <= 4, f"{shown_edit} frames before the edit showed"
    at_pause = page.evaluate(  # pause
        "(() => { document.getElementById('play').click();"
        " return window.playground.framesShown; })()"
    )
    step_at_pause = frame_value(page, "f.step")
    time.sleep(2.0)
    after = page.evaluate("window.playground.framesShown") - at_pause
    assert after <= 2, f"{after} frames after pause"
    assert frame_value(page, "f.step") >= step_at_pause
    context.close()


HASH = (
    "#dataset=xor&problem=classification&classes=3&noise=20&train_ratio=70&batch_size=5"
    "&full_batch=0&seed=1234&features=x1%2Cx2%2Cx1x2&layers=3%2C2&activations=relu%2Ctanh"
    "&learning_rate=0.03&regularization=l2&reg_rate=0.001&init=he&optimizer=momentum"
    "&loss=cross_entropy&show_test=1&discretize=1"
)


def test_url_hash_reproduces_the_configuration(browser, server):
    pages = []
    for _ in range(2):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(server + HASH)
        wait_for_frame(page)
        page.wait_for_function("window.playground.frame.weights.length === 3")
        pages.append(page)
    first, second = pages
    state = first.evaluate("window.playground.state")
    assert state["dataset"] == "xor" and state["seed"] == 1234 and state["layers"] == [3, 2]
    assert state["activations"] == ["relu", "tanh"] and state["features"] == ["x1", "x2", "x1x2"]
    assert state["optimizer"] == "momentum" and state["regularization"] == "l2"
    assert state["show_test"] is True and state["discretize"] is True
    assert first.evaluate("location.hash") == HASH
    assert first.is_checked("#show_test") and first.input_value("#learning_rate") == "0.03"
    assert first.input_value("select[data-layer='0']") == "relu"
    # the same data and the same initial weights in both tabs, and in Python
    assert first.evaluate("window.playground.data") == second.evaluate("window.playground.data")
    assert first.evaluate("window.playground.frame.weights") == second.evaluate(
        "window.playground.frame.weights"
    )
    config = PlaygroundConfig.model_validate(
        {k: v for k, v in state.items() if k not in ("show_test", "discretize")}
    )
    session = Session(config)
    train = np.array(first.evaluate("window.playground.data.train"))
    np.testing.assert_allclose(train[:, :2], session.data.train[0], atol=1e-3)
    np.testing.assert_allclose(
        first.evaluate("window.playground.frame.weights[0]"),
        session.model[0].weight.detach().numpy(),
        atol=1e-5,
    )
    for page in pages:
        page.context.close()


def chainrule_gradients(weights, biases, activations, x, label):
    """Loss and dL/dW of every layer for one point, computed with chainrule directly."""
    layers = []
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        linear = nn.Linear(len(w[0]), len(w))
        linear.weight.data[...] = np.array(w, dtype=np.float32)
        linear.bias.data[...] = np.array(b, dtype=np.float32)
        layers.append(linear)
        if i < len(activations):
            layers.append(
                {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[activations[i]]()
            )
    model = nn.Sequential(*layers)
    out = model(chainrule.tensor(np.array([x], dtype=np.float32)))
    loss = F.binary_cross_entropy_with_logits(out[:, 0], chainrule.tensor([float(label)]))
    loss.backward()
    return loss.item(), [m.weight.grad.numpy() for m in layers if isinstance(m, nn.Linear)]


def panel_number(page, element_id):
    return float(page.get_attribute(f"#{element_id}", "data-value"))


def test_backprop_view_matches_chainrule(page, server):
    page.goto(
        server + "#dataset=gauss&features=x1%2Cx2&layers=3%2C2&activations=tanh%2Crelu&seed=7"
    )
    wait_for_frame(page)
    page.wait_for_function("window.playground.frame.weights.length === 3")
    page.click("#step")  # weights after one epoch of updates, not just the initial ones
    page.wait_for_function("window.playground.frame.epoch === 1")
    page.check("#backprop-mode")
    page.wait_for_selector("#bp-downstream")
    bp = page.evaluate("window.playground.frame.backprop")
    weights = page.evaluate("window.playground.frame.weights")
    biases = page.evaluate("window.playground.frame.biases")
    point = page.evaluate(f"window.playground.data.{bp['split']}[{bp['index']}]")
    assert point[:2] == pytest.approx(bp["inputs"], abs=1e-3)  # features x1, x2 only
    loss, grads = chainrule_gradients(weights, biases, ["tanh", "relu"], bp["inputs"], bp["label"])
    assert panel_number(page, "bp-loss") == pytest.approx(loss, rel=1e-3)
    # the default link: from h2[0] into the output
    assert panel_number(page, "bp-downstream") == pytest.approx(grads[2][0][0], rel=1e-3, abs=1e-7)
    local, upstream = panel_number(page, "bp-local"), panel_number(page, "bp-upstream")
    assert local * upstream == pytest.approx(panel_number(page, "bp-downstream"), rel=1e-3)
    w, lr = panel_number(page, "bp-w"), 0.01
    assert panel_number(page, "bp-new-w") == pytest.approx(w - lr * grads[2][0][0], rel=1e-4)
    # choose a link of the first layer: x2 -> h1[1]
    page.dispatch_event("path.link >> nth=3", "click")  # layer 0, target 1, source 1
    page.wait_for_function("document.querySelector('#bp-body').textContent.includes('→ h1[1]')")
    assert panel_number(page, "bp-downstream") == pytest.approx(grads[0][1][1], rel=1e-3, abs=1e-7)
    assert panel_number(page, "bp-local") == pytest.approx(bp["inputs"][1], rel=1e-5)
    # every hidden neuron shows its value and gradient
    labels = page.locator(".node-value:not([hidden])")
    assert labels.count() >= 2 + 3 + 2 + 1
    # every link prints its gradient dL/dw (2 significant digits), as chainrule computes it
    grads_shown = page.locator("text.link-grad:visible")
    links = 2 * 3 + 3 * 2 + 2 * 1
    # every link has its label, but those that would overlap a larger one are left out
    assert page.locator("text.link-grad").count() == links
    thinned = links - grads_shown.count()
    assert 0 <= thinned < links // 2
    for layer, target, source in [(0, 1, 1), (1, 0, 2), (2, 0, 1)]:
        text = page.locator(
            f"text.link-grad[data-layer='{layer}'][data-target='{target}'][data-source='{source}']"
        )
        expected = grads[layer][target][source]
        assert float(text.get_attribute("data-value")) == pytest.approx(
            expected, rel=1e-3, abs=1e-7
        )
        assert float(text.text_content()) == pytest.approx(expected, rel=0.05, abs=1e-6)
    assert page.is_hidden(".net-note") == (thinned == 0)  # the note says when some are left out
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "backprop.png"), full_page=True)
    # picking another point on the output re-runs backprop there
    box = page.locator("#points").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.25)
    page.wait_for_function(f"window.playground.frame.backprop.index !== {bp['index']}")


def hash_points(url_hash):
    """The points in a hash's `points=` (int16 fixed point x 1000, base64url), as rows."""
    import base64
    from urllib.parse import parse_qs

    code = parse_qs(url_hash.lstrip("#"))["points"][0]
    raw = base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))
    return (np.frombuffer(raw, dtype="<i2").reshape(-1, 3) / 1000).tolist()


def sorted_rows(rows):
    return sorted(tuple(round(v, 3) for v in row) for row in rows)


def test_a_link_shows_its_own_dataset_from_the_first_frame(browser, server):
    """No flash of the default circle: the first data and the first loss are the link's."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    received: list[str] = []
    page.on(
        "websocket", lambda ws: ws.on("framereceived", lambda payload: received.append(payload))
    )
    page.goto(server + "#dataset=xor&seed=3")
    page.wait_for_function("window.playground.frame && window.playground.data")
    kinds = [json.loads(text)["type"] for text in received]
    first_data = json.loads(received[kinds.index("data")])
    assert first_data["dataset"] == "xor", kinds
    assert kinds.index("data") < kinds.index("frame")
    assert page.evaluate("window.playground.data.dataset") == "xor"
    context.close()


def test_clicked_points_travel_in_the_url_hash(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(server)
    wait_for_frame(page)
    page.click("#own-data summary")
    page.click("#clear-points")  # start from nothing (a first click joins the data shown)
    page.wait_for_function(
        "window.playground.data.dataset === 'custom' && window.playground.data.custom_points === 0"
    )
    box = page.locator("#points").bounding_box()
    spots = [(0.2, 0.3), (0.7, 0.6), (0.45, 0.8)]
    for i, (fx, fy) in enumerate(spots):
        page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
        page.wait_for_function(f"window.playground.data.custom_points === {i + 1}")
    page.wait_for_function("location.hash.includes('points=')")
    url_hash = page.evaluate("location.hash")
    first = page.evaluate("window.playground.points")
    data = page.evaluate("window.playground.data")
    assert len(first) == 3 and "dataset=custom" in url_hash
    assert sorted_rows(hash_points(url_hash)) == sorted_rows(first)
    assert sorted_rows(data["train"] + data["test"]) == sorted_rows(first)
    # a new tab from the link: the server gets the same points (through upload_csv)
    other = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    other.goto(server + url_hash)
    other.wait_for_function("window.playground.data && window.playground.data.custom_points === 3")
    again = other.evaluate("window.playground.data")
    assert sorted_rows(again["train"] + again["test"]) == sorted_rows(first)
    assert again["train"] == data["train"]  # same seed, same split
    assert other.evaluate("location.hash") == url_hash
    assert other.evaluate("window.playground.frame.weights") == page.evaluate(
        "window.playground.frame.weights"
    )
    other.context.close()
    context.close()


def test_uploaded_csv_points_arrive_and_go_in_the_hash(page, server):
    page.goto(server)
    wait_for_frame(page)
    page.click("#own-data summary")
    csv = "x1,x2,label\n1.5,-2.25,0\n-3,4.125,1\n0.5,0.5,1\n-1,-1,0\n"
    page.set_input_files(
        "#csv", files=[{"name": "pts.csv", "mimeType": "text/csv", "buffer": csv.encode()}]
    )
    page.wait_for_function("window.playground.data.custom_points === 4")
    expected = [[1.5, -2.25, 0], [-3, 4.125, 1], [0.5, 0.5, 1], [-1, -1, 0]]
    data = page.evaluate("window.playground.data")
    assert sorted_rows(data["train"] + data["test"]) == sorted_rows(expected)
    page.wait_for_function("location.hash.includes('points=')")
    assert sorted_rows(hash_points(page.evaluate("location.hash"))) == sorted_rows(expected)
    assert page.is_hidden("#points-note")
    # too many points for a link: the page says so and the hash keeps only the setup
    rng = np.random.default_rng(0)
    rows = np.column_stack([rng.uniform(-5, 5, (1500, 2)), rng.integers(0, 2, 1500)])
    big = "\n".join(f"{a:.3f},{b:.3f},{int(c)}" for a, b, c in rows)
    page.set_input_files(
        "#csv", files=[{"name": "big.csv", "mimeType": "text/csv", "buffer": big.encode()}]
    )
    page.wait_for_function("window.playground.data.custom_points === 1500")
    page.wait_for_selector("#points-note:not([hidden])")
    assert "too many" in page.inner_text("#points-note")
    url_hash = page.evaluate("location.hash")
    assert "points=" not in url_hash and "dataset=custom" in url_hash


def test_labels_plural_off_list_rate_axis_and_class_names(page, server):
    page.goto(server + "#dataset=xor&layers=4&activations=tanh&learning_rate=0.02")
    wait_for_frame(page)
    assert page.inner_text("#layer-count") == "1"
    assert page.inner_text("#layer-word").lower() == "hidden layer"  # not "1 hidden layers"
    assert page.eval_on_selector("#learning_rate", "s => s.value") == "0.02"  # not empty
    assert "0.02" in page.inner_text("#learning_rate")
    page.click("#add-layer")
    assert page.inner_text("#layer-word").lower() == "hidden layers"
    labels = page.evaluate(
        "import('/static/chart.js')"
        ".then(m => [10 ** -0.5, 1e-5, 0.737, 2.5e-7, 0].map(m.axisLabel))"
    )
    assert labels == ["0.316", "1e-5", "0.737", "2.5e-7", "0"]  # never "1e-0.5"
    page.check("#backprop-mode")
    page.wait_for_selector("#bp-downstream")
    text = page.inner_text("#bp-body")
    assert "P(class 0)" in text and "P(class 1)" in text and "predicted class" in text


def overlap(a, b):
    """The area two bounding boxes share (0 when they only touch)."""
    dx = min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"])
    dy = min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"])
    return max(0.0, dx) * max(0.0, dy)


PANELS = ["header.topbar", ".data-col", ".net-col", ".out-col"]


@pytest.mark.parametrize("size", [(1280, 720), (768, 1024), (390, 844)])
def test_layout_has_no_sideways_scroll_and_no_overlapping_panels(browser, server, size):
    width, height = size
    context = browser.new_context(
        viewport={"width": width, "height": height}, has_touch=width < 800
    )
    page = context.new_page()
    page.goto(server + "#dataset=spiral&layers=6%2C6%2C6")
    wait_for_frame(page)
    page.check("#backprop-mode")
    page.wait_for_selector("#bp-downstream")
    scroll = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll[0] <= scroll[1], f"the page is {scroll[0]} px wide in a {scroll[1]} px window"
    widest = page.evaluate(
        "Math.max(...[...document.querySelectorAll('body *')].filter(e => e.offsetParent)"
        ".map(e => e.getBoundingClientRect().right))"
    )
    assert widest <= width + 0.5, f"something reaches {widest} px"
    boxes = {name: page.locator(name).bounding_box() for name in PANELS}
    for i, a in enumerate(PANELS):
        for b in PANELS[i + 1 :]:
            assert overlap(boxes[a], boxes[b]) < 1, f"{a} overlaps {b} at {width}x{height}"
    backprop, network = page.locator("#backprop").bounding_box(), boxes[".net-col"]
    assert network["x"] - 1 <= backprop["x"] and backprop["x"] + backprop["width"] <= width
    assert backprop["y"] >= page.locator("#network").bounding_box()["y"]  # under the network
    if width < 800:  # stacked in reading order: controls, network, output
        assert boxes[".data-col"]["y"] < boxes[".net-col"]["y"] < boxes[".out-col"]["y"]
        page.locator("#points").tap()  # touch picks a point for the backprop view
    else:
        top = boxes[".data-col"]["y"]
        assert abs(boxes[".net-col"]["y"] - top) < 2 and abs(boxes[".out-col"]["y"] - top) < 2
    ARTIFACTS.mkdir(exist_ok=True)
    name = f"playground-{width}x{height}.png"
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    if os.environ.get("CHAINRULE_UPDATE_DOCS") == "1":
        (ROOT / "docs" / "images").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ARTIFACTS / name, ROOT / "docs" / "images" / name)
    context.close()


def test_hovering_a_neuron_shows_it_large_and_thin_links_have_a_wide_hit_area(page, server):
    page.goto(server)
    wait_for_frame(page)
    before = page.evaluate("document.getElementById('heatmap').toDataURL()")
    page.hover("[data-node='h:0:2']")
    page.wait_for_selector("#heatmap-caption:not([hidden])")
    during = page.evaluate("document.getElementById('heatmap').toDataURL()")
    assert during != before  # the neuron's picture, not the output
    page.mouse.move(5, 5)
    page.wait_for_selector("#heatmap-caption", state="hidden")
    hits = page.locator("path.link-hit")
    assert hits.count() == page.locator("path.link").count()
    assert page.eval_on_selector("path.link-hit", "p => getComputedStyle(p).strokeWidth") == "10px"
    assert page.inner_text(".axis-x").replace("\n", " ").split() == ["−6", "0", "6"]
    assert "click" in page.get_attribute("[data-node='in:x1']", "title")  # feature tooltips
    assert "hidden layer 1" in page.get_attribute("[data-node='h:0:2']", "title")


def test_projector_mode_and_hide_controls_from_the_link(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    view = "projector=1&hide=regularization,reg_rate,own,roundtrip,health"
    page.goto(server + "#dataset=xor&" + view)
    wait_for_frame(page)
    assert page.evaluate("document.body.classList.contains('projector')")
    for selector in ("#regularization", "#reg_rate", "#own-data", "#export", "#health-chart"):
        assert page.is_hidden(selector), selector
    for selector in ("#learning_rate", "#play", "#heatmap", "#network"):
        assert page.is_visible(selector), selector
    size = page.evaluate("getComputedStyle(document.querySelector('.hint')).fontSize")
    assert float(size.replace("px", "")) >= 15  # larger type for the room
    page.select_option("#learning_rate", "0.03")  # a change rewrites the hash: the view stays
    page.wait_for_function("location.hash.includes('learning_rate=0.03')")
    assert page.evaluate("location.hash").endswith(view)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    titles = page.eval_on_selector_all("[data-hide][title]", "els => els.length")
    assert titles >= 12  # a short explanation on each control
    context.close()


def test_gradient_labels_never_overlap_on_the_default_network(page, server):
    page.goto(server)
    wait_for_frame(page)
    page.check("#backprop-mode")
    page.wait_for_selector("#bp-downstream")
    boxes = page.eval_on_selector_all(
        "text.link-grad",
        "els => els.filter(e => e.style.display !== 'none')"
        ".map(e => { const b = e.getBBox();"
        " return {x: b.x, y: b.y, width: b.width, height: b.height}; })",
    )
    layers = page.eval_on_selector_all(
        "text.link-grad",
        "els => [...new Set(els.filter(e => e.style.display !== 'none')"
        ".map(e => e.dataset.layer))]",
    )
    assert len(layers) == 3  # every layer of the 8,8 network gets labels, not only the output
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert overlap(a, b) < 0.5, (a, b)


VISIBLE_BOXES = """sel => [...document.querySelectorAll(sel)]
    .filter(e => e.offsetParent !== null || e instanceof SVGElement)
    .filter(e => !e.hidden && e.style.display !== 'none')
    .map(e => { const b = e.getBoundingClientRect();
                return {x: b.x, y: b.y, width: b.width, height: b.height}; })"""


def visible_boxes(page, selector):
    return page.evaluate(VISIBLE_BOXES, selector)


@pytest.mark.parametrize("layers", ["4,4,4", "6,6,6", "8,8"])
def test_gradient_labels_keep_clear_of_the_neurons_and_their_values(browser, server, layers):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.goto(server + "#layers=" + layers.replace(",", "%2C"))
    wait_for_frame(page)
    page.check("#backprop-mode")
    page.wait_for_selector("#bp-downstream")
    page.wait_for_function("document.querySelectorAll('.node-value:not([hidden])').length > 0")
    gradients = visible_boxes(page, "#network text.link-grad")
    values = visible_boxes(page, "#network .node-value")
    nodes = visible_boxes(page, "#network .node") + visible_boxes(page, "#network .bias")
    assert len(values) == 4 + sum(map(int, layers.split(","))) + 1  # every neuron labelled
    shown_layers = page.eval_on_selector_all(
        "text.link-grad",
        "els => new Set(els.filter(e => e.style.display !== 'none')"
        ".map(e => e.dataset.layer)).size",
    )
    assert shown_layers == len(layers.split(",")) + 1  # every layer keeps some labels
    for g in gradients:
        for other in values + nodes:
            assert overlap(g, other) < 0.5, (g, other)
    for i, a in enumerate(gradients):
        for b in gradients[i + 1 :]:
            assert overlap(a, b) < 0.5, (a, b)
    context.close()


NETWORK_PARTS = [".node", ".bias", ".layer-ctl", ".node-label", ".node-value", ".net-note"]


@pytest.mark.parametrize("layers", [6, 8])
def test_a_phone_with_many_layers_has_no_overlapping_parts(browser, server, layers):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    page = context.new_page()
    page.goto(server + "#dataset=spiral&layers=" + "%2C".join(["6"] * layers))
    wait_for_frame(page)
    page.tap("#backprop-mode")
    page.wait_for_selector("#bp-downstream")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    boxes = {name: page.locator(name).bounding_box() for name in PANELS}
    for i, a in enumerate(PANELS):
        for b in PANELS[i + 1 :]:
            assert overlap(boxes[a], boxes[b]) < 1, f"{a} overlaps {b}"
    parts = [
        (name, box) for name in NETWORK_PARTS for box in visible_boxes(page, "#network " + name)
    ]
    assert sum(name == ".node" for name, _ in parts) == 7 + 6 * layers + 1
    network = page.locator("#network").bounding_box()
    for i, (name_a, a) in enumerate(parts):
        assert (
            network["x"] - 1 <= a["x"]
            and a["x"] + a["width"] <= network["x"] + network["width"] + 1
        )
        for name_b, b in parts[i + 1 :]:
            assert overlap(a, b) < 1, f"{name_a} {a} overlaps {name_b} {b} with {layers} layers"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"playground-phone-{layers}-layers.png"), full_page=True)
    context.close()


def test_touch_picks_a_point_for_the_backprop_view_and_adds_own_points(browser, server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    page = context.new_page()
    page.goto(server)
    wait_for_frame(page)
    page.tap("#backprop-mode")
    page.wait_for_selector("#bp-downstream")
    train = np.array(page.evaluate("window.playground.data.train"))[:, :2]
    # a point with no other within 0.5: a tap on it picks it and no neighbour
    gaps = np.linalg.norm(train[:, None] - train[None], axis=2) + np.eye(len(train)) * 99
    index = int(np.flatnonzero(gaps.min(axis=1) > 0.5)[0])
    canvas = page.locator("#points")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()

    def spot(x1, x2):  # the page's toPixel: [-6, 6]² onto the canvas, x2 upwards
        return box["x"] + (x1 + 6) / 12 * box["width"], box["y"] + (6 - x2) / 12 * box["height"]

    page.touchscreen.tap(*spot(*train[index]))
    page.wait_for_function(f"window.playground.probe && window.playground.probe.index === {index}")
    page.wait_for_function(
        f"document.querySelector('#bp-body').textContent.includes('train point #{index} ')"
    )
    # your own data: tap to add points
    page.tap("#own-data summary")
    page.tap("#clear-points")
    page.wait_for_function("window.playground.data.custom_points === 0")
    canvas.scroll_into_view_if_needed()  # the taps above scrolled up to the controls
    box = canvas.bounding_box()
    taps = [(-3.0, 2.0), (2.5, -1.5), (4.0, 4.0)]
    for i, (x1, x2) in enumerate(taps):
        page.touchscreen.tap(*spot(x1, x2))
        page.wait_for_function(f"window.playground.data.custom_points === {i + 1}")
    added = np.array(page.evaluate("window.playground.points"))[:, :2]
    np.testing.assert_allclose(added, taps, atol=12 / box["width"] + 1e-3)  # within a pixel
    data = page.evaluate("window.playground.data")
    assert len(data["train"]) + len(data["test"]) == 3  # all of them shown, none lost
    context.close()
