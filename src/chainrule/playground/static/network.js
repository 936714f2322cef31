// The network diagram: feature nodes, hidden neurons (each with its own heatmap), output
// node(s), links whose width and colour show the weight (SVG), bias marks, per-layer
// controls, a hover card to read and edit a weight, and the backprop values of a probe.

import { ACTIVATIONS, ACTIVATION_LABELS, FEATURES, FEATURE_LABELS, LIMITS } from "./state.js";
import { CLASS_COLORS, drawOutput, drawValues, featureBytes, rgb, valueColor } from "./heatmap.js";

const SVG = "http://www.w3.org/2000/svg";
const HEIGHT = 480;
const TOP = 58;

function el(tag, cls, parent) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (parent) parent.appendChild(node);
  return node;
}

export function fmt(v, digits = 4) {
  if (v === null || v === undefined) return "NaN";
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(digits - 1) : Number(v.toPrecision(digits)).toString();
}

export class NetworkView {
  constructor(container, card, handlers) {
    this.container = container;
    this.card = card;
    this.handlers = handlers; // toggleFeature, addNeuron, removeNeuron, setActivation, editParam, chooseLink
    this.key = null;
    this.links = [];
    this.nodes = new Map();
    this.pinned = null;
    this.frame = null;
    this.chosen = null;
    container.addEventListener("mouseleave", () => { if (!this.pinned) this.hideCard(); });
    document.addEventListener("click", (e) => {
      if (this.pinned && !card.contains(e.target) && !e.target.classList.contains("link")
        && !e.target.classList.contains("bias")) { this.pinned = null; this.hideCard(); }
    });
    const input = card.querySelector("input");
    input.addEventListener("keydown", (e) => {
      if (e.key !== "Enter" || !this.pinned) return;
      const value = Number(input.value);
      if (Number.isFinite(value)) this.handlers.editParam(this.pinned, value);
      this.pinned = null;
      this.hideCard();
    });
  }

