"""`Generator`: PyTorch's CPU random stream, a 32-bit Mersenne Twister, with its state layout.

torch's CPU generator is the standard mt19937 (Matsumoto & Nishimura 1998) seeded by
``init_genrand(seed mod 2^32)``; NumPy ships the same bit generator (`np.random.MT19937`,
whose legacy seeding is ``init_genrand``), so its raw outputs are torch's raw outputs::

    random()    = next 32-bit output                    (uint32)
    random64()  = (random() << 32) | random()           (the first draw is the high word)

Box-Muller's second sample is cached between scalar normal draws (``normal_y`` in torch's
state), so the cache is part of the state too. `get_state` returns torch's 5056-byte layout::

    offset  0  uint64 initial seed        offset 5016  double normal_x (0)
            8  int32  left                       5024  double normal_y (the cached sample)
           12  int32  seeded (1)                 5032  double normal_rho (0)
           16  uint64 next                       5040  int32  normal_is_valid
           24  uint64 state[624]                 5048  float  next_float_normal_sample
                                                 5052  bool   its valid flag

``left`` and ``next`` are torch's cursor (``left == 1`` means: regenerate at the next draw);
NumPy's is ``pos``, with ``next = pos`` and ``left = 625 - pos``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.types import DeviceLike, TensorLike

if TYPE_CHECKING:
    from chainrule.tensor import Tensor

DEFAULT_SEED = 67280421310721  # torch's default_rng_seed_val: every new CPU generator starts here
STATE_BYTES = 5056
_N = 624
_U64 = 0xFFFF_FFFF_FFFF_FFFF


def _seeded_mt(seed: int) -> np.random.MT19937:
    bits = np.random.MT19937()
    bits._legacy_seeding(seed & 0xFFFF_FFFF)  # init_genrand, as torch's mt19937(seed)
    return bits


class Generator:
    """A random stream, as `torch.Generator`: ``Generator().manual_seed(2147483647)``.

    ``Generator(seed)`` with an int is chainrule's shorthand for ``Generator().manual_seed(seed)``.

    Draws the same numbers as torch's CPU generator for the same seed and call sequence.
    """

    device = "cpu"

    def __init__(self, device: DeviceLike = "cpu") -> None:
        if isinstance(device, (int, np.integer)) and not isinstance(device, bool):
            self.manual_seed(device)  # chainrule's shorthand: Generator(seed)
            return
        if str(device) not in ("cpu", "None"):
            raise RuntimeError(f"chainrule generators run on the CPU only, not {device}")
        self.manual_seed(DEFAULT_SEED)

    def manual_seed(self, seed: Any) -> Generator:
        """Restart the stream from ``seed`` (an int in [-2^63, 2^64); negatives wrap as torch)."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"manual_seed expected an int, got {type(seed).__name__}")
        seed = int(seed)
        if not -(2**63) <= seed <= _U64:
            raise RuntimeError(
                "Overflow when unpacking long long: seed must be within the range "
                "[-0x8000_0000_0000_0000, 0xffff_ffff_ffff_ffff]"
            )
        self._seed = seed & _U64
        self._bits = _seeded_mt(self._seed)
        self._fresh = True  # no draw since seeding: torch's cursor reads next=0, not 624
        self._normal_cache: float | None = None  # Box-Muller's second (double) sample
        self._float_cache: float | None = None  # torch's float twin (kept in the state only)
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy and return the seed used."""
        value = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(value)
        return value

    def initial_seed(self) -> int:
        return self._seed

    # -- raw draws (vectorised: NumPy's MT19937 runs in C) -------------------------------------
    def random32(self, n: int) -> np.ndarray:
        """The next ``n`` raw 32-bit outputs, as uint64 (torch's ``random()``)."""
        self._fresh = self._fresh and n == 0
        return self._bits.random_raw(int(n))

    def random64(self, n: int) -> np.ndarray:
        """The next ``n`` 64-bit draws, each two outputs with the first as the high word."""
        pairs = self.random32(2 * int(n)).reshape(-1, 2)
        return (pairs[:, 0] << np.uint64(32)) | pairs[:, 1]

    # -- state --------------------------------------------------------------------------------
    def _state_array(self) -> np.ndarray:
        mt = self._bits.state["state"]
        pos = int(mt["pos"])
        out = np.zeros(STATE_BYTES, np.uint8)
        out[0:8] = np.frombuffer(np.uint64(self._seed).tobytes(), np.uint8)
        left, nxt = (1, 0 if self._fresh else _N) if pos >= _N else (_N + 1 - pos, pos)
        out[8:16] = np.frombuffer(np.array([left, 1], np.int32).tobytes(), np.uint8)
        out[16:24] = np.frombuffer(np.uint64(nxt).tobytes(), np.uint8)
        out[24 : 24 + 8 * _N] = np.asarray(mt["key"], np.uint64).view(np.uint8)
        if self._normal_cache is not None:
            out[5024:5032] = np.frombuffer(np.float64(self._normal_cache).tobytes(), np.uint8)
            out[5040:5044] = np.frombuffer(np.int32(1).tobytes(), np.uint8)
        if self._float_cache is not None:
            out[5048:5052] = np.frombuffer(np.float32(self._float_cache).tobytes(), np.uint8)
            out[5052] = 1
        return out

    def _load_state_array(self, data: TensorLike) -> None:
        raw = np.ascontiguousarray(np.asarray(data)).reshape(-1)
        if raw.dtype != np.uint8 or raw.size != STATE_BYTES:
            raise RuntimeError(
                f"expected a uint8 tensor of {STATE_BYTES} bytes (torch's CPU generator state), "
                f"got {raw.dtype} of {raw.size}"
            )
        seed = int(raw[0:8].view(np.uint64)[0])
        left, _seeded = (int(v) for v in raw[8:16].view(np.int32))
        nxt = int(raw[16:24].view(np.uint64)[0])
        key = raw[24 : 24 + 8 * _N].view(np.uint64)
        if left < 1 or left > _N + 1 or nxt > _N or (key > 0xFFFF_FFFF).any():
            raise RuntimeError("the generator state is corrupt (cursor or words out of range)")
        bits = np.random.MT19937()
        pos = _N if left == 1 else nxt
        bits.state = {
            "bit_generator": "MT19937",
            "state": {"key": key.astype(np.uint32), "pos": pos},
        }
        self._seed, self._bits, self._fresh = seed, bits, left == 1 and nxt == 0
        valid = int(raw[5040:5044].view(np.int32)[0])
        self._normal_cache = float(raw[5024:5032].view(np.float64)[0]) if valid else None
        self._float_cache = float(raw[5048:5052].view(np.float32)[0]) if raw[5052] else None

    def get_state(self) -> Tensor:
        """The stream's full state: a uint8 tensor in torch's layout (see the module docstring)."""
        from chainrule.tensor import Tensor

        return Tensor._make(self._state_array(), False)

    def set_state(self, new_state: TensorLike) -> Generator:
        """Restore a state from `get_state` (or from torch's ``get_rng_state()``, as numbers)."""
        data = new_state.detach().numpy() if hasattr(new_state, "detach") else new_state
        if isinstance(data, dict):
            raise RuntimeError(
                "this generator state was saved by an older chainrule (NumPy's PCG64); "
                "chainrule now draws torch's stream: reseed with manual_seed instead"
            )
        self._load_state_array(data)
        return self

    def clone_state(self) -> Generator:
        """A new generator at this one's position (used by fork_rng)."""
        twin = Generator()
        twin._load_state_array(self._state_array())
        return twin

    def __repr__(self) -> str:
        return f"<chainrule.Generator seed={self._seed}>"
