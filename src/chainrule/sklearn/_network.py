"""The chainrule side of the MLP estimators: the network, the training losses, inference.

The estimators store their parameters as scikit-learn does: ``coefs_[i]`` of shape
(fan_in, fan_out) and ``intercepts_[i]`` of shape (fan_out,). The training network is an
``nn.Sequential`` of ``nn.Linear`` layers whose parameters are *views* of those arrays
(``weight._data = coefs_[i].T``, chainrule's (out, in) layout), so each optimizer step
updates ``coefs_`` in place and nothing is ever copied between the two.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import chainrule
from chainrule import nn, ops
from chainrule import random as crandom
from chainrule.autograd import no_grad
from chainrule.nn import functional as F
from chainrule.nn.registry import activation_layer
from chainrule.tensor import Tensor

# scikit-learn's activation names, looked up in nn.registry ('logistic' is Sigmoid's alias)
_HIDDEN = {name: activation_layer(name) for name in ("identity", "logistic", "tanh", "relu")}


def build_network(
    coefs: Sequence[np.ndarray], intercepts: Sequence[np.ndarray], activation: str
) -> nn.Sequential:
    """An ``nn.Sequential`` of Linear layers (+ the hidden activation) bound to the arrays.

    The output activation is left out: the losses below work on logits, as F.cross_entropy
    and BCE-with-logits do. chainrule's global random stream is left untouched (the
    default initialisation of ``nn.Linear`` is overwritten anyway).
    """
    state = crandom.get_rng_state()
    try:
        sizes = [coefs[0].shape[0], *(coef.shape[1] for coef in coefs)]
        network = nn.mlp(sizes, activation, dtype=coefs[0].dtype)
    finally:
        crandom.set_rng_state(state)
    bind(network, coefs, intercepts)
    return network


def linears(network: nn.Sequential) -> list[nn.Linear]:
    return [m for m in network if isinstance(m, nn.Linear)]


def fits(network: nn.Sequential, coefs: Sequence[np.ndarray], activation: str) -> bool:
    """Whether the network has the layer shapes, dtype and activation the arrays need."""
    layers = linears(network)
    hidden = _HIDDEN[activation]
    wanted = len(coefs) + (len(coefs) - 1 if hidden is not None else 0)
    return (
        len(layers) == len(coefs)
        and len(network) == wanted
        and all(
            lin.weight._data.shape == coef.T.shape and lin.weight._data.dtype == coef.dtype
            for lin, coef in zip(layers, coefs, strict=True)
        )
        and (hidden is None or all(type(network[2 * i + 1]) is hidden for i in range(wanted // 2)))
    )


def bind(
    network: nn.Sequential, coefs: Sequence[np.ndarray], intercepts: Sequence[np.ndarray]
) -> None:
    """Point the network's parameters at the estimator's arrays (views, no copies)."""
    for linear, coef, intercept in zip(linears(network), coefs, intercepts, strict=True):
        linear.weight._data = coef.T
        assert linear.bias is not None
        linear.bias._data = intercept


def parameters(network: nn.Sequential) -> tuple[list[Tensor], list[Tensor]]:
    """(weights, biases): the L2 penalty applies to the weights only, as in scikit-learn."""
    layers = linears(network)
    return [lin.weight for lin in layers], [lin.bias for lin in layers if lin.bias is not None]


def forward(
    coefs: Sequence[np.ndarray],
    intercepts: Sequence[np.ndarray],
    activation: str,
    out_activation: str,
    X: np.ndarray,
) -> np.ndarray:
    """The network's output for X (after the output activation), on chainrule, no graph.

    Stateless (functional F.linear on the arrays): safe to call from several threads.
    """
    dtype = coefs[0].dtype
    h = chainrule.from_numpy(np.asarray(X, dtype=dtype))
    last = len(coefs) - 1
    with no_grad():
        for i, (coef, intercept) in enumerate(zip(coefs, intercepts, strict=True)):
            h = F.linear(h, chainrule.from_numpy(coef.T), chainrule.from_numpy(intercept))
            if i < last:
                h = _activate(h, activation)
        out = _activate(h, out_activation)
    return out._data


def _activate(h: Tensor, name: str) -> Tensor:
    """A hidden activation by name (nn.registry's layer), or an output one."""
    if name == "softmax":
        return F.softmax(h, dim=1)
    if name == "exp":
        return h.exp()
    cls = activation_layer(name)
    return h if cls is None else cls()(h)


# ---------------------------------------------------------------------- training losses
def loss_target(out_activation: str, y: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """The target in the form the loss takes: class indices for softmax, floats otherwise."""
    if out_activation == "softmax":
        return np.argmax(y, axis=1)
    return np.asarray(y, dtype=dtype)


def batch_loss(
    out_activation: str,
    z: Tensor,
    target: np.ndarray,
    sample_weight: np.ndarray | None,
    sw_sum: float,
) -> tuple[Tensor, float]:
    """(the loss to differentiate, scikit-learn's value of the data loss) for one batch.

    Each loss has the canonical-link gradient scikit-learn backpropagates,
    dL/dz = w_i (act(z) - y) / Σw, on the logits z:

    * softmax: cross-entropy, weighted mean over the batch;
    * logistic: BCE with logits, summed over outputs, averaged over samples (binary and
      multi-label, as scikit-learn's ``binary_log_loss``);
    * identity: ½ Σ_outputs of the mean squared error;
    * exp (Poisson): Σ_outputs mean(e^z - y z), the half Poisson deviance up to a constant.

    The two log losses are one fused node each: the ops behind ``F.cross_entropy`` and
    ``F.binary_cross_entropy_with_logits``, called directly because the targets are valid
    by construction (the F wrappers re-check them, and 'none' + sum + scale costs three more
    nodes: together most of the per-batch overhead on small networks).

    The value is the one scikit-learn reports: log losses computed from probabilities
    clipped to [eps, 1 - eps] of the dtype (so a sample's loss is at most -log eps, 15.9
    in float32), squared error averaged over the outputs (½·mean, while the gradient is the
    one of ½·sum), and the Poisson deviance with its constant Σ w (y log y - y) / Σw.
    """
    dtype = z._data.dtype
    if out_activation == "softmax":
        row_weight = None if sample_weight is None else sample_weight.astype(dtype, copy=False)
        loss = ops.CrossEntropyIndex.apply(
            z, target=target, row_weight=row_weight, reduction="mean"
        )  # with row weights, 'mean' is Σ w_i l_i / Σ w_i
        probabilities = _saved(loss, "probabilities")
        if probabilities is None:
            probabilities = F.softmax(z.detach(), dim=1)._data
        losses = -np.log(_clip(probabilities[np.arange(len(target)), target]))
        return loss, _weighted_mean(losses, sample_weight, sw_sum)
    if out_activation == "logistic":
        scale = np.asarray(1.0 / sw_sum, dtype=dtype)
        weight = scale if sample_weight is None else (sample_weight * scale)[:, None]
        loss = ops.BinaryCrossEntropyWithLogits.apply(
            z, target=target, weight=weight.astype(dtype, copy=False), pos_weight=None,
            reduction="sum",
        )  # fmt: skip
        p = _clip(F.sigmoid(z.detach())._data)
        losses = -(target * np.log(p) + (1 - target) * np.log1p(-p))
        return loss, _weighted_mean(losses, sample_weight, sw_sum)
    w = None if sample_weight is None else chainrule.from_numpy(sample_weight[:, None])
    if out_activation == "exp":
        terms = z.exp() - z * chainrule.from_numpy(target)
        loss = (terms if w is None else terms * w).sum() * (1.0 / sw_sum)
        from scipy.special import xlogy  # scipy comes with scikit-learn

        constant = _weighted_mean(xlogy(target, target) - target, sample_weight, sw_sum)
        return loss, loss.item() + constant
    if w is None:
        loss = F.mse_loss(z, target, reduction="sum") * (0.5 / sw_sum)
    else:
        diff = z - chainrule.from_numpy(target)
        loss = (diff * diff * w).sum() * (0.5 / sw_sum)
    return loss, loss.item() / target.shape[1]


def _saved(loss: Tensor, name: str) -> np.ndarray | None:
    """An array the loss node kept for backward (None if the engine keeps it elsewhere)."""
    node = loss.grad_fn
    value = None if node is None else node.saved_values().get(name)
    return value if isinstance(value, np.ndarray) else None


def _clip(p: np.ndarray) -> np.ndarray:
    eps = np.finfo(p.dtype).eps
    return np.clip(p, eps, 1 - eps)


def _weighted_mean(losses: np.ndarray, sample_weight: np.ndarray | None, sw_sum: float) -> float:
    """Σ_i w_i Σ_outputs losses[i] / Σw (the plain mean over samples without weights)."""
    if sample_weight is None:
        return float(losses.sum()) / sw_sum
    per_sample = losses if losses.ndim == 1 else losses.sum(axis=1)
    return float(np.dot(sample_weight, per_sample)) / sw_sum


def penalty(coefs: Sequence[np.ndarray], alpha: float, sw_sum: float) -> float:
    """scikit-learn's L2 term: α/2 · Σ‖W‖² / Σw, weights only (not the intercepts)."""
    if alpha == 0:
        return 0.0
    total = 0.0
    for coef in coefs:
        flat = coef.ravel()
        total += float(np.dot(flat, flat))
    return 0.5 * alpha * total / sw_sum