  /** Rebuild the diagram when the structure changes (features, layers, outputs). */
  render(state, outputs) {
    const width = Math.max(300, this.container.clientWidth); // a phone's column too
    const key = JSON.stringify([state.features, state.layers, state.activations, outputs, width]);
    if (key === this.key) return;
    this.key = key;
    this.state = state;
    this.outputs = outputs;
    this.container.replaceChildren();
    this.container.appendChild(this.card);
    this.links = [];
    this.nodes = new Map();
    const columns = [FEATURES.length, ...state.layers, outputs];
    const most = Math.max(...columns);
    const x0 = 66;
    const xLast = width - 70;
    // the room between two columns: on a phone with many layers the nodes shrink to leave
    // space for the links, and each layer's controls narrow and stack (taller: nodes lower)
    const span = (xLast - x0) / (columns.length - 1);
    this.span = span;
    const compact = span < 84;
    const top = compact ? TOP + 58 : TOP;
    const fits = Math.floor((HEIGHT - top - 10) / most);
    const size = Math.max(10, Math.min(34, fits - 4, Math.floor(span * 0.6)));
    this.size = size;
    const gap = Math.max(2, Math.min(10, fits - size));
    const colX = columns.map((_, i) => Math.round(x0 + span * i));
    const pos = (col, i) => [colX[col], top + i * (size + gap)];
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("width", width);
    svg.setAttribute("height", HEIGHT);
    this.container.appendChild(svg);

    // links first, so that the nodes sit on top of them; their gradient labels above the links
    const labels = [];
    const hits = [];
    const sources0 = state.features.map((f) => FEATURES.indexOf(f));
    for (let layer = 0; layer < columns.length - 1; layer++) {
      const sources = layer === 0 ? sources0 : [...Array(columns[layer]).keys()];
      for (let target = 0; target < columns[layer + 1]; target++) {
        sources.forEach((row, source) => {
          const [x1, y1] = pos(layer, row);
          const [x2, y2] = pos(layer + 1, target);
          const path = document.createElementNS(SVG, "path");
          const a = [x1 + size, y1 + size / 2];
          const b = [x2, y2 + size / 2];
          const mid = (a[0] + b[0]) / 2;
          path.setAttribute("d", `M${a[0]},${a[1]} C${mid},${a[1]} ${mid},${b[1]} ${b[0]},${b[1]}`);
          path.setAttribute("class", "link");
          // the gradient label: on the curve, further along for later targets, so that the
          // labels of one target form a column and different targets do not share a spot
          const t = 0.25 + (0.5 * (target + 0.5)) / columns[layer + 1];
          const u = 1 - t;
          const text = document.createElementNS(SVG, "text");
          text.setAttribute("class", "link-grad");
          text.setAttribute("x", (u ** 3 * a[0] + 3 * u * t * mid + t ** 3 * b[0]).toFixed(1));
          text.setAttribute("y", (a[1] + (b[1] - a[1]) * (3 * u * t * t + t ** 3) + 3).toFixed(1));
          text.setAttribute("text-anchor", "middle");
          text.dataset.layer = layer;
          text.dataset.target = target;
          text.dataset.source = source;
          text.style.display = "none";
          labels.push(text);
          const link = { path, layer, target, source, text };
          // a wide invisible twin takes the pointer: a thin link is easy to hover and tap
          const hit = document.createElementNS(SVG, "path");
          hit.setAttribute("d", path.getAttribute("d"));
          hit.setAttribute("class", "link-hit");
          for (const target of [path, hit]) {
            target.addEventListener("mouseenter", (e) => { path.classList.add("hover"); this.showCard(link, e); });
            target.addEventListener("mouseleave", () => path.classList.remove("hover"));
            target.addEventListener("click", (e) => { this.pin(link, e); this.handlers.chooseLink(link); });
          }
          svg.appendChild(path);
          hits.push(hit);
          this.links.push(link);
        });
      }
    }

    for (const hit of hits) svg.appendChild(hit);
    for (const text of labels) svg.appendChild(text);
    this.note = el("div", "net-note", this.container);
    this.note.hidden = true;

    FEATURES.forEach((name, i) => {
      const [x, y] = pos(0, i);
      const on = state.features.includes(name);
      const node = this.addNode(x, y, size, `in:${name}`, on ? "node" : "node off");
      // on the element (a title on the node record showed nothing)
      node.div.title = `Input ${FEATURE_LABELS[name]}: click to ${on ? "switch it off" : "feed it to the network"}`;
      drawValues(node.canvas, featureBytes(name, 20), 20);
      node.div.addEventListener("click", () => this.handlers.toggleFeature(name));
      const label = el("div", "node-label", this.container);
      label.textContent = FEATURE_LABELS[name];
      label.style.left = `${x - 64}px`;
      label.style.top = `${y + size / 2 - 8}px`;
    });
    state.layers.forEach((count, l) => {
      for (let j = 0; j < count; j++) {
        const [x, y] = pos(l + 1, j);
        const hidden = this.addNode(x, y, size, `h:${l}:${j}`, "node");
        hidden.div.title = `Neuron ${j + 1} of hidden layer ${l + 1}: its output over the plane (shown large in the output while hovered)`;
        this.addBias(x, y, size, l, j);
      }
      this.addLayerControls(colX[l + 1] + size / 2, l, count, state.activations[l], compact);
    });
    for (let j = 0; j < outputs; j++) {
      const [x, y] = pos(columns.length - 1, j);
      const node = this.addNode(x, y, size, `out:${j}`, "node");
      if (outputs > 1) node.div.style.background = rgb(CLASS_COLORS[j % CLASS_COLORS.length]);
      this.addBias(x, y, size, state.layers.length, j);
    }
    const out = el("div", "layer-ctl output-ctl", this.container);
    out.style.right = "2px"; // clear of the last layer's controls, however close the columns
    out.style.top = "14px";
    out.textContent = outputs > 1 ? `${outputs} outputs (softmax)` : "output";
    if (this.frame) this.update(this.frame, this.backprop);
  }

