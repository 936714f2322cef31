// The glue: state <-> URL hash, controls -> server messages, server frames -> drawings.

import { LineChart } from "./chart.js";
import { renderBackprop, defaultLink } from "./backprop.js";
import { Controls } from "./controls.js";
import { CLASS_COLORS, drawOutput, drawPoints, fromPixel, rgb, toPixel } from "./heatmap.js";
import { NetworkView, fmt } from "./network.js";
import { Socket } from "./socket.js";
import {
  FEATURES, FEATURE_LABELS, LIMITS, MAX_POINTS_CHARS, MULTICLASS, copyState, encodePoints, engineConfig,
  fromHash, normalise, pointsFromHash, toHash,
} from "./state.js";

const $ = (id) => document.getElementById(id);
let state = fromHash(location.hash);
let data = null;
let frame = null;
let playing = false;
let probe = null;
let chosen = null;
let lastStep = -1;
let configTimer = null;
let points = []; // your own points [[x1, x2, label], ...] as the server holds them
let pointsCode = ""; // their compact text for the hash ("" when none or too many)
let hovered = null; // the neuron under the pointer ("h:0:3", "in:x1"), shown large
let framesShown = 0; // frames drawn since the page opened (for tests)
let pointsPending = false; // points from a link sent to the server, not yet confirmed
const lossChart = new LineChart($("loss-chart"));
const healthChart = new LineChart($("health-chart"), { log: true });

function outputs() {
  const classes = data ? data.num_classes : MULTICLASS.includes(state.dataset) ? state.classes : 2;
  return state.problem === "classification" && classes > 2 ? classes : 1;
}

// The classroom view, from the link: "projector=1" (larger type for a projected tab) and
// "hide=learning_rate,own,health,..." (names of controls, as data-hide in index.html) so
// students see only what the lesson needs. Page-only: kept in the hash, never sent.
let view = "";

