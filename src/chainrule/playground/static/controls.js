// The controls: top bar selects, data column sliders, dataset thumbnails and the class
// buttons for your own points. Each change calls `onChange(patch)`; `show(state)` reflects
// a state back into the controls (after a hash load or a server-side change).

import {
  ACTIVATIONS, ACTIVATION_LABELS, CLASSIFICATION, OPTIMIZERS, OPTIMIZER_LABELS, LEARNING_RATES, MULTICLASS, REG_RATES, REGRESSION,
} from "./state.js";
import { CLASS_COLORS, drawThumbnail, rgb } from "./heatmap.js";

const $ = (id) => document.getElementById(id);

const DATASET_LABELS = {
  circle: "Circle", xor: "Exclusive or", gauss: "Gaussian", spiral: "Spiral", moons: "Moons",
  spiral_multi: "Spiral (k)", blobs: "Blobs (k)", reg_plane: "Plane", reg_gauss: "Multi-Gaussian",
};

function fill(select, values, labels = {}) {
  select.replaceChildren(...values.map((v) => new Option(labels[v] ?? String(v), String(v))));
}

/** Select `value`, adding it as an option first when a link set one off the list. */
function choose(select, value) {
  const text = String(value);
  if (![...select.options].some((o) => o.value === text)) {
    const numbers = [...select.options].map((o) => Number(o.value));
    const before = [...select.options].find((o, i) => numbers[i] > Number(value)) || null;
    select.add(new Option(text, text), before);
  }
  select.value = text;
}

export class Controls {
  constructor(onChange) {
    this.onChange = onChange;
    this.paintClass = 0;
    fill($("learning_rate"), LEARNING_RATES);
    fill($("activation_all"), ACTIVATIONS, ACTIVATION_LABELS);
    $("activation_all").add(new Option("(per layer)", "mixed"));
    $("activation_all").querySelector('option[value="mixed"]').disabled = true;
    fill($("regularization"), ["none", "l1", "l2"], { none: "None", l1: "L1", l2: "L2" });
    fill($("reg_rate"), REG_RATES);
    fill($("problem"), ["classification", "regression"], { classification: "Classification", regression: "Regression" });
    fill($("optimizer"), OPTIMIZERS, OPTIMIZER_LABELS);
    fill($("init"), ["zeros", "uniform", "xavier", "he"], { zeros: "Zeros", uniform: "Uniform ±0.5", xavier: "Xavier", he: "He" });
    fill($("loss"), ["cross_entropy", "mse"], { cross_entropy: "Cross-entropy", mse: "MSE" });
    fill($("classes"), [3, 4, 5]);
    for (const id of ["learning_rate", "reg_rate"]) {
      $(id).addEventListener("change", () => onChange({ [id]: Number($(id).value) }));
    }
    for (const id of ["regularization", "problem", "optimizer", "init", "loss"]) {
      $(id).addEventListener("change", () => onChange({ [id]: $(id).value }));
    }
    $("classes").addEventListener("change", () => onChange({ classes: Number($("classes").value) }));
    $("activation_all").addEventListener("change", () => onChange({ activation_all: $("activation_all").value }));
    for (const id of ["train_ratio", "noise", "batch_size"]) {
      const input = $(id);
      input.addEventListener("input", () => {
        $(`${id}-out`).textContent = input.value;
        onChange({ [id]: Number(input.value) }, { debounce: true });
      });
    }
    for (const id of ["full_batch", "show_test", "discretize"]) {
      $(id).addEventListener("change", () => onChange({ [id]: $(id).checked }));
    }
    $("regenerate").addEventListener("click", () => onChange({ seed: Math.floor(Math.random() * 2 ** 31) }, { keepModel: true }));
    $("paint-value").addEventListener("input", () => { $("paint-value-out").textContent = $("paint-value").value; });
  }

  buildThumbnails(thumbs) {
    const box = $("thumbs");
    box.replaceChildren();
    for (const name of [...CLASSIFICATION, ...REGRESSION]) {
      const item = document.createElement("div");
      item.className = "thumb";
      item.dataset.dataset = name;
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = 56;
      drawThumbnail(canvas, thumbs[name] || [], REGRESSION.includes(name) ? "regression" : "classification");
      item.append(canvas, DATASET_LABELS[name]);
      item.title = DATASET_LABELS[name];
      item.addEventListener("click", () => this.onChange({ dataset: name }));
      box.appendChild(item);
    }
  }

  buildPaint(state, numClasses) {
    const box = $("paint");
    box.replaceChildren();
    const regression = state.problem === "regression";
    $("paint-value-row").hidden = !regression;
    if (regression) return;
    const count = Math.min(5, Math.max(2, numClasses + 1));
    for (let k = 0; k < count; k++) {
      const b = document.createElement("button");
      b.style.background = rgb(CLASS_COLORS[k]);
      b.title = `class ${k}`;
      b.dataset.cls = k;
      b.className = k === this.paintClass ? "selected" : "";
      b.addEventListener("click", () => { this.paintClass = k; this.buildPaint(state, numClasses); });
      box.appendChild(b);
    }
  }

  paintLabel(state) {
    return state.problem === "regression" ? Number($("paint-value").value) : this.paintClass;
  }

  show(state) {
    choose($("learning_rate"), state.learning_rate);
    choose($("reg_rate"), state.reg_rate);
    for (const id of ["regularization", "problem", "optimizer", "init", "loss"]) $(id).value = state[id];
    $("loss").querySelector('option[value="cross_entropy"]').disabled = state.problem === "regression";
    $("classes").value = String(state.classes);
    $("classes-row").hidden = !MULTICLASS.includes(state.dataset);
    const acts = new Set(state.activations);
    $("activation_all").value = acts.size === 1 ? [...acts][0] : "mixed";
    for (const id of ["train_ratio", "noise", "batch_size"]) {
      $(id).value = state[id];
      $(`${id}-out`).textContent = state[id];
    }
    for (const id of ["full_batch", "show_test", "discretize"]) $(id).checked = state[id];
    $("batch_size").disabled = state.full_batch;
    const regression = state.problem === "regression";
    for (const item of document.querySelectorAll(".thumb")) {
      const name = item.dataset.dataset;
      item.classList.toggle("selected", name === state.dataset);
      item.classList.toggle("hidden", REGRESSION.includes(name) !== regression);
    }
    $("layer-count").textContent = state.layers.length;
    $("layer-word").textContent = state.layers.length === 1 ? "hidden layer" : "hidden layers";
    $("add-layer").disabled = state.layers.length >= 8;
    $("remove-layer").disabled = state.layers.length === 0;
  }
}
