"""Many sessions' training steps as one: the network of every session stacked on a new axis.

A class opens 40 tabs of the same default network. Trained one after another, each step
of each tab pays chainrule's per-op bookkeeping for a 10x4 @ 4x8 product; stacked, one
step of all 40 is one (40, 10, 4) @ (40, 4, 8) product, and the bookkeeping is paid once.
Sessions whose `group_key` is equal (same layer sizes and activations, loss, optimizer
kind, batch size and number of training points, dtype) train together; each keeps its own
weights, data, batches, learning rate, weight penalty rate and optimizer state.

One stacked step, for S sessions with batches x_s (B, in), targets y_s:

    h_0 = X (S, B, in);  z_l = h_{l-1} @ W_lᵀ + b_l  (W_l (S, out, in), b_l (S, 1, out))
    h_l = f_l(z_l);  L = Σ_s [ mean_b loss(h_s,b, y_s,b) + λ_s · penalty(W_s) ]

Because the sessions' terms share no weights, ∂L/∂W_s is exactly the gradient of session
s's own loss; the forward and backward are chainrule's, on the stacked tensors. The
update is the session's optimizer (SGD, SGD with momentum, Adam) written over the rows of
one (S, P) array of every session's parameters, with per-session learning rates and Adam
step counts; it does the same float operations in the same order as `chainrule.optim`,
so on the same gradients it gives the same bits. (Tested: stacked and one-by-one training
agree to 1e-12 in float64.)

The parameters and optimizer state are gathered from the sessions at the start of a turn
and written back at its end, so between turns every session's own model and optimizer are
the truth (requests, frames, the backprop view and checkpoints see nothing of this).
"""

from __future__ import annotations

import bisect
import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import optim
from chainrule.playground import network, stacked_grad, training
from chainrule.playground.training import Diverged

if TYPE_CHECKING:
    from chainrule.playground.session import Session


def group_key(session: Session) -> tuple[Any, ...] | None:
    """Sessions with equal keys can train together; None: this one trains alone."""
    return _cached(session)[0]


def _cached(session: Session) -> tuple[tuple[Any, ...] | None, list[Any]]:
    """The session's group key and parameter list, remade only when its model, optimizer,
    config or data is a new object (every turn asks, for every playing tab)."""
    cached = session.group_cache
    parts = (session.model, session.optimizer, session.config, session.data)
    if cached is None or any(a is not b for a, b in zip(cached[0], parts, strict=True)):
        cached = session.group_cache = (
            parts,
            _compute_key(session),
            list(session.model.parameters()),
        )
    return cached[1], cached[2]


def _compute_key(session: Session) -> tuple[Any, ...] | None:
    model, opt, config = session.model, session.optimizer, session.config
    rule = _update_rule(opt)
    params = list(model.parameters())
    expected = [p for layer in network.linear_layers(model) for p in (layer.weight, layer.bias)]
    if rule is None or len(params) != len(expected) or any(p is None for p in expected):
        return None
    if any(a is not b for a, b in zip(params, expected, strict=True)):
        return None
    if not all(p.requires_grad for p in params) or len({p.dtype for p in params}) != 1:
        return None
    if session.data.n_train == 0:  # nothing to train on (a few own points, all test)
        return None
    penalised = config.regularization != "none" and config.reg_rate > 0
    return (
        tuple(repr(m) for m in model),  # layer sizes, activations and their options
        rule,
        params[0].dtype,
        config.problem,
        config.loss,
        config.regularization if penalised else "none",
        session.batch_size,
        session.data.n_train,
        session.x_all.dtype,
    )