function applyView(hash) {
  const params = new URLSearchParams((hash || "").replace(/^#/, ""));
  const projector = params.get("projector") === "1";
  const hide = (params.get("hide") || "").split(",").filter((name) => /^[a-z_]+$/.test(name));
  document.body.classList.toggle("projector", projector);
  for (const element of document.querySelectorAll("[data-hide]")) {
    element.classList.toggle("hidden-by-link", hide.includes(element.dataset.hide));
  }
  view = [projector ? "projector=1" : "", hide.length ? `hide=${hide.join(",")}` : ""]
    .filter(Boolean).join("&");
}

function writeHash() {
  const hash = toHash(state, state.dataset === "custom" ? pointsCode : "");
  history.replaceState(null, "", view ? `${hash}&${view}` : hash);
}

/** Remember your own points and their compact form for the hash (if they fit in ~8 KB). */
function setPoints(rows) {
  points = rows;
  const code = rows.length ? encodePoints(rows) : "";
  const fits = code !== null && code.length <= MAX_POINTS_CHARS;
  pointsCode = fits ? code : "";
  const note = $("points-note");
  note.hidden = fits;
  if (!fits) {
    note.textContent = code === null
      ? "These points have values the link cannot hold (beyond ±32): the link keeps only the setup."
      : `${rows.length.toLocaleString("en")} points are too many for the link (it holds about `
        + `${Math.floor((MAX_POINTS_CHARS * 3) / 4 / 6).toLocaleString("en")}): the link keeps only the setup.`;
  }
}

/** Send your own points to the server, through the same validated path as a CSV upload. */
function sendPoints() {
  if (!points.length) return;
  pointsPending = true;
  socket.send({ type: "upload_csv", text: points.map((r) => r.join(",")).join("\n") });
}

function sendConfig(debounce = false, keepModel = false) {
  clearTimeout(configTimer);
  const send = () => socket.send({ type: "config", config: engineConfig(state), keep_model: keepModel });
  if (debounce) configTimer = setTimeout(send, 150);
  else send();
}

function refreshStructure() {
  controls.show(state);
  net.render(state, outputs());
}

function change(patch, { debounce = false, keepModel = false } = {}) {
  const next = copyState(state);
  if ("activation_all" in patch) {
    next.activations = next.layers.map(() => patch.activation_all);
    delete patch.activation_all;
  }
  if (patch.problem && patch.problem !== state.problem) {
    next.dataset = patch.problem === "regression" ? "reg_plane" : "circle";
    next.loss = patch.problem === "regression" ? "mse" : "cross_entropy";
  }
  Object.assign(next, patch);
  state = normalise(next);
  writeHash();
  refreshStructure();
  const pageOnly = Object.keys(patch).every((k) => k === "show_test" || k === "discretize");
  if (pageOnly) drawAll();
  else sendConfig(debounce, keepModel);
}

const controls = new Controls(change);
const net = new NetworkView($("network"), $("hovercard"), {
  toggleFeature(name) {
    const on = state.features.includes(name);
    if (on && state.features.length === 1) return;
    const features = on ? state.features.filter((f) => f !== name) : FEATURES.filter((f) => f === name || state.features.includes(f));
    change({ features });
  },
  addNeuron(l) {
    const layers = [...state.layers];
    layers[l] = Math.min(LIMITS.maxNeurons, layers[l] + 1);
    change({ layers });
  },
  removeNeuron(l) {
    const layers = [...state.layers];
    layers[l] = Math.max(1, layers[l] - 1);
    change({ layers });
  },
  setActivation(l, activation) {
    const activations = [...state.activations];
    activations[l] = activation;
    change({ activations });
  },
  editParam(link, value) {
    socket.send({ type: "set_weight", layer: link.layer, target: link.target, source: link.source, value });
  },
  hoverNeuron(id) {
    hovered = id;
    drawAll();
  },
  chooseLink(link) {
    chosen = { layer: link.layer, target: link.target, source: link.source };
    net.chosen = link;
    drawBackprop();
  },
});

$("add-layer").addEventListener("click", () => {
  if (state.layers.length >= LIMITS.maxLayers) return;
  const width = state.layers.length ? state.layers[state.layers.length - 1] : 4;
  const act = state.activations.length ? state.activations[state.activations.length - 1] : "tanh";
  change({ layers: [...state.layers, width], activations: [...state.activations, act] });
});
$("remove-layer").addEventListener("click", () => {
  change({ layers: state.layers.slice(0, -1), activations: state.activations.slice(0, -1) });
});
$("play").addEventListener("click", () => {
  socket.send({ type: playing ? "pause" : "play" });
  setPlaying(!playing);
});
$("step").addEventListener("click", () => { socket.send({ type: "step" }); setPlaying(false); });
$("reset").addEventListener("click", () => { socket.send({ type: "reset" }); setPlaying(false); });

function setPlaying(on) {
  playing = on;
  $("play").innerHTML = on ? "&#10074;&#10074;" : "&#9654;";
  $("play").classList.toggle("playing", on);
}

// ------------------------------------------------------------------ drawing
/** The 20x20 picture of neuron `id` in the frame (as the network view has it), or null. */
function neuronPicture(f, id) {
  if (!id || !f) return null;
  const [kind, a, b] = id.split(":");
  if (kind === "in") {
    const k = state.features.indexOf(a);
    return k < 0 ? null : f.neurons[0][k];
  }
  if (kind === "h") return (f.neurons[Number(a) + 1] || [])[Number(b)] || null;
  return null;
}

function drawAll() {
  const picture = neuronPicture(frame, hovered);
  $("heatmap-caption").hidden = !picture;
  if (picture) drawOutput($("heatmap"), { kind: "value", values: picture }, frame.neuron_grid, state.discretize);
  else if (frame) drawOutput($("heatmap"), frame.output, frame.output_grid, state.discretize);
  // your own points are always all shown (the test ones as rings)
  drawPoints($("points"), data, state.show_test || state.dataset === "custom", probe);
  drawLegend();
}

function drawLegend() {
  const box = $("legend");
  if (outputs() > 1) {
    box.innerHTML = [...Array(outputs()).keys()]
      .map((k) => `<span><span class="swatch" style="background:${rgb(CLASS_COLORS[k])}"></span>class ${k}</span>`).join(" ");
  } else {
    const [lo, hi] = state.problem === "regression" ? ["−1", "1"] : ["class 0", "class 1"];
    box.innerHTML = `${lo}<canvas class="bar" width="140" height="10"></canvas>${hi}`;
    const ctx = box.querySelector("canvas").getContext("2d");
    const g = ctx.createLinearGradient(0, 0, 140, 0);
    g.addColorStop(0, rgb(CLASS_COLORS[0]));
    g.addColorStop(0.5, "rgb(232,234,235)");
    g.addColorStop(1, rgb(CLASS_COLORS[1]));
    ctx.fillStyle = g;
    ctx.fillRect(0, 0, 140, 10);
  }
}

function drawConfusion(matrix) {
  const box = $("confusion");
  if (!matrix) { box.innerHTML = ""; return; }
  const head = matrix.map((_, k) => `<th>${k}</th>`).join("");
  const rows = matrix.map((row, k) => `<tr><th>${k}</th>${row.map((v) => `<td>${v}</td>`).join("")}</tr>`).join("");
  box.innerHTML = `<table title="rows: true class, columns: predicted (test data)"><tr><th>true \\ pred</th>${head}</tr>${rows}</table>`;
}

function drawHealth(f) {
  if (!f.grad_norms && f.step > 0) return; // a frame without training: keep the last numbers
  const parts = (f.grad_norms || []).map((g, l) => {
    const name = l === f.grad_norms.length - 1 ? "out" : `L${l + 1}`;
    const dead = f.dead_relu[l] !== null && f.dead_relu[l] !== undefined ? `, ${Math.round(100 * f.dead_relu[l])}% dead` : "";
    return `<span style="color:${healthColor(l)}">${name} ‖∇‖ ${fmt(g, 3)}${dead}</span>`;
  });
  $("health-legend").innerHTML = parts.join(" ") || "press play or step to see gradient norms";
}

function healthColor(i) {
  return ["#222", "#8a8a8a", "#0877bd", "#f59322", "#2ca02c", "#9467bd", "#e377c2", "#17becf", "#bcbd22", "#d62728"][i % 10];
}

function drawBackprop() {
  const bp = frame && frame.backprop;
  $("backprop").hidden = !bp;
  if (!bp) return;
  if (!chosen || !bp.layers[chosen.layer]) chosen = defaultLink(bp);
  renderBackprop($("bp-body"), bp, chosen, state.features.map((f) => FEATURE_LABELS[f]));
}

function showFrame(f) {
  const restarted = f.step < lastStep;
  if (restarted) { lossChart.reset(); healthChart.reset(); }
  if (f.step !== lastStep) {
    lossChart.push([f.test_loss, f.train_loss]);
    if (f.grad_norms) healthChart.push(f.grad_norms);
    lossChart.draw();
    healthChart.draw();
  }
  lastStep = f.step;
  frame = f;
  $("epoch").textContent = String(f.epoch).padStart(6, "0").replace(/(\d{3})(\d{3})$/, "$1,$2");
  $("test-loss").textContent = fmt(f.test_loss, 3);
  $("train-loss").textContent = fmt(f.train_loss, 3);
  $("test-acc").textContent = f.test_accuracy === null ? "–" : `${(100 * f.test_accuracy).toFixed(1)}%`;
  $("train-acc").textContent = f.train_accuracy === null ? "–" : `${(100 * f.train_accuracy).toFixed(1)}%`;
  if (f.weights.length - 1 === state.layers.length) net.update(f, f.backprop);
  drawAll();
  drawConfusion(outputs() > 1 ? f.confusion : null);
  drawHealth(f);
  drawBackprop();
  const banner = $("banner");
  banner.hidden = !f.divergence;
  if (f.divergence && !banner.dataset.shown) {
    const d = f.divergence;
    banner.innerHTML = `${d.message} <button id="use-lr">Use ${d.suggested_lr} and reset</button>`;
    banner.querySelector("#use-lr").addEventListener("click", () => {
      change({ learning_rate: d.suggested_lr });
      socket.send({ type: "reset" });
    });
  }
  if (!f.playing && playing && f.divergence) setPlaying(false);
}

function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 6000);
}

