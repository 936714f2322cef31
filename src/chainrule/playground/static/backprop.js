// The backprop panel: for one training point and one chosen link, the chain rule with numbers:
// local gradient x upstream gradient = downstream gradient, then the update of the weight.

import { fmt } from "./network.js";

function num(id, value, digits = 5) {
  const shown = fmt(value, digits);
  return `<b id="${id}" data-value="${value}">${shown}</b>`;
}

function neuronName(layer, index, layers, features) {
  if (layer === 0) return features[index];
  return layer === layers ? `out${layers > 0 ? "" : ""}[${index}]` : `h${layer}[${index}]`;
}

/** The default link: the first weight into the output. */
export function defaultLink(bp) {
  return { layer: bp.layers.length - 1, target: 0, source: 0 };
}

export function renderBackprop(box, bp, link, featureLabels) {
  if (!bp) { box.innerHTML = ""; return; }
  const n = bp.layers.length;
  const L = bp.layers[link.layer] ? link.layer : n - 1;
  const layer = bp.layers[L];
  const { target: j } = link;
  const k = link.source;
  const isBias = k < 0;
  const inputValue = isBias ? 1 : L === 0 ? bp.inputs[k] : bp.layers[L - 1].a[k];
  const upstream = layer.dz[j];
  const downstream = isBias ? layer.db[j] : layer.dw[j][k];
  const w = isBias ? layer.b[j] : layer.w[j][k];
  const lr = bp.learning_rate;
  const updated = w - lr * downstream;
  const from = isBias ? "bias" : neuronName(L, k, n, featureLabels);
  const to = neuronName(L + 1, j, n, featureLabels);
  const sym = isBias ? "b" : "w";
  const point = bp.point.map((v) => fmt(v, 3)).join(", ");
  const pred = describePrediction(bp.prediction);
  let neuron = "";
  if (L > 0) {
    const below = bp.layers[L - 1];
    const i = isBias ? 0 : k;
    if (below.activation !== "linear") {
      neuron = `<tr><td>through ${below.activation} of ${neuronName(L, i, n, featureLabels)}</td>
        <td class="eq">∂L/∂z = f′(z) × ∂L/∂a = ${num("bp-fprime", below.local[i], 4)} × ${num("bp-da", below.da[i], 4)}
        = ${num("bp-dz-below", below.dz[i], 4)}</td></tr>`;
    }
  }
  const gates = (bp.gates || []).map((g) => g.node.replace("Backward", "")).join(" ← ");
  box.innerHTML = `
    <p>${bp.split} point #${bp.index} at (${point}), label ${fmt(bp.label, 3)};
      ${pred}; loss on this point ${num("bp-loss", bp.loss, 5)}.
      Click a link in the network to follow its gradient.</p>
    <div class="bp-grid"><table>
      <tr><th colspan="2">Link ${from} → ${to} (layer ${L + 1})</th></tr>
      <tr><td>forward</td><td class="eq">${sym} = ${num("bp-w", w)}; input ${isBias ? "1" : `a = ${num("bp-a", inputValue)}`};
        z = ${num("bp-z", layer.z[j])}, a = ${num("bp-out", layer.a[j])}</td></tr>
      <tr><td>local gradient</td><td class="eq">∂z/∂${sym} = ${isBias ? "1" : "a"} = ${num("bp-local", inputValue)}</td></tr>
      <tr><td>upstream gradient</td><td class="eq">∂L/∂z = ${num("bp-upstream", upstream)}</td></tr>
      <tr><td>downstream gradient</td><td class="eq">∂L/∂${sym} = ${fmt(inputValue, 5)} × ${fmt(upstream, 5)} = ${num("bp-downstream", downstream)}</td></tr>
      <tr><td>update</td><td class="eq">${sym} ← ${sym} − lr · ∂L/∂${sym} = ${fmt(w, 5)} − ${fmt(lr, 3)} × ${fmt(downstream, 5)}
        = ${num("bp-new-w", updated)}</td></tr>
      ${neuron}
    </table>
    <div><p class="gates">The backward pass ran these nodes (chainrule.autograd.observe_backward):<br>${gates}</p>
      <p class="gates">The update shown is plain SGD on this one point${bp.optimizer === "sgd" ? "" :
        `; training uses ${bp.optimizer}, which rescales the step`}.</p></div></div>`;
}

/** "P(class 0) 0.97, P(class 1) 0.03: class 0" (classification) or "prediction 0.35". */
export function describePrediction(prediction) {
  if (prediction.length === 1) return `prediction ${fmt(prediction[0], 3)}`;
  const best = prediction.indexOf(Math.max(...prediction));
  const parts = prediction.map((p, k) => `P(class ${k}) ${fmt(p, 3)}`).join(", ");
  return `${parts}: predicted class ${best}`;
}
