"""One session's training: mini-batch steps (eager or captured), epochs, and divergence.

`train(session, budget, max_steps)` walks the session's shuffled training order in
mini-batches: each step is `chainrule.compile_step`'s captured program (the same numbers as
the eager step, without building a graph) unless a weight penalty is on, which a captured
step does not record; then it is the eager step, loss + penalty, backward, optimizer step.

A step that gives NaN or inf is undone (the weights of before it come back, the optimizer
starts afresh) and raises `Diverged`; `diverged(session, error)` then pauses the session,
makes sure the weights on screen have a finite loss, and writes the banner's message.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np

import chainrule
from chainrule import nn
from chainrule.playground import network

if TYPE_CHECKING:
    from chainrule.playground.session import Session

FRAME_BUDGET_S = 0.035  # at most this long training per call, and at most one epoch
LEARNING_RATES = (1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0)


def suggest_learning_rate(lr: float) -> float:
    """A tenth of `lr`, rounded down to one of the Playground's learning rates."""
    smaller = [r for r in LEARNING_RATES if r <= lr / 10 * 1.0001]
    return smaller[-1] if smaller else LEARNING_RATES[0]


class Diverged(Exception):
    """A step produced NaN or inf: `layer` (1-based, or None) is where it showed first."""

    def __init__(self, layer: int | None, what: str) -> None:
        super().__init__(what)
        self.layer, self.what = layer, what


def train_xy(session: Session) -> tuple[np.ndarray, np.ndarray]:
    """The training points' features and labels."""
    n = session.data.n_train
    return session.x_all[:n], session.data.labels[:n]


def next_batch(session: Session) -> np.ndarray:
    """The indices of the session's next mini-batch (a new shuffle at each epoch's start)."""
    n_train = session.data.n_train
    if session.cursor >= n_train:
        session.cursor = 0
        session.order = session.rng.permutation(n_train)
    return session.order[session.cursor : session.cursor + session.batch_size]


def advance(session: Session, taken: int) -> bool:
    """Count a step of `taken` points; True when it ended an epoch."""
    session.grad_steps += 1
    session.steps += 1
    session.cursor += taken
    if session.cursor >= session.data.n_train:
        session.epoch += 1
        return True
    return False


def train(session: Session, budget: float = FRAME_BUDGET_S, max_steps: int | None = None) -> bool:
    """Train until the end of the current epoch, `budget` seconds or `max_steps` steps,
    whichever comes first; returns True when an epoch ended. The gradient norms of the
    steps add up until the next `take_grad_norms`."""
    started = time.perf_counter()
    taken = 0
    layers = len(network.linear_layers(session.model))
    if len(session.grad_sums) != layers:
        session.grad_sums, session.grad_steps = np.zeros(layers), 0
    fast = captured_step(session)
    while session.data.n_train > 0:
        idx = next_batch(session)
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                norms = eager_step(session, idx) if fast is None else replay(session, fast, idx)
        except Diverged as error:
            diverged(session, error)
            return False
        session.grad_sums += norms
        taken += 1
        if advance(session, len(idx)):
            return True
        if max_steps is not None and taken >= max_steps:
            break
        if time.perf_counter() - started > budget:
            break
    return False


def take_grad_norms(session: Session) -> np.ndarray | None:
    """The mean gradient norm per layer over the steps since the last call (None: none)."""
    if not session.grad_steps:
        return None
    norms = session.grad_sums / session.grad_steps
    session.grad_sums, session.grad_steps = np.zeros(len(norms)), 0
    return norms


def eager_step(session: Session, idx: np.ndarray) -> np.ndarray:
    """One step with a graph: data loss (+ penalty), backward, optimizer step; returns the
    layers' gradient norms."""
    model, config = session.model, session.config
    x, y = train_xy(session)
    out = model(chainrule.tensor(x[idx]))
    loss = network.data_loss(out, y[idx], config)
    extra = network.penalty(model, config)
    total = loss if extra is None else loss + extra
    session.optimizer.zero_grad()
    total.backward()
    layers = network.linear_layers(model)
    norms = np.array([grad_norm(layer) for layer in layers])
    if not (math.isfinite(loss.item()) and np.all(np.isfinite(norms))):
        raise Diverged(*where_it_blew_up(session, x[idx], norms))
    before = [p._data.copy() for p in model.parameters()]
    session.optimizer.step()
    for i, layer in enumerate(layers):
        if not (np.all(np.isfinite(layer.weight._data)) and _finite(layer.bias)):
            for param, saved in zip(model.parameters(), before, strict=True):
                param._data[...] = saved
            session.optimizer = network.build_optimizer(model, config)
            raise Diverged(i + 1, "its weights became infinite after the update")
    return norms


