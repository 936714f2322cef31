// A small line chart on canvas: several series, linear or log10 y axis, the last N points.

export const SERIES_COLORS = ["#222", "#8a8a8a", "#0877bd", "#f59322", "#2ca02c", "#9467bd", "#e377c2",
  "#17becf", "#bcbd22", "#d62728"];

export class LineChart {
  constructor(canvas, { log = false, maxPoints = 400 } = {}) {
    this.canvas = canvas;
    this.log = log;
    this.maxPoints = maxPoints;
    this.series = [];
  }

  reset() {
    this.series = [];
    this.draw();
  }

  /** Append one value per series (null for "no value"). */
  push(values) {
    values.forEach((v, i) => {
      if (!this.series[i]) this.series[i] = [];
      const s = this.series[i];
      s.push(v === null || v === undefined || !Number.isFinite(v) ? null : v);
      if (s.length > this.maxPoints) s.splice(0, s.length - this.maxPoints);
    });
  }

  draw() {
    const { canvas } = this;
    const ctx = canvas.getContext("2d");
    const w = canvas.width;
    const h = canvas.height;
    ctx.clearRect(0, 0, w, h);
    const map = (v) => (this.log ? Math.log10(Math.max(v, 1e-12)) : v);
    let lo = Infinity;
    let hi = -Infinity;
    let n = 0;
    for (const s of this.series) {
      n = Math.max(n, s.length);
      for (const v of s) if (v !== null) { lo = Math.min(lo, map(v)); hi = Math.max(hi, map(v)); }
    }
    if (!Number.isFinite(lo) || n < 2) return;
    if (!this.log) lo = Math.min(lo, 0);
    if (hi - lo < 1e-9) hi = lo + 1;
    const pad = 3;
    const right = 44; // the labels' own margin: they never sit on the lines
    const plot = w - right - pad;
    this.series.forEach((s, i) => {
      ctx.beginPath();
      ctx.strokeStyle = SERIES_COLORS[i % SERIES_COLORS.length];
      ctx.lineWidth = 1.5;
      let started = false;
      s.forEach((v, j) => {
        if (v === null) { started = false; return; }
        const x = pad + (plot * j) / (n - 1);
        const y = h - pad - ((h - 2 * pad) * (map(v) - lo)) / (hi - lo);
        if (started) ctx.lineTo(x, y); else ctx.moveTo(x, y);
        started = true;
      });
      ctx.stroke();
    });
    ctx.fillStyle = "#999";
    ctx.font = "10px sans-serif";
    ctx.fillText(axisLabel(this.log ? 10 ** hi : hi), w - right + 4, 10);
    ctx.fillText(axisLabel(this.log ? 10 ** lo : lo), w - right + 4, h - 3);
  }
}

/** A value for an axis end: 3 significant digits, powers of ten as 1e-5 (never 1e-0.5). */
export function axisLabel(v) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 0.01 && a < 10000) return String(Number(v.toPrecision(3)));
  const [mantissa, exponent] = v.toExponential(1).split("e");
  return `${Number(mantissa)}e${Number(exponent)}`;
}