def _update_rule(opt: optim.Optimizer) -> tuple[Any, ...] | None:
    """The stacked update for this optimizer, or None when it has none (several groups,
    weight decay, maximize, amsgrad, nesterov, dampening, AdamW...)."""
    if len(opt.param_groups) != 1:
        return None
    g = opt.param_groups[0]
    if g.get("weight_decay") or g.get("maximize"):
        return None
    if type(opt) is optim.Adam:
        if g["amsgrad"] or g.get("decoupled_weight_decay"):
            return None
        steps = {int(s.get("step", 0)) for s in (opt.state.get(p, {}) for p in g["params"])}
        if len(steps) != 1:  # the layers' step counts differ (never in the playground)
            return None
        beta1, beta2 = g["betas"]
        return ("adam", float(beta1), float(beta2), float(g["eps"]))
    if type(opt) is optim.SGD:
        if g["nesterov"] or g["dampening"]:
            return None
        return ("sgd", float(g["momentum"]))
    return None


class Stack:
    """The parameters (and optimizer state) of S sessions as rows of (S, P) arrays, with
    each layer's W (S, out, in) and b (S, out) as views into them."""

    def __init__(self, sessions: list[Session]) -> None:
        self.sessions = sessions
        first = sessions[0]
        rule = _update_rule(first.optimizer)
        assert rule is not None
        self.rule: tuple[Any, ...] = rule
        params = list(first.model.parameters())
        self.shapes = [p.shape for p in params]
        sizes = [int(np.prod(s)) for s in self.shapes]
        self.offsets = np.cumsum([0, *sizes])
        dtype = params[0].dtype
        n, width = len(sessions), int(self.offsets[-1])
        self.params = np.empty((n, width), dtype)
        self.grads = np.zeros((n, width), dtype)
        self.saved = np.empty((n, width), dtype)
        moments = {"adam": ("exp_avg", "exp_avg_sq"), "sgd": ("momentum_buffer",)}[self.rule[0]]
        if self.rule[0] == "sgd" and not self.rule[1]:
            moments = ()
        self.state = {name: np.zeros((n, width), dtype) for name in moments}
        self.steps = np.zeros(n, np.int64)
        self.members = [_cached(s)[1] for s in sessions]
        for row, session in enumerate(sessions):
            members, states = self.members[row], session.optimizer.state
            np.concatenate([p._data.reshape(-1) for p in members], out=self.params[row])
            per_param = [states.get(p, {}) for p in members]
            for name, array in self.state.items():
                saved = [state.get(name) for state in per_param]
                if all(v is not None for v in saved):  # one copy a row (else: zeros, fresh)
                    flat = [v.reshape(-1) for v in saved if v is not None]
                    np.concatenate(flat, out=array[row])
                else:
                    for i, v in enumerate(saved):
                        if v is not None:
                            array[row, self.offsets[i] : self.offsets[i + 1]] = v.reshape(-1)
            self.steps[row] = int(per_param[0].get("step", 0))
        lrs = [float(s.optimizer.param_groups[0]["lr"]) for s in sessions]
        self.lr = np.array(lrs, np.float64)
        rates = [s.config.reg_rate for s in sessions]
        self.rates = np.array(rates, dtype)
        self.layers = len(sizes) // 2
        starts = self.offsets[:-1]
        self.layer_starts = starts[::2]  # each layer's W then b: one norm over both

    def views(self, array: np.ndarray, lo: int, hi: int) -> list[np.ndarray]:
        """Rows lo:hi of `array` as per-parameter views (S, *shape)."""
        return [
            array[lo:hi, self.offsets[i] : self.offsets[i + 1]].reshape(hi - lo, *shape)
            for i, shape in enumerate(self.shapes)
        ]

    def write_back(self) -> None:
        """Every session's parameters and optimizer state from its row."""
        adam = self.rule[0] == "adam"
        for row, session in enumerate(self.sessions):
            states = session.optimizer.state
            step = int(self.steps[row])
            for i, p in enumerate(self.members[row]):
                a, b = self.offsets[i], self.offsets[i + 1]
                np.copyto(p._data, self.params[row, a:b].reshape(p.shape))
                if adam or self.state:
                    state = states.setdefault(p, {})
                    for name, array in self.state.items():
                        values = array[row, a:b].reshape(p.shape)
                        kept = state.get(name)
                        if kept is not None and kept.shape == p.shape:
                            np.copyto(kept, values)
                        else:
                            state[name] = values.copy()
                    if adam:
                        state["step"] = step

    def infinite_layer(self, row: int) -> int | None:
        """The first layer (1-based) of a row whose weights or bias are not finite."""
        for layer in range(self.layers):
            a, b = self.offsets[2 * layer], self.offsets[2 * layer + 2]
            if not np.all(np.isfinite(self.params[row, a:b])):
                return layer + 1
        return None

    # ------------------------------------------------------------------ one step
    def step(self, lo: int, hi: int, x: np.ndarray, y: np.ndarray) -> tuple[Any, Any, Any]:
        """One training step of sessions lo:hi on batches x (S, B, in), y (S, B).

        Returns each session's loss (S,), its layers' gradient norms (S, layers) and
        whether its weights are finite after the update (S,)."""
        config = self.sessions[lo].config
        modules = list(self.sessions[lo].model)
        params = self.views(self.params, lo, hi)
        penalised = config.regularization != "none" and float(self.rates[lo:hi].max()) > 0
        if stacked_grad.written_out(modules, config, penalised):
            losses, arrays = stacked_grad.numpy_grads(modules, params, x, y, config)
        else:
            rates = self.rates[lo:hi] if penalised else None
            losses, arrays = stacked_grad.chainrule_grads(modules, params, x, y, config, rates)
        grads = self.grads[lo:hi]
        for i, array in enumerate(arrays):
            grads[:, self.offsets[i] : self.offsets[i + 1]] = array.reshape(hi - lo, -1)
        squares = np.square(grads, dtype=np.float64)
        norms = np.sqrt(np.add.reduceat(squares, self.layer_starts, axis=1))
        np.copyto(self.saved[lo:hi], self.params[lo:hi])
        self._update(lo, hi)
        finite = np.isfinite(self.params[lo:hi]).all(axis=1)
        return losses, norms, finite

    def _update(self, lo: int, hi: int) -> None:
        """θ ← the optimizer's rule, row by row with each session's own lr (and step)."""
        param, g = self.params[lo:hi], self.grads[lo:hi]
        dtype = param.dtype
        lr = self.lr[lo:hi]
        kind = self.rule[0]
        if kind == "sgd":
            lrs = lr.astype(dtype)[:, None]  # as a Python float meets a float32 array
            if not self.rule[1]:
                param -= lrs * g  # θ ← θ - γ·g
                return
            buf = self.state["momentum_buffer"][lo:hi]  # zeros before the first step
            buf *= self.rule[1]  # b ← μ·b + g (b_1 = g_1: μ·0 + g = g)
            buf += g
            param -= np.multiply(buf, lrs)  # θ ← θ - γ·b
            return
        _, beta1, beta2, eps = self.rule
        m, v = self.state["exp_avg"][lo:hi], self.state["exp_avg_sq"][lo:hi]
        self.steps[lo:hi] += 1
        steps = self.steps[lo:hi].tolist()
        # per session, as chainrule.optim.adam_update computes these scalars
        root = np.array([math.sqrt(1 - beta2**t) for t in steps], dtype)[:, None]
        scale = np.array(
            [r / (1 - beta1**t) for r, t in zip(lr.tolist(), steps, strict=True)], dtype
        )[:, None]
        s = np.empty_like(param)
        m *= beta1  # m ← β1·m + (1 - β1)·g
        np.multiply(g, 1 - beta1, out=s)
        m += s
        v *= beta2  # v ← β2·v + (1 - β2)·g²
        np.square(g, out=s)
        s *= 1 - beta2
        v += s
        np.sqrt(v, out=s)  # θ ← θ - γ/(1 - β1^t) · m / (√v / √(1 - β2^t) + ε)
        s /= root
        s += eps
        np.divide(m, s, out=s)
        s *= scale
        param -= s