def captured_step(session: Session) -> Any:
    """`chainrule.compile_step` of the session's model, loss and optimizer (remade when one
    of them is), or None where it does not apply: a weight penalty is not part of its loss
    (and `session.use_captured` False asks for the eager step)."""
    config = session.config
    if not session.use_captured or (config.regularization != "none" and config.reg_rate > 0):
        return None
    key = (id(session.model), id(session.optimizer))
    if session.captured is None or session.captured[0] != key:
        step = chainrule.compile_step(
            session.model,
            lambda output, target: network.data_loss(output, target, session.config),
            session.optimizer,
        )
        params = list(session.model.parameters())
        saved = [p.detach().numpy().copy() for p in params]
        session.captured = (key, step, params, saved)
    return session.captured


def replay(session: Session, fast: Any, idx: np.ndarray) -> np.ndarray:
    """One step through the captured program; returns the layers' gradient norms. On NaN
    or inf the weights of before the step come back and the optimizer starts afresh (its
    state saw the bad gradient)."""
    _, step, params, saved = fast
    arrays = [p.detach().numpy() for p in params]
    for buffer, array in zip(saved, arrays, strict=True):
        np.copyto(buffer, array)
    x, y = train_xy(session)
    loss = float(step(x[idx], y[idx]).item())
    layers = network.linear_layers(session.model)
    norms = np.array([grad_norm(layer) for layer in layers])
    healthy = math.isfinite(loss) and bool(np.all(np.isfinite(norms)))
    if healthy and all(math.isfinite(float(np.add.reduce(a, axis=None))) for a in arrays):
        return norms
    for buffer, array in zip(saved, arrays, strict=True):
        np.copyto(array, buffer)
    session.optimizer = network.build_optimizer(session.model, session.config)
    if not healthy:
        raise Diverged(*where_it_blew_up(session, x[idx], norms))
    for i, layer in enumerate(layers):
        if not (np.all(np.isfinite(layer.weight.detach().numpy())) and _finite(layer.bias)):
            raise Diverged(i + 1, "its weights became infinite after the update")
    raise Diverged(None, "its weights became infinite after the update")


def where_it_blew_up(session: Session, x: np.ndarray, norms: np.ndarray) -> tuple[int | None, str]:
    """The first layer (1-based) whose outputs or gradient are not finite, and what."""
    hidden, out = network.hidden_forward(session.model, x)
    for i, values in enumerate([*hidden, out]):
        if not np.all(np.isfinite(values)):
            return i + 1, "its outputs became NaN or infinite in the forward pass"
    for i, value in enumerate(norms):
        if not math.isfinite(value):
            return i + 1, "its gradient became NaN or infinite"
    return None, "the loss became NaN or infinite"


def finite_loss(session: Session) -> bool:
    """Whether the current weights give a finite loss on all the training points."""
    x, y = train_xy(session)
    _, out = network.hidden_forward(session.model, x)
    with chainrule.no_grad():
        loss = network.data_loss(chainrule.tensor(out), y, session.config)
        return math.isfinite(loss.item())


def diverged(session: Session, error: Diverged) -> None:
    """Pause, make sure the weights have a finite loss, and describe what happened."""
    session.playing = False
    lr = session.config.learning_rate
    where = f"layer {error.layer}" if error.layer else "the loss"
    suggestion = suggest_learning_rate(lr)
    restored = "those before that step"
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        finite = finite_loss(session)
    if not finite and session.healthy is not None:
        # the weights before the bad step already overflow on the whole data: go back
        # to the last ones whose loss was finite, so the page never shows loss NaN
        step, arrays = session.healthy
        for param, saved in zip(session.model.parameters(), arrays, strict=True):
            np.copyto(param.detach().numpy(), saved)
        session.optimizer = network.build_optimizer(session.model, session.config)
        restored = f"those of step {step}, the last with a finite loss"
    session.divergence = {
        "layer": error.layer,
        "step": session.steps + 1,
        "learning_rate": lr,
        "suggested_lr": suggestion,
        "message": (
            f"Training diverged at step {session.steps + 1}: {where} blew up ({error.what}). "
            f"Training is paused and the weights are {restored}. "
            f"The learning rate {lr:g} is too large for this network: try {suggestion:g}."
        ),
    }


def grad_norm(layer: nn.Linear) -> float:
    """‖(∂L/∂W, ∂L/∂b)‖₂ of one layer (a display figure: float32 dot products suffice)."""
    total = 0.0
    for param in (layer.weight, layer.bias):
        if param is not None and param.grad is not None:
            g = param.grad._data.ravel()
            total += float(np.dot(g, g))
    return math.sqrt(total) if math.isfinite(total) else math.inf


def _finite(param: Any) -> bool:
    return param is None or bool(np.all(np.isfinite(param._data)))
