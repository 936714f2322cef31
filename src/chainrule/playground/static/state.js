// The page's whole setup as one typed object, and its round trip through the URL hash.
// A link with the hash reproduces the same data (seed included), network and training.

export const FEATURES = ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"];
export const FEATURE_LABELS = {
  x1: "X₁", x2: "X₂", x1sq: "X₁²", x2sq: "X₂²", x1x2: "X₁X₂", sinx1: "sin(X₁)", sinx2: "sin(X₂)",
};
// The menus that follow chainrule's declarations (activations: chainrule.nn.registry) and
// the server's limits come from the server, so the page repeats none of them.
const SERVED = await fetch("/api/defaults").then((r) => r.json());
export const ACTIVATIONS = SERVED.menus.activations;
export const ACTIVATION_LABELS = SERVED.menus.activation_labels;
export const OPTIMIZERS = SERVED.menus.optimizers;
export const OPTIMIZER_LABELS = SERVED.menus.optimizer_labels;
export const LEARNING_RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
export const REG_RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
export const CLASSIFICATION = ["circle", "xor", "gauss", "spiral", "moons", "spiral_multi", "blobs"];
export const REGRESSION = ["reg_plane", "reg_gauss"];
export const MULTICLASS = ["spiral_multi", "blobs"];
export const LIMITS = { maxLayers: SERVED.limits.max_layers, maxNeurons: SERVED.limits.max_neurons };

export const DEFAULTS = Object.freeze({
  dataset: "circle",
  problem: "classification",
  classes: 3,
  noise: 0,
  train_ratio: 50,
  batch_size: 10,
  full_batch: false,
  seed: 1,
  features: ["x1", "x2", "sinx1", "sinx2"],
  layers: [8, 8],
  activations: ["tanh", "tanh"],
  learning_rate: 0.01,
  regularization: "none",
  reg_rate: 0,
  init: "xavier",
  optimizer: "adam",
  loss: "cross_entropy",
  // page-only settings (not sent to the server)
  show_test: false,
  discretize: false,
});

const PAGE_ONLY = new Set(["show_test", "discretize"]);
const CHOICES = {
  dataset: [...CLASSIFICATION, ...REGRESSION, "custom"],
  problem: ["classification", "regression"],
  regularization: ["none", "l1", "l2"],
  init: ["zeros", "uniform", "xavier", "he"],
  optimizer: OPTIMIZERS,
  loss: ["mse", "cross_entropy"],
};
const RANGES = {
  classes: [3, 5], noise: [0, 50], train_ratio: [10, 90], batch_size: [1, 30],
  seed: [0, 2 ** 31 - 1], learning_rate: [0.00001, 10], reg_rate: [0, 10],
};
const INTEGER = new Set(["classes", "noise", "train_ratio", "batch_size", "seed"]);

export function copyState(state) {
  return JSON.parse(JSON.stringify(state));
}

/** The config the server takes (everything but the page-only settings). */
export function engineConfig(state) {
  const config = {};
  for (const key of Object.keys(DEFAULTS)) if (!PAGE_ONLY.has(key)) config[key] = state[key];
  return copyState(config);
}

// Your own points in the hash: x1, x2, label as int16 fixed point (x 1000, three decimals),
// little-endian, base64url without padding: 8 characters a point.
export const MAX_POINTS_CHARS = 8000; // ~1,000 points; beyond that the link keeps only the setup
const SCALE = 1000;

/** [[x1, x2, label], ...] -> the compact text, or null if a value does not fit in int16. */
export function encodePoints(rows) {
  const values = new Int16Array(rows.length * 3);
  for (let i = 0; i < rows.length; i++) {
    for (let c = 0; c < 3; c++) {
      const v = Math.round(rows[i][c] * SCALE);
      if (!Number.isFinite(v) || v < -32768 || v > 32767) return null;
      values[3 * i + c] = v;
    }
  }
  const bytes = new Uint8Array(values.length * 2);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setInt16(2 * i, v, true));
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The compact text -> [[x1, x2, label], ...] (null if it is malformed). */
export function decodePoints(code) {
  if (!/^[A-Za-z0-9_-]*$/.test(code)) return null;
  let text;
  try {
    text = atob(code.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    return null;
  }
  if (text.length % 6 !== 0) return null;
  const view = new DataView(Uint8Array.from(text, (ch) => ch.charCodeAt(0)).buffer);
  const rows = [];
  for (let i = 0; i < text.length; i += 6) {
    rows.push([0, 2, 4].map((o) => view.getInt16(i + o, true) / SCALE));
  }
  return rows;
}

/** The points in a hash ("points=..."), or [] when there are none or they are malformed. */
export function pointsFromHash(hash) {
  const code = new URLSearchParams((hash || "").replace(/^#/, "")).get("points");
  return (code && decodePoints(code)) || [];
}

/** The hash of a state; `points` (the compact text of your own points) goes last if given. */
export function toHash(state, points = "") {
  const parts = [];
  for (const key of Object.keys(DEFAULTS)) {
    let value = state[key];
    if (Array.isArray(value)) value = value.join(",");
    else if (typeof value === "boolean") value = value ? "1" : "0";
    parts.push(`${key}=${encodeURIComponent(String(value))}`);
  }
  if (points) parts.push(`points=${points}`);
  return "#" + parts.join("&");
}

function parseValue(key, text) {
  const fallback = DEFAULTS[key];
  if (typeof fallback === "boolean") return text === "1" || text === "true";
  if (typeof fallback === "number") {
    const value = Number(text);
    if (!Number.isFinite(value)) return fallback;
    const [lo, hi] = RANGES[key];
    const clamped = Math.min(hi, Math.max(lo, value));
    return INTEGER.has(key) ? Math.round(clamped) : clamped;
  }
  if (key === "layers") {
    if (text === "") return [];
    const layers = text.split(",").map(Number);
    if (layers.some((n) => !Number.isInteger(n))) return fallback;
    return layers.slice(0, LIMITS.maxLayers).map((n) => Math.min(LIMITS.maxNeurons, Math.max(1, n)));
  }
  if (key === "activations") return text === "" ? [] : text.split(",").map((a) => (ACTIVATIONS.includes(a) ? a : "tanh"));
  if (key === "features") {
    const features = FEATURES.filter((f) => text.split(",").includes(f));
    return features.length ? features : fallback;
  }
  return CHOICES[key].includes(text) ? text : fallback;
}

/** The state in a hash such as "#dataset=spiral&layers=8,8"; missing keys take defaults. */
export function fromHash(hash) {
  const state = copyState(DEFAULTS);
  const params = new URLSearchParams((hash || "").replace(/^#/, ""));
  for (const [key, text] of params) {
    if (key in DEFAULTS) state[key] = parseValue(key, text);
  }
  return normalise(state);
}

/** Make a state self-consistent (one activation per layer, data matching the problem). */
export function normalise(state) {
  const acts = state.activations.slice(0, state.layers.length);
  while (acts.length < state.layers.length) acts.push(acts[acts.length - 1] || "tanh");
  state.activations = acts;
  if (state.problem === "regression") {
    if (!REGRESSION.includes(state.dataset) && state.dataset !== "custom") state.dataset = "reg_plane";
    state.loss = "mse";
  } else if (REGRESSION.includes(state.dataset)) {
    state.dataset = "circle";
  }
  return state;
}