  addNode(x, y, size, id, cls) {
    const div = el("div", cls, this.container);
    div.dataset.node = id;
    Object.assign(div.style, { left: `${x}px`, top: `${y}px`, width: `${size}px`, height: `${size}px` });
    const canvas = el("canvas", "", div);
    canvas.width = canvas.height = 20;
    const value = el("div", "node-value", this.container);
    value.style.left = `${x + size + 2}px`;
    value.style.top = `${y}px`;
    value.hidden = true;
    const node = { div, canvas, value, x, y };
    // hovering a neuron shows its picture large in the output panel
    div.addEventListener("mouseenter", () => this.handlers.hoverNeuron && this.handlers.hoverNeuron(id));
    div.addEventListener("mouseleave", () => this.handlers.hoverNeuron && this.handlers.hoverNeuron(null));
    this.nodes.set(id, node);
    return node;
  }

  addBias(x, y, size, layer, target) {
    const mark = el("div", "bias", this.container);
    mark.style.left = `${x - 8}px`;
    mark.style.top = `${y + size - 6}px`;
    const bias = { layer, target, source: -1, mark };
    mark.addEventListener("mouseenter", (e) => this.showCard(bias, e));
    mark.addEventListener("click", (e) => this.pin(bias, e));
    this.links.push(bias);
  }

  addLayerControls(cx, layer, count, activation, compact) {
    const box = el("div", compact ? "layer-ctl compact" : "layer-ctl", this.container);
    const width = compact ? Math.max(20, Math.floor(this.span) - 4) : 80;
    box.style.left = `${cx - width / 2}px`;
    box.style.top = "0px";
    box.style.width = `${width}px`;
    const pm = el("div", "pm", box);
    const plus = el("button", "round small", pm);
    plus.textContent = "+";
    plus.title = "Add a neuron";
    plus.disabled = count >= LIMITS.maxNeurons;
    plus.addEventListener("click", () => this.handlers.addNeuron(layer));
    const minus = el("button", "round small", pm);
    minus.textContent = "−";
    minus.title = "Remove a neuron";
    minus.disabled = count <= 1;
    minus.addEventListener("click", () => this.handlers.removeNeuron(layer));
    el("div", "count", box).textContent = compact ? `${count}` : `${count} neuron${count > 1 ? "s" : ""}`;
    const select = el("select", "", box);
    select.title = "Activation of this layer";
    select.dataset.layer = layer;
    for (const a of ACTIVATIONS) select.add(new Option(ACTIVATION_LABELS[a], a, false, a === activation));
    select.addEventListener("change", () => this.handlers.setActivation(layer, select.value));
  }

  param(link) {
    const f = this.frame;
    if (!f || !f.weights[link.layer]) return null;
    if (link.source < 0) return f.biases[link.layer]?.[link.target] ?? null;
    return f.weights[link.layer][link.target]?.[link.source] ?? null;
  }

  gradient(link) {
    const layer = this.backprop?.layers[link.layer];
    if (!layer) return null;
    return link.source < 0 ? layer.db?.[link.target] : layer.dw?.[link.target]?.[link.source];
  }

  cardText(link) {
    const value = this.param(link);
    const what = link.source < 0 ? "Bias" : "Weight";
    let text = `${what} is ${fmt(value, 5)}`;
    const g = this.gradient(link);
    if (g !== null && g !== undefined) text += `<br>∂L/∂${link.source < 0 ? "b" : "w"} = ${fmt(g, 5)}`;
    return text;
  }

  showCard(link, event) {
    if (this.pinned) return;
    const box = this.container.getBoundingClientRect();
    this.card.hidden = false;
    this.card.querySelector("#hover-text").innerHTML = this.cardText(link);
    this.card.querySelector("input").hidden = true;
    this.card.style.left = `${event.clientX - box.left + 12}px`;
    this.card.style.top = `${event.clientY - box.top + 12}px`;
  }

  pin(link, event) {
    this.pinned = null;
    this.showCard(link, event);
    this.pinned = link;
    const input = this.card.querySelector("input");
    input.hidden = false;
    input.value = this.param(link) ?? 0;
    input.focus();
    input.select();
    event.stopPropagation();
  }

  hideCard() {
    this.card.hidden = true;
  }

