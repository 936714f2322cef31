"""Reproducible randomness: a `Generator` per stream and one default, seeded by `manual_seed`.

chainrule draws from NumPy's PCG64; the numbers differ from PyTorch's for the same seed,
but a seed always reproduces the same run within chainrule.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Generator:
    """A random stream, as `torch.Generator`: `Generator().manual_seed(0)`."""

    def __init__(self, seed: int | None = None) -> None:
        self._seed = seed
        self.numpy = np.random.default_rng(seed)

    def manual_seed(self, seed: int) -> Generator:
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise TypeError(f"manual_seed expected an int, got {type(seed).__name__}")
        self._seed = int(seed)
        self.numpy = np.random.default_rng(int(seed) & 0xFFFF_FFFF_FFFF_FFFF)
        return self

    def initial_seed(self) -> int | None:
        return self._seed

    def get_state(self) -> dict[str, Any]:
        """The stream's full state as plain data (JSON-serialisable), for checkpoints."""
        return dict(self.numpy.bit_generator.state)

    def set_state(self, state: dict[str, Any]) -> None:
        self.numpy.bit_generator.state = state


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator, so every random draw afterwards is reproducible."""
    return default_generator.manual_seed(seed)


def numpy_stream(generator: Generator | None) -> np.random.Generator:
    """The NumPy stream to draw from: the given generator's, or the default one's."""
    return (generator or default_generator).numpy


def get_rng_state() -> dict[str, Any]:
    return default_generator.get_state()


def set_rng_state(state: dict[str, Any]) -> None:
    default_generator.set_state(state)