def train_together(
    sessions: list[Session], budget: float = math.inf, max_steps: int | None = None
) -> list[bool]:
    """Train sessions of one `group_key` until each one's epoch ends (or `max_steps`
    steps, or `budget` seconds): the stacked equivalent of `training.train` on each.
    Returns, per session, whether its epoch ended. A session whose step gives NaN or inf
    is handled as `training.train` does (undone, paused, the banner) and the turn ends."""
    started = time.perf_counter()
    n, batch = sessions[0].data.n_train, sessions[0].batch_size
    plans = []
    for session in sessions:
        if session.cursor >= n:  # a new epoch: a new shuffle (as training.next_batch)
            session.cursor = 0
            session.order = session.rng.permutation(n)
        left = n - session.cursor
        steps = -(-left // batch)
        last = left - (steps - 1) * batch
        if max_steps is not None and steps > max_steps:
            steps, last = max_steps, batch
        plans.append((steps, last, session))
        layers = len(network.linear_layers(session.model))
        if len(session.grad_sums) != layers:
            session.grad_sums, session.grad_steps = np.zeros(layers), 0
    # the longest first: at each step the sessions still training are a prefix of the
    # stack, in runs of equal batch length, so every slice of the arrays is a view
    plans.sort(key=lambda p: (-p[0], -p[1]))
    order = [p[2] for p in plans]
    stack = Stack(order)
    # each session's training points in this epoch's order: batch k is a slice
    xs = np.stack([s.x_all[s.order] for s in order])
    ys = np.stack([s.data.labels[s.order] for s in order])
    cursors = np.array([s.cursor for s in order])
    taken = np.zeros(len(order), np.int64)
    sums = np.zeros((len(order), stack.layers))
    failures: list[tuple[int, np.ndarray, np.ndarray, bool]] = []
    negated = [-p[0] for p in plans]  # ascending: how many still train at step k, by bisect
    for k in range(-negated[0] if plans else 0):
        active = bisect.bisect_left(negated, -k)
        lengths = [p[1] if k == p[0] - 1 else batch for p in plans[:active]]
        lo = 0
        while lo < active:
            hi = lo
            while hi < active and lengths[hi] == lengths[lo]:
                hi += 1
            size, c = lengths[lo], int(cursors[lo])
            if np.all(cursors[lo:hi] == c):  # in step (the usual case): views
                x, y = xs[lo:hi, c : c + size], ys[lo:hi, c : c + size]
            else:
                x = np.stack([xs[r, cursors[r] : cursors[r] + size] for r in range(lo, hi)])
                y = np.stack([ys[r, cursors[r] : cursors[r] + size] for r in range(lo, hi)])
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                losses, norms, finite = stack.step(lo, hi, x, y)
                healthy = np.isfinite(losses) & np.isfinite(norms).all(axis=1)
            good = healthy & finite
            sums[lo:hi][good] += norms[good]
            cursors[lo:hi][good] += size
            taken[lo:hi][good] += 1
            for i in np.flatnonzero(~good).tolist():
                row = lo + i
                idx = order[row].order[cursors[row] : cursors[row] + size]
                failures.append((row, idx, norms[i], bool(healthy[i])))
            lo = hi
        if failures or time.perf_counter() - started > budget:
            break
    bad_layers = [stack.infinite_layer(row) for row, *_ in failures]
    for row, *_ in failures:  # the weights of before the bad step come back
        np.copyto(stack.params[row], stack.saved[row])
    stack.write_back()
    ended = {}
    for row, session in enumerate(order):
        steps = int(taken[row])
        session.steps += steps
        session.grad_steps += steps
        session.grad_sums += sums[row]
        session.cursor = int(cursors[row])
        ended[id(session)] = session.cursor >= n
        if ended[id(session)]:
            session.epoch += 1
    for (row, idx, norms_row, healthy), layer in zip(failures, bad_layers, strict=True):
        # as in `training.replay`: the optimizer starts afresh (its state saw the bad
        # gradient), then the divergence banner
        session = order[row]
        session.optimizer = network.build_optimizer(session.model, session.config)
        if not healthy:
            x_train, _ = training.train_xy(session)
            error = Diverged(*training.where_it_blew_up(session, x_train[idx], norms_row))
        else:
            error = Diverged(layer, "its weights became infinite after the update")
        training.diverged(session, error)
    return [ended[id(s)] for s in sessions]
