// Heatmaps on canvas: the server sends values as base64 bytes (0 = -1, 255 = +1) or, for
// several classes, the winning class and its confidence per pixel.

export const NEG = [245, 147, 34]; // orange: -1, class 0
export const POS = [8, 119, 189]; // blue: +1, class 1
const MID = [232, 234, 235];
export const CLASS_COLORS = [NEG, POS, [44, 160, 44], [148, 103, 189], [227, 119, 194]];
export const DOMAIN = 6;

export function decode(b64) {
  const text = atob(b64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** Colour of a value in [-1, 1]: orange - light grey - blue, as in TensorFlow Playground. */
export function valueColor(v) {
  const t = Math.min(1, Math.abs(v));
  const end = v < 0 ? NEG : POS;
  return MID.map((m, i) => Math.round(m + (end[i] - m) * t));
}

export function rgb(c, alpha = 1) {
  return alpha === 1 ? `rgb(${c[0]},${c[1]},${c[2]})` : `rgba(${c[0]},${c[1]},${c[2]},${alpha})`;
}

const LUT = Array.from({ length: 256 }, (_, q) => valueColor(q / 127.5 - 1));

function imageFor(ctx, size) {
  const key = `image${size}`;
  if (!ctx[key]) ctx[key] = ctx.createImageData(size, size);
  return ctx[key];
}

/** Draw bytes of values in [-1, 1] (size x size, row 0 at the top). */
export function drawValues(canvas, b64, size, discretize = false) {
  const bytes = typeof b64 === "string" ? decode(b64) : b64;
  if (canvas.width !== size) canvas.width = canvas.height = size;
  const ctx = canvas.getContext("2d");
  const image = imageFor(ctx, size);
  for (let i = 0; i < size * size; i++) {
    let q = bytes[i];
    if (discretize) q = q >= 128 ? 255 : 0;
    const c = LUT[q];
    image.data.set([c[0], c[1], c[2], 255], 4 * i);
  }
  ctx.putImageData(image, 0, 0);
}

/** Draw the winning class per pixel, paler where the network is less sure. */
export function drawClasses(canvas, classesB64, confidenceB64, size, discretize = false) {
  const classes = decode(classesB64);
  const confidence = decode(confidenceB64);
  if (canvas.width !== size) canvas.width = canvas.height = size;
  const ctx = canvas.getContext("2d");
  const image = imageFor(ctx, size);
  const k = CLASS_COLORS.length;
  for (let i = 0; i < size * size; i++) {
    const c = CLASS_COLORS[classes[i] % k];
    const t = discretize ? 1 : Math.max(0, (confidence[i] / 255 - 0.2) / 0.8);
    image.data.set([0, 1, 2].map((j) => Math.round(MID[j] + (c[j] - MID[j]) * t)).concat(255), 4 * i);
  }
  ctx.putImageData(image, 0, 0);
}

export function drawOutput(canvas, output, size, discretize) {
  if (output.kind === "classes") drawClasses(canvas, output.classes, output.confidence, size, discretize);
  else drawValues(canvas, output.values, size, discretize);
}

/** Pixel position of a data point on a canvas of width w (domain [-6, 6]²). */
export function toPixel(x1, x2, w) {
  return [((x1 + DOMAIN) / (2 * DOMAIN)) * w, ((DOMAIN - x2) / (2 * DOMAIN)) * w];
}

export function fromPixel(px, py, w) {
  return [(px / w) * 2 * DOMAIN - DOMAIN, DOMAIN - (py / w) * 2 * DOMAIN];
}

/** The colour of a point's label: class colours, or the value scale for regression. */
export function labelColor(label, problem) {
  if (problem === "regression") return valueColor(label);
  return CLASS_COLORS[Math.round(label) % CLASS_COLORS.length];
}

/** Data points: training points with a white ring, test points with a black one. */
export function drawPoints(canvas, data, showTest, probe) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width;
  ctx.clearRect(0, 0, w, w);
  if (!data) return;
  const sets = [["train", data.train, "#fff"]];
  if (showTest) sets.push(["test", data.test, "#000"]);
  for (const [, rows, ring] of sets) {
    for (const [x1, x2, label] of rows) {
      const [px, py] = toPixel(x1, x2, w);
      ctx.beginPath();
      ctx.arc(px, py, 3.2, 0, 2 * Math.PI);
      ctx.fillStyle = rgb(labelColor(label, data.problem));
      ctx.fill();
      ctx.lineWidth = 1;
      ctx.strokeStyle = ring;
      ctx.stroke();
    }
  }
  if (probe) {
    const rows = probe.split === "train" ? data.train : data.test;
    const row = rows[probe.index];
    if (row) {
      const [px, py] = toPixel(row[0], row[1], w);
      ctx.beginPath();
      ctx.arc(px, py, 8, 0, 2 * Math.PI);
      ctx.lineWidth = 2.5;
      ctx.strokeStyle = "#111";
      ctx.stroke();
    }
  }
}

/** A small picture of a dataset for the picker. */
export function drawThumbnail(canvas, rows, problem) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, w, w);
  for (const [x1, x2, label] of rows) {
    const [px, py] = toPixel(x1, x2, w);
    ctx.fillStyle = rgb(labelColor(label, problem));
    ctx.fillRect(px - 1.5, py - 1.5, 3, 3);
  }
}

/** Feature heatmaps for the input column (fixed pictures of x1, x2, x1², ...). */
export function featureBytes(name, size) {
  const f = {
    x1: (a) => a, x2: (a, b) => b, x1sq: (a) => a * a, x2sq: (a, b) => b * b,
    x1x2: (a, b) => a * b, sinx1: (a) => Math.sin(a), sinx2: (a, b) => Math.sin(b),
  }[name];
  const values = new Float64Array(size * size);
  let top = 0;
  const step = (2 * DOMAIN) / size;
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const v = f(-DOMAIN + step * (c + 0.5), DOMAIN - step * (r + 0.5));
      values[r * size + c] = v;
      top = Math.max(top, Math.abs(v));
    }
  }
  return Uint8Array.from(values, (v) => Math.round((v / (top || 1) + 1) * 127.5));
}
