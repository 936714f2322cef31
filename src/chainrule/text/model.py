"""The character-level MLP language model of Bengio et al. (2003) and its training (storage:
`chainrule.text.storage`).

Given the previous `context` characters of an item (index 0, the boundary, before the
start), `CharMLP` predicts the next one::

    (N, context) indices -> Embedding -> (N, context, embedding) -> reshape (N, context·embedding)
        -> Linear (+ BatchNorm1d) -> tanh -> Linear -> (N, vocab_size) logits

Bengio, Ducharme, Vincent, Jauvin, "A Neural Probabilistic Language Model", JMLR 3 (2003).
"""

from __future__ import annotations

import itertools
import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import numpy as np

from chainrule import nn, optim
from chainrule.autograd import no_grad
from chainrule.capture import compile_step
from chainrule.nn import functional as F
from chainrule.random import get_rng_state, manual_seed, set_rng_state
from chainrule.tensor import Tensor
from chainrule.text.vocab import BOUNDARY_INDEX, Vocabulary

__all__ = [
    "CharMLP",
    "build_examples",
    "evaluate_loss",
    "learning_rate_at",
    "split_items",
    "train_language_model",
]


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class CharMLP(nn.Module):
    """A window of the previous `context` characters -> a distribution over the next one.

    Args:
        vocab_size: number of symbols, the boundary included (``len(vocab)``).
        context: how many previous characters the model sees (k).
        embedding: size of each character's learned vector.
        hidden: number of tanh units.
        batch_norm: put a BatchNorm1d between the hidden Linear (then without bias) and tanh.

    Shape: integer indices (N, context) -> logits (N, vocab_size).
    """

    # forward runs the same ops at every call: compile_step may record and replay it
    # (BatchNorm1d, with batch_norm=True, is refused there: its statistics change)
    replayable = True

    def __init__(
        self,
        vocab_size: int,
        context: int = 3,
        embedding: int = 10,
        hidden: int = 200,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        self.vocab_size = _positive_int("vocab_size", vocab_size)
        if self.vocab_size < 2:
            raise ValueError(f"vocab_size must be at least 2, got {vocab_size}")
        self.context = _positive_int("context", context)
        self.embedding_dim = _positive_int("embedding", embedding)
        self.hidden_size = _positive_int("hidden", hidden)
        self.batch_norm = bool(batch_norm)
        self.embed = nn.Embedding(self.vocab_size, self.embedding_dim)
        self.fc = nn.Linear(
            self.context * self.embedding_dim, self.hidden_size, bias=not batch_norm
        )
        self.norm = nn.BatchNorm1d(self.hidden_size) if batch_norm else nn.Identity()
        self.out = nn.Linear(self.hidden_size, self.vocab_size)

    def forward(self, contexts: Any) -> Tensor:
        x = self.embed(contexts)  # (N, k, e)
        x = x.reshape(x.shape[0], self.context * self.embedding_dim)  # concatenate the window
        h = self.norm(self.fc(x)).tanh()
        return self.out(h)

    def config(self) -> dict[str, Any]:
        """The constructor's arguments, as JSON data: ``CharMLP(**model.config())``."""
        return {
            "vocab_size": self.vocab_size,
            "context": self.context,
            "embedding": self.embedding_dim,
            "hidden": self.hidden_size,
            "batch_norm": self.batch_norm,
        }

    def extra_repr(self) -> str:
        return ", ".join(f"{key}={value}" for key, value in self.config().items())


# ====================================================================== data


def build_examples(
    items: Sequence[str], vocab: Vocabulary, context: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every (previous `context` symbols, next symbol) pair of every item, vectorised.

    Each item of length L gives L + 1 examples: its characters, then the boundary (end).
    The window before the first character is all boundaries. "emma" with context 3::

        ... -> e,  ..e -> m,  .em -> m,  emm -> a,  mma -> .

    Returns X (N, context) and Y (N,), int64.
    """
    context = _positive_int("context", context)
    encoded = [vocab.encode(item) for item in items]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    if not len(lengths):
        return np.zeros((0, context), np.int64), np.zeros(0, np.int64)
    ids = np.fromiter(itertools.chain.from_iterable(encoded), np.int64, count=int(lengths.sum()))
    # one stream: per item, `context` boundaries, its characters, one boundary (the end)
    segments = context + lengths + 1
    starts = np.cumsum(segments) - segments
    stream = np.full(int(segments.sum()), BOUNDARY_INDEX, np.int64)
    first_char = np.repeat(starts + context, lengths)
    within = np.arange(len(ids)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    stream[first_char + within] = ids
    # the targets are each item's characters and its end: stream[start + context + j], j <= L
    targets = lengths + 1
    within = np.arange(int(targets.sum())) - np.repeat(np.cumsum(targets) - targets, targets)
    target_at = np.repeat(starts + context, targets) + within
    windows = np.lib.stride_tricks.sliding_window_view(stream, context + 1)[target_at - context]
    return np.ascontiguousarray(windows[:, :context]), windows[:, context].copy()


def split_items(
    items: Sequence[str], val_fraction: float = 0.1, seed: int = 0
) -> tuple[list[str], list[str]]:
    """A seeded random split of the items (not of the characters) into train and validation.

    Splitting by item keeps every window of a validation item out of training. The
    validation set gets round(val_fraction · n) items, but training keeps at least one.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    order = np.random.default_rng(seed).permutation(len(items))
    n_val = min(round(val_fraction * len(items)), len(items) - 1)
    n_val = max(n_val, 0)
    return [items[i] for i in order[n_val:]], [items[i] for i in order[:n_val]]


def learning_rate_at(step: int, steps: int, lr: float) -> float:
    """The schedule: `lr` for the first 75% of the steps, then lr / 10 (step counts from 0)."""
    return lr if step < math.ceil(0.75 * steps) else lr / 10


def evaluate_loss(model: nn.Module, X: np.ndarray, Y: np.ndarray, batch: int = 8192) -> float:
    """Mean cross-entropy in nats per character (the end boundary counts as one), in eval
    mode and without a graph; nan when there are no examples."""
    if len(Y) == 0:
        return float("nan")
    was_training = model.training
    model.eval()
    total = 0.0
    try:
        with no_grad():
            for begin in range(0, len(Y), batch):
                x, y = X[begin : begin + batch], Y[begin : begin + batch]
                loss = F.cross_entropy(model(x), y, reduction="sum")
                total += float(loss.item())
    finally:
        model.train(was_training)
    return total / len(Y)


# ====================================================================== training


class _Progress:
    """A tqdm bar with the loss on a terminal; else a line every tenth of the run."""

    def __init__(self, steps: int, enabled: bool, stream: TextIO | None) -> None:
        self.steps = steps
        self.stream = stream or sys.stderr
        self.enabled = enabled and steps > 0
        self.bar: Any = None
        self.every = max(1, steps // 10)
        self.start = time.perf_counter()
        if not self.enabled:
            return
        isatty = getattr(self.stream, "isatty", None)
        if isatty is not None and isatty():
            try:
                from tqdm import tqdm  # optional extra chainrule[progress]
            except ImportError:
                return
            self.bar = tqdm(
                total=steps, desc="training", unit="step", file=self.stream, dynamic_ncols=True
            )
            self.every = max(1, min(100, steps // 100))

    def update(self, step: int, loss: float, lr: float) -> None:
        """Called after step `step` (from 1) with a running average of the loss."""
        if not self.enabled or (step % self.every and step != self.steps):
            return
        if self.bar is not None:
            self.bar.set_postfix_str(f"loss {loss:.4f} lr {lr:g}", refresh=False)
            self.bar.update(step - self.bar.n)
        else:
            elapsed = time.perf_counter() - self.start
            print(
                f"step {step}/{self.steps} - loss {loss:.4f} - lr {lr:g} - {elapsed:.1f}s",
                file=self.stream,
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def make_step(
    model: nn.Module, optimizer: optim.Optimizer
) -> Callable[[np.ndarray, np.ndarray, float], float]:
    """One training step on a minibatch at a learning rate; returns the batch's loss.

    Without batch norm the step is `chainrule.compile_step`'s (the same numbers as the
    eager step below, bit for bit, at 2-3x its speed); with it, eager."""
    groups = optimizer.param_groups
    if isinstance(model, CharMLP) and not model.batch_norm:
        captured = compile_step(model, nn.CrossEntropyLoss(), optimizer)

        def captured_step(x: np.ndarray, y: np.ndarray, lr: float) -> float:
            for group in groups:
                group["lr"] = lr
            return float(captured(x, y).item())

        return captured_step

    def step(x: np.ndarray, y: np.ndarray, lr: float) -> float:
        for group in groups:
            group["lr"] = lr
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return float(loss.item())

    return step


def train_language_model(
    corpus_items: Sequence[str],
    context: int = 3,
    embedding: int = 10,
    hidden: int = 200,
    steps: int = 20_000,
    batch_size: int = 64,
    lr: float = 0.1,
    seed: int = 0,
    progress: bool = True,
    *,
    batch_norm: bool = False,
    val_fraction: float = 0.1,
    stream: TextIO | None = None,
) -> tuple[CharMLP, Vocabulary, dict[str, Any]]:
    """Train a `CharMLP` on a corpus (one string per item) to predict each next character.

    The items are split (by item, seeded) into 90% training and 10% validation; every
    (context, next character) pair of the training items is an example. Each of `steps`
    steps draws `batch_size` examples at random (a NumPy generator seeded with `seed`) and takes a
    plain SGD step on their mean cross-entropy. Learning-rate schedule: `lr` for the first
    75% of the steps, then lr / 10. The initial weights come from `seed` too (the default
    random generator is left as it was), so a seed reproduces a run exactly.

    `progress` shows a tqdm bar with the running loss when `stream` (default stderr) is a
    terminal and tqdm is installed, else a line every tenth of the run.

    Returns (model in eval mode, vocabulary, history); history holds ``loss`` (the
    minibatch loss of every step), ``train_loss`` and ``val_loss`` (mean cross-entropy in
    nats per character, the end of an item counting as one character; val_loss is nan when
    the corpus is too small to hold items out), ``steps``, ``seconds``,
    ``examples_per_second`` and the split sizes.

    Raises ValueError for an empty corpus, fewer than 2 distinct characters or bad
    hyperparameters.
    """
    items = [item for item in corpus_items if item]
    vocab = Vocabulary.from_items(items)
    steps = int(steps)
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    batch_size = _positive_int("batch_size", batch_size)
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    train_items, val_items = split_items(items, val_fraction, seed)
    X, Y = build_examples(train_items, vocab, context)
    Xv, Yv = build_examples(val_items, vocab, context)

    saved_rng = get_rng_state()
    try:
        manual_seed(seed)
        model = CharMLP(len(vocab), context, embedding, hidden, batch_norm)
    finally:
        set_rng_state(saved_rng)
    if batch_norm and batch_size < 2:
        raise ValueError("batch_norm needs batch_size >= 2")
    optimizer = optim.SGD(model.parameters(), lr=lr)
    train_step = make_step(model, optimizer)
    # the minibatches: a stream of its own from the same seed (not the one of the weights)
    batches = np.random.default_rng([1, seed & 0xFFFF_FFFF_FFFF_FFFF])

    losses: list[float] = []
    bar = _Progress(steps, progress, stream)
    running = float("nan")
    model.train()
    start = time.perf_counter()
    try:
        for step in range(steps):
            rate = learning_rate_at(step, steps, lr)
            rows = batches.integers(0, len(Y), batch_size)
            loss = train_step(X[rows], Y[rows], rate)
            losses.append(loss)
            running = loss if step == 0 else 0.98 * running + 0.02 * loss
            bar.update(step + 1, running, rate)
    finally:
        bar.close()
    seconds = time.perf_counter() - start
    model.eval()
    history: dict[str, Any] = {
        "loss": losses,
        "train_loss": evaluate_loss(model, X, Y),
        "val_loss": evaluate_loss(model, Xv, Yv),
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "lr_schedule": "lr for the first 75% of the steps, then lr/10",
        "seconds": seconds,
        "examples_per_second": steps * batch_size / seconds if seconds > 0 else float("nan"),
        "train_items": len(train_items),
        "val_items": len(val_items),
        "train_examples": len(Y),
        "val_examples": len(Yv),
        "max_item_length": max(map(len, items)),
    }
    return model, vocab, history
