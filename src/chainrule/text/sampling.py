"""Drawing new items from a trained character model, many at once.

All `n` samples advance together: each step is one forward pass over the windows of the
samples still running, then one draw per sample from its distribution over the next symbol.
A sample ends when it draws the boundary (or reaches `max_length`).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

import numpy as np

from chainrule.autograd import no_grad
from chainrule.text.model import CharMLP
from chainrule.text.vocab import BOUNDARY_INDEX, Vocabulary

__all__ = ["check_sampling_arguments", "next_symbol_probabilities", "sample"]

_MAX_DRAWS_PER_ROUND = 20_000


def check_sampling_arguments(
    n: Any, temperature: Any, top_k: Any = None, max_length: Any = 30
) -> None:
    """ValueError (one line) unless n >= 0, temperature > 0, top_k >= 1 or None and
    max_length >= 1 (the CLI checks them before training)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be an integer >= 0, got {n!r}")
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, (int, float, np.floating))
        or not math.isfinite(temperature)
        or temperature <= 0
    ):
        raise ValueError(
            f"temperature must be a number > 0, got {temperature!r} (use a small value such "
            "as 1e-6 for the most likely characters)"
        )
    if top_k is not None and (
        isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1
    ):
        raise ValueError(f"top_k must be an integer >= 1 or None, got {top_k!r}")
    if (
        isinstance(max_length, bool)
        or not isinstance(max_length, (int, np.integer))
        or (max_length < 1)
    ):
        raise ValueError(f"max_length must be an integer >= 1, got {max_length!r}")


def next_symbol_probabilities(
    logits: np.ndarray, temperature: float = 1.0, top_k: int | None = None
) -> np.ndarray:
    """softmax(logits / temperature) per row (float64), keeping only the `top_k` largest
    logits of each row (ties at the k-th value are kept)."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    classes = z.shape[-1]
    if top_k is not None and top_k < classes:
        kth = np.partition(z, classes - top_k, axis=-1)[..., classes - top_k, None]
        z = np.where(z < kth, -np.inf, z)
    z -= z.max(axis=-1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=-1, keepdims=True)
    return p


def _draw(
    model: CharMLP,
    vocab: Vocabulary,
    count: int,
    temperature: float,
    top_k: int | None,
    rng: np.random.Generator,
    max_length: int,
) -> list[str]:
    """`count` samples, advanced together: one forward pass per position."""
    context = model.context
    windows = np.full((count, context), BOUNDARY_INDEX, np.int64)
    symbols = np.zeros((count, max_length), np.int64)
    lengths = np.full(count, max_length)
    running = np.arange(count)
    for position in range(max_length):
        if not len(running):
            break
        logits = model(windows[running])._data
        cdf = np.cumsum(next_symbol_probabilities(logits, temperature, top_k), axis=1)
        u = rng.random(len(running))[:, None] * cdf[:, -1:]
        # the first symbol whose cumulative probability exceeds u (inverse-CDF sampling)
        drawn = np.minimum((cdf <= u).sum(axis=1), len(vocab) - 1)
        symbols[running, position] = drawn
        ended = drawn == BOUNDARY_INDEX
        lengths[running[ended]] = position
        windows[running, :-1] = windows[running, 1:]
        windows[running, -1] = drawn
        running = running[~ended]
    return [vocab.decode(row[:length]) for row, length in zip(symbols, lengths, strict=True)]


def sample(
    model: CharMLP,
    vocab: Vocabulary,
    n: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
    max_length: int = 30,
    exclude: Collection[str] | None = None,
    max_rounds: int = 20,
) -> list[str]:
    """Draw `n` items from the model, all at once (one forward pass per character position).

    Args:
        temperature: divides the logits: < 1 sharpens the distribution (more common,
            safer items), > 1 flattens it. Must be > 0; as it goes to 0 (e.g. 1e-6) every
            step takes the most likely character (the greedy string).
        top_k: draw only among the k most likely characters at each step.
        seed: the same seed gives the same samples.
        max_length: a sample that has not ended after this many characters is cut there.
        exclude: items not to return (e.g. ``set(corpus)``): then only new, distinct,
            non-empty items are returned, drawing more rounds until there are `n` of them
            or `max_rounds` rounds have run (the result may then hold fewer than `n`).

    Returns a list of strings. Raises ValueError for a bad argument (temperature <= 0, ...).
    """
    check_sampling_arguments(n, temperature, top_k, max_length)
    if len(vocab) != model.vocab_size:
        raise ValueError(
            f"the vocabulary has {len(vocab)} symbols but the model predicts {model.vocab_size}"
        )
    rng = np.random.default_rng(seed & 0xFFFF_FFFF_FFFF_FFFF)
    temperature = float(temperature)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            if exclude is None:
                return _draw(model, vocab, int(n), temperature, top_k, rng, int(max_length))
            seen = set(exclude)
            found: list[str] = []
            drawn = new = 0
            for _ in range(max_rounds):
                missing = n - len(found)
                if missing <= 0:
                    break
                # draw enough for the share of new items seen so far (at least 1 in 20)
                rate = max(new / drawn, 0.05) if drawn else 0.5
                count = min(math.ceil(1.25 * missing / rate) + 8, _MAX_DRAWS_PER_ROUND)
                batch = _draw(model, vocab, count, temperature, top_k, rng, int(max_length))
                drawn += count
                for item in batch:
                    if item and item not in seen:
                        seen.add(item)
                        new += 1
                        if len(found) < n:
                            found.append(item)
            return found
    finally:
        model.train(was_training)
