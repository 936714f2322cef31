"""Reproducible randomness with PyTorch's numbers: the default generator and `Generator`s.

chainrule's CPU streams are torch's: the same 32-bit Mersenne Twister, seeded the same way,
transformed into uniform, normal, integer, permutation, Bernoulli, exponential and
multinomial draws by the same arithmetic (`draws`, `boxmuller`). So after
``chainrule.manual_seed(42)`` a script draws what ``torch.manual_seed(42)`` draws: the same
initial weights, shuffles, dropout masks and sampled names. Like torch, the default
generator starts from seed 67280421310721 in every process.

As `torch.random`: `manual_seed`, `seed`, `initial_seed`, `get_rng_state`, `set_rng_state`,
`fork_rng`; `default_generator`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.random.generator import DEFAULT_SEED, Generator
from chainrule.types import TensorLike

if TYPE_CHECKING:
    from chainrule.tensor import Tensor

__all__ = [
    "DEFAULT_SEED",
    "Generator",
    "default_generator",
    "fork_rng",
    "get_rng_state",
    "initial_seed",
    "manual_seed",
    "numpy_stream",
    "resolve",
    "seed",
    "set_rng_state",
]

default_generator = Generator()


def resolve(generator: Generator | None) -> Generator:
    """The generator to draw from: the given one, or the default one."""
    if generator is None:
        return default_generator
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a chainrule.Generator, not {type(generator).__name__}")
    return generator


def manual_seed(seed: int) -> Generator:
    """Seed the default generator, so every random draw afterwards is reproducible."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the default generator from the operating system's entropy; returns the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The seed the default generator was last seeded with."""
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    """The default generator's state, a uint8 tensor in torch's layout."""
    return default_generator.get_state()


def set_rng_state(new_state: TensorLike) -> None:
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(
    devices: Any = None, enabled: bool = True, _caller: str = "fork_rng",
    _devices_kw: str = "devices", device_type: str = "cpu",
) -> Iterator[None]:  # fmt: skip
    """Draws inside the block leave the default generator where it was (torch.random.fork_rng)."""
    if not enabled:
        yield
        return
    state = default_generator._state_array()
    try:
        yield
    finally:
        default_generator._load_state_array(state)


def numpy_stream(generator: Generator | None) -> np.random.Generator:
    """A NumPy generator seeded by one 64-bit draw, for the distributions torch's CPU kernels
    do not share with NumPy's (Poisson): reproducible, but not torch's numbers."""
    word = int(resolve(generator).random64(1)[0])
    return np.random.default_rng(word)
