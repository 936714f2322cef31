"""The loss and gradient of S stacked sessions' networks on their batches (see batched.py).

    h_0 = x (S, B, in);  z_l = h_{l-1} @ W_lᵀ + b_l  (W_l (S, out, in), b_l (S, out))
    h_l = f_l(z_l);  L = Σ_s [ mean_b loss(h_s,b, y_s,b) + λ_s · penalty(W_s) ]

The sessions share no weights, so ∂L/∂W_s is session s's own gradient. `chainrule_grads`
computes it with chainrule's graph on the stacked tensors: any activation, loss and
penalty the playground offers. `numpy_grads` writes the same forward and backward out as
NumPy calls for the common networks (tanh, ReLU, sigmoid or no activation; cross-entropy
or the regression MSE; no penalty), as `chainrule.compile_step` does for one network:
on 40 tabs of the default network it is several times faster than the graph (the
bookkeeping of ~30 graph nodes is most of a step that small). Both are tested against
one-by-one eager training (tests/playground/test_playground_batched.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import chainrule
from chainrule import nn
from chainrule.ops.elementwise import stable_sigmoid
from chainrule.playground import network
from chainrule.playground.messages import PlaygroundConfig

_WRITTEN_OUT = {nn.Tanh: "tanh", nn.ReLU: "relu", nn.Sigmoid: "sigmoid"}


def written_out(modules: list[nn.Module], config: PlaygroundConfig, penalised: bool) -> bool:
    """Whether `numpy_grads` covers this network and loss."""
    if penalised or not (config.problem == "regression" or config.loss == "cross_entropy"):
        return False
    return all(isinstance(m, nn.Linear) or type(m) in _WRITTEN_OUT for m in modules)


def chainrule_grads(
    modules: list[nn.Module],
    params: list[np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    config: PlaygroundConfig,
    rates: np.ndarray | None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per-session losses (S,) and the gradients of `params` (W_1, b_1, ...), by chainrule."""
    n, batch = x.shape[:2]
    tensors = [chainrule.tensor(v, requires_grad=True) for v in params]
    h = chainrule.tensor(x)
    li = 0
    for module in modules:
        if isinstance(module, nn.Linear):
            w, b = tensors[2 * li], tensors[2 * li + 1]
            h = h @ w.transpose(1, 2) + b.reshape(n, 1, -1)
            li += 1
        else:
            h = module(h)  # the session's activation layer: elementwise, any shape
    points = network.data_loss(h.reshape(n * batch, -1), y.reshape(-1), config, reduction="none")
    per_session = points.reshape(n, batch).mean(1)
    total = per_session
    if rates is not None:
        penalty: Any = 0.0
        for w in tensors[0::2]:
            l1 = config.regularization == "l1"
            penalty = penalty + (w.abs().sum((1, 2)) if l1 else 0.5 * (w * w).sum((1, 2)))
        total = total + penalty * chainrule.tensor(rates)
    total.sum().backward()
    grads = []
    for t in tensors:
        assert t.grad is not None
        grads.append(t.grad._data)
    return per_session.detach().numpy().astype(np.float64), grads


def numpy_grads(
    modules: list[nn.Module],
    params: list[np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    config: PlaygroundConfig,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The same as `chainrule_grads` (no penalty), written out as NumPy calls."""
    inputs: list[np.ndarray] = []  # per layer: its input h, its output a and f's name
    outputs: list[np.ndarray] = []
    kinds: list[str] = []
    h = x
    for i, module in enumerate(modules):
        if not isinstance(module, nn.Linear):
            continue
        w, b = params[2 * len(kinds)], params[2 * len(kinds) + 1]
        z = np.matmul(h, w.transpose(0, 2, 1))
        z += b[:, None, :]
        following = modules[i + 1] if i + 1 < len(modules) else None
        kind = _WRITTEN_OUT.get(type(following), "linear")
        if kind == "tanh":
            a = np.tanh(z)
        elif kind == "relu":
            a = np.maximum(z, 0)
        elif kind == "sigmoid":
            a = stable_sigmoid(z)
        else:
            a = z
        inputs.append(h)
        outputs.append(a)
        kinds.append(kind)
        h = a
    losses, grad = _loss_and_grad(h, y, config)
    grads: list[np.ndarray] = [np.empty(0)] * (2 * len(kinds))
    for layer in range(len(kinds) - 1, -1, -1):
        a, kind = outputs[layer], kinds[layer]
        if kind == "tanh":  # ∂L/∂z = ∂L/∂a · f'(z), f' from the saved output
            grad = grad * (1 - a * a)
        elif kind == "relu":
            grad = grad * (a > 0)
        elif kind == "sigmoid":
            grad = grad * a * (1 - a)
        grads[2 * layer] = np.matmul(grad.transpose(0, 2, 1), inputs[layer])  # (S, out, in)
        grads[2 * layer + 1] = grad.sum(axis=1)
        if layer:
            grad = np.matmul(grad, params[2 * layer])  # ∂L/∂h_{l-1} = ∂L/∂z · W
    return losses, grads


def _loss_and_grad(
    out: np.ndarray, y: np.ndarray, config: PlaygroundConfig
) -> tuple[Any, np.ndarray]:
    """Per-session mean loss (S,) and ∂L/∂out (S, B, k) for the written-out losses."""
    batch = out.shape[1]
    if config.problem == "regression":  # (o - y)², ∂/∂o = 2(o - y)
        diff = out[..., 0] - y.astype(out.dtype)
        losses = np.mean(diff * diff, axis=1, dtype=np.float64)
        return losses, (2 * diff / batch)[..., None].astype(out.dtype)
    if out.shape[2] == 1:  # binary: BCE on the logit, ∂/∂z = σ(z) - y
        z, target = out[..., 0], y.astype(out.dtype)
        points = (1 - target) * z + np.log1p(np.exp(-np.abs(z))) + np.maximum(-z, 0)
        losses = np.mean(points, axis=1, dtype=np.float64)
        return losses, ((stable_sigmoid(z) - target) / batch)[..., None].astype(out.dtype)
    # several classes: cross-entropy on the logits, ∂/∂z = softmax(z) - onehot(y)
    shifted = out - out.max(axis=2, keepdims=True)
    log_sum = np.log(np.exp(shifted).sum(axis=2, keepdims=True))
    log_p = shifted - log_sum
    labels = y.astype(np.int64)
    picked = np.take_along_axis(log_p, labels[..., None], axis=2)[..., 0]
    losses = -np.mean(picked, axis=1, dtype=np.float64)
    grad = np.exp(log_p)
    np.put_along_axis(
        grad, labels[..., None], np.take_along_axis(grad, labels[..., None], 2) - 1, 2
    )
    return losses, (grad / batch).astype(out.dtype)