  /** Weights, biases, heatmaps and (if a point is probed) forward values and gradients. */
  update(frame, backprop) {
    this.frame = frame;
    this.backprop = backprop;
    for (const link of this.links) {
      const value = this.param(link);
      if (value === null) continue;
      const color = rgb(valueColor(value));
      if (link.source < 0) { link.mark.style.background = color; continue; }
      let width = Math.min(8, 0.6 + 2.2 * Math.abs(value));
      if (backprop) {
        const g = this.gradient(link) || 0;
        width = Math.min(8, 0.6 + 40 * Math.abs(g));
        link.path.style.stroke = rgb(valueColor(-Math.sign(g) * Math.min(1, 0.3 + 20 * Math.abs(g))));
      } else {
        link.path.style.stroke = color;
      }
      link.path.style.strokeWidth = width;
      link.path.classList.toggle("chosen", link === this.chosen);
    }
    const grid = frame.neuron_grid;
    frame.neurons.slice(1).forEach((layer, l) => layer.forEach((b64, j) => {
      const node = this.nodes.get(`h:${l}:${j}`);
      if (node) drawValues(node.canvas, b64, grid);
    }));
    if (this.outputs === 1) {
      const node = this.nodes.get("out:0");
      if (node) drawOutput(node.canvas, frame.output, frame.output_grid, false);
    }
    this.showBackprop(backprop);
  }

  /** Hide gradient labels that would overlap one already placed, largest |∂L/∂w| first,
   * so that labels never overlap; returns how many were hidden. */
  thinLabels(shown) {
    shown.sort((a, b) => b.g - a.g);
    // the neurons, their value labels and bias marks come first: a gradient never covers them
    const placed = [];
    for (const node of this.nodes.values()) {
      placed.push(node.div.getBoundingClientRect());
      if (!node.value.hidden) placed.push(node.value.getBoundingClientRect());
    }
    for (const link of this.links) if (link.mark) placed.push(link.mark.getBoundingClientRect());
    let hidden = 0;
    for (const { link } of shown) {
      const box = link.text.getBoundingClientRect();
      const clash = placed.some((p) => box.x < p.x + p.width && p.x < box.x + box.width
        && box.y < p.y + p.height && p.y < box.y + box.height);
      if (clash) { link.text.style.display = "none"; hidden++; } else placed.push(box);
    }
    return hidden;
  }

  /** Whether the labels (neuron values, link gradients) are readable at this size. */
  get readable() {
    // a value label is about 44 px wide and sits right of its node, before the next column
    return this.size >= 18 && this.span >= this.size + 52;
  }

  showBackprop(bp) {
    for (const node of this.nodes.values()) { node.value.hidden = true; node.div.classList.remove("probe"); }
    const small = !this.readable;
    // the neurons' values first: the gradient labels on the links then keep clear of them
    if (bp) {
      const label = (node, a, g) => {
        if (!node) return;
        node.div.classList.add("probe");
        node.value.hidden = small;
        node.value.innerHTML = `${fmt(a, 3)}<br><span class="g">∂${fmt(g, 2)}</span>`;
        node.value.title = `value ${a}, dL/d(value) ${g}`;
      };
      this.state.features.forEach((name, i) => {
        label(this.nodes.get(`in:${name}`), bp.inputs[i], bp.dinputs?.[i]);
      });
      bp.layers.forEach((layer, l) => {
        const last = l === bp.layers.length - 1;
        layer.a.forEach((a, j) => {
          const node = this.nodes.get(last ? `out:${j}` : `h:${l}:${j}`);
          label(node, a, last ? layer.dz[j] : layer.da?.[j] ?? layer.dz[j]);
        });
      });
    }
    let hidden = 0;
    const shown = [];
    for (const link of this.links) {
      if (!link.text) continue;
      if (bp && small) hidden++;
      const g = bp && !small ? this.gradient(link) : null;
      if (g === null || g === undefined) { link.text.style.display = "none"; continue; }
      link.text.style.display = "";
      link.text.textContent = fmt(g, 2);
      link.text.dataset.value = g;
      shown.push({ link, g: Math.abs(g) });
    }
    hidden += this.thinLabels(shown);
    if (this.note) {
      this.note.hidden = !hidden;
      this.note.textContent = small
        ? "The network is too large here to print the values and gradients: hover or tap a link to read its ∂L/∂w."
        : "Gradients whose labels would overlap others are left out (the largest are kept): "
          + "hover any link to read its ∂L/∂w.";
    }
  }
}