function download(name, blob) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

function onMessage(msg) {
  if (msg.type === "frame") {
    showFrame(msg);
    framesShown += 1;
    // drawn: the server trains on only while the page keeps up (back-pressure)
    if (msg.seq !== undefined) socket.send({ type: "drawn", seq: msg.seq });
  }
  else if (msg.type === "data") {
    data = msg;
    const custom = msg.custom || [];
    // the data for a config sent before the points from a link arrive: keep those points
    if (!(pointsPending && !custom.length && msg.dataset === "custom")) {
      pointsPending = false;
      setPoints(custom);
      writeHash();
    }
    probe = null;
    refreshStructure();
    controls.buildPaint(state, msg.num_classes);
    drawAll();
  } else if (msg.type === "status") setPlaying(msg.playing);
  else if (msg.type === "config") {
    state = normalise({ ...state, ...msg.config });
    writeHash();
    refreshStructure();
  } else if (msg.type === "export") {
    const bytes = Uint8Array.from(atob(msg.checkpoint), (c) => c.charCodeAt(0));
    download(msg.filename, new Blob([bytes], { type: "application/octet-stream" }));
    download("playground_model.py", new Blob([msg.python], { type: "text/x-python" }));
    $("code").textContent = msg.python;
    $("code-box").hidden = false;
  } else if (msg.type === "error") {
    pointsPending = false;
    toast(msg.message);
  }
}

function onStatus(status) {
  const box = $("conn");
  box.textContent = { open: "connected", connecting: "connecting…", closed: "disconnected — retrying" }[status];
  box.className = `conn ${status === "open" ? "ok" : status === "closed" ? "bad" : ""}`;
  if (status !== "open") setPlaying(false);
}

const socket = new Socket(onMessage, onStatus, () => {
  lastStep = -1;
  sendConfig();
  if (state.dataset === "custom") sendPoints(); // a link's points, or the points before a reconnect
});

// ------------------------------------------------------------------ clicks on the output
$("points").addEventListener("click", (e) => {
  const canvas = $("points");
  const rect = canvas.getBoundingClientRect();
  const px = ((e.clientX - rect.left) * canvas.width) / rect.width;
  const py = ((e.clientY - rect.top) * canvas.height) / rect.height;
  if ($("own-data").open) {
    const [x1, x2] = fromPixel(px, py, canvas.width).map((v) => Math.max(-6, Math.min(6, v)));
    socket.send({ type: "add_point", x1, x2, label: controls.paintLabel(state) });
  } else if ($("backprop-mode").checked && data) {
    let best = null;
    const sets = [["train", data.train]];
    if (state.show_test || state.dataset === "custom") sets.push(["test", data.test]);
    for (const [split, rows] of sets) {
      rows.forEach((row, index) => {
        const [qx, qy] = toPixel(row[0], row[1], canvas.width);
        const d = (qx - px) ** 2 + (qy - py) ** 2;
        if (!best || d < best.d) best = { d, split, index };
      });
    }
    if (best) pickProbe(best.split, best.index);
  }
});

function pickProbe(split, index) {
  probe = index === null ? null : { split, index };
  socket.send({ type: "probe", split, index });
}

$("backprop-mode").addEventListener("change", () => {
  if ($("backprop-mode").checked) {
    if (data && data.train.length) pickProbe("train", 0);
  } else pickProbe("train", null);
});
$("clear-points").addEventListener("click", () => socket.send({ type: "clear_points" }));
$("export").addEventListener("click", () => socket.send({ type: "export" }));

$("csv").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  e.target.value = "";
  if (!file) return;
  if (file.size > 1_000_000) { toast("The CSV is larger than 1 MB."); return; }
  socket.send({ type: "upload_csv", text: await file.text() });
});
$("ckpt").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  e.target.value = "";
  if (!file) return;
  if (file.size > 1_000_000) { toast("The checkpoint is larger than 1 MB."); return; }
  const bytes = new Uint8Array(await file.arrayBuffer());
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  socket.send({ type: "upload_checkpoint", data: btoa(text) });
});

window.addEventListener("hashchange", () => {
  applyView(location.hash);
  const next = fromHash(location.hash);
  const rows = next.dataset === "custom" ? pointsFromHash(location.hash) : [];
  const samePoints = (rows.length ? encodePoints(rows) : "") === pointsCode;
  if (toHash(next) === toHash(state) && samePoints) return;
  state = next;
  refreshStructure();
  sendConfig();
  if (!samePoints) {
    setPoints(rows);
    if (rows.length) sendPoints();
    else if (next.dataset === "custom") socket.send({ type: "clear_points" });
  }
});
window.addEventListener("resize", () => net.render(state, outputs()));

applyView(location.hash);
if (state.dataset === "custom") setPoints(pointsFromHash(location.hash));
fetch("/api/thumbnails").then((r) => r.json()).then((thumbs) => {
  controls.buildThumbnails(thumbs);
  controls.show(state);
});
fetch("/api/share").then((r) => r.json()).then((share) => {
  if (!share.url) return;
  $("share-button").hidden = false;
  $("share-url").textContent = share.url;
  if (share.svg) $("share-qr").innerHTML = share.svg; // made by the server (segno), not user text
  $("share-button").addEventListener("click", () => { $("share").hidden = !$("share").hidden; });
  $("share-close").addEventListener("click", () => { $("share").hidden = true; });
});
writeHash();
refreshStructure();
drawLegend();

// for tests and the curious: the page's live state
window.playground = {
  get state() { return copyState(state); },
  get frame() { return frame; },
  get data() { return data; },
  get probe() { return probe; },
  get points() { return points; },
  get framesShown() { return framesShown; },
  send: (message) => socket.send(message),
};
