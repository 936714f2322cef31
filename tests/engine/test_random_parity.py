"""chainrule's seeded random streams are torch 2.13's, bit for bit.

Each case runs the same calls on torch and on chainrule after the same seed and compares
the values exactly (and, for the global stream, the generator state bytes afterwards, which
catches a call that consumed a different number of draws).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.utils.data
from chainrule import nn

SEEDS = [0, 1, 42, 2147483647, 2**40 + 3, 2**64 - 1]
SIZES = [1, 2, 5, 15, 16, 17, 31, 100, 1000]  # below, at and above the 16-element block


def same(ours: Any, theirs: Any) -> None:
    a = ours.detach().numpy() if hasattr(ours, "detach") else np.asarray(ours)
    b = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    np.testing.assert_array_equal(a, b)


def same_global_state() -> None:
    np.testing.assert_array_equal(cr.get_rng_state().numpy(), torch.get_rng_state().numpy())


def both(seed: int, calls: Callable[[Any], list[Any]]) -> None:
    """Run ``calls(lib)`` on each library after manual_seed(seed) and compare everything."""
    torch.manual_seed(seed)
    theirs = calls(torch)
    cr.manual_seed(seed)
    ours = calls(cr)
    for a, b in zip(ours, theirs, strict=True):
        same(a, b)
    same_global_state()


# ------------------------------------------------------------------ the generator itself
def test_default_generator_starts_at_torchs_default_seed() -> None:
    assert cr.Generator().initial_seed() == torch.Generator().initial_seed() == 67280421310721
    fresh = cr.Generator()
    reference = torch.Generator()
    same(cr.rand(5, generator=fresh), torch.rand(5, generator=reference))


@pytest.mark.parametrize("seed", SEEDS + [-1, -(2**63)])
def test_manual_seed_state_and_initial_seed(seed: int) -> None:
    torch.manual_seed(seed)
    cr.manual_seed(seed)
    assert cr.initial_seed() == torch.initial_seed()
    same_global_state()
    assert cr.random.initial_seed() == torch.random.initial_seed()


def test_seed_out_of_range_and_wrong_type() -> None:
    with pytest.raises(RuntimeError, match="Overflow"):
        cr.manual_seed(2**64)
    with pytest.raises(TypeError):
        cr.manual_seed(1.5)  # type: ignore[arg-type]


def test_state_round_trips_through_torch() -> None:
    """A state taken from torch continues torch's stream in chainrule, and back."""
    torch.manual_seed(7)
    torch.randn(3, dtype=torch.float64)  # leaves a cached normal sample
    torch.rand(700)  # crosses a 624-word regeneration
    cr.set_rng_state(cr.tensor(torch.get_rng_state().numpy()))
    same_global_state()
    same(cr.randn(5, dtype=cr.float64), torch.randn(5, dtype=torch.float64))
    torch.set_rng_state(torch.from_numpy(cr.get_rng_state().numpy().copy()))
    same(cr.rand(1000), torch.rand(1000))
    same_global_state()


def test_generator_objects_get_and_set_state_and_seed() -> None:
    ours, theirs = cr.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    same(cr.randn(7, generator=ours), torch.randn(7, generator=theirs))
    saved = ours.get_state()
    np.testing.assert_array_equal(saved.numpy(), theirs.get_state().numpy())
    first = cr.rand(4, generator=ours)
    ours.set_state(saved)
    same(cr.rand(4, generator=ours), first)
    seed = ours.seed()
    assert ours.initial_seed() == seed
    assert 0 <= seed < 2**64


def test_generator_and_global_streams_are_independent() -> None:
    cr.manual_seed(0)
    torch.manual_seed(0)
    g, tg = cr.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    for _ in range(3):
        same(cr.rand(3), torch.rand(3))
        same(cr.randn(20, generator=g), torch.randn(20, generator=tg))
        same(cr.randint(0, 5, (4,), generator=g), torch.randint(0, 5, (4,), generator=tg))
    same_global_state()


def test_fork_rng_restores_the_default_stream() -> None:
    cr.manual_seed(5)
    with cr.random.fork_rng():
        cr.randn(100)
    after = cr.rand(3)
    torch.manual_seed(5)
    same(after, torch.rand(3))


def test_old_pcg64_state_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="older chainrule"):
        cr.set_rng_state({"bit_generator": "PCG64", "state": {}})  # type: ignore[arg-type]


# ------------------------------------------------------------------ uniform and normal
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rand_and_uniform(seed: int, dtype: str) -> None:
    def calls(lib: Any) -> list[Any]:
        dt = getattr(lib, dtype)
        return [lib.rand(n, dtype=dt) for n in SIZES] + [
            lib.empty(40, dtype=dt).uniform_(-0.577, 0.577),
            lib.empty(3, 5, dtype=dt).uniform_(2.0, 3.5),
            lib.rand_like(lib.zeros(6, dtype=dt)),
        ]

    both(seed, calls)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_randn_and_normal_both_paths_and_the_cached_sample(seed: int, dtype: str) -> None:
    """Sizes below 16 use the scalar Box-Muller with a cached second sample (odd sizes leave
    one behind for the next call); 16 and more use blocks of 16 with a redrawn tail."""

    def calls(lib: Any) -> list[Any]:
        dt = getattr(lib, dtype)
        out = [lib.randn(n, dtype=dt) for n in SIZES]
        out += [lib.randn(3, dtype=dt), lib.randn(1, dtype=dt), lib.randn(2, 2, dtype=dt)]
        out += [lib.empty(33, dtype=dt).normal_(0.5, 2.0), lib.empty(5, dtype=dt).normal_(-3, 0.1)]
        out += [lib.randn_like(lib.zeros(4, 5, dtype=dt))]
        return out

    both(seed, calls)


def test_normal_on_a_non_contiguous_tensor_uses_the_scalar_path() -> None:
    def calls(lib: Any) -> list[Any]:
        base = lib.zeros(8, 6)
        base.t().normal_()
        return [base, lib.randn(2)]

    both(4, calls)


@pytest.mark.parametrize("seed", [0, 42])
def test_torch_normal_with_tensor_means_and_stds(seed: int) -> None:
    def calls(lib: Any) -> list[Any]:
        mean = lib.arange(20, dtype=lib.float32)
        std = lib.linspace(0.1, 2.0, 20)
        return [
            lib.normal(mean, std),
            lib.normal(mean, 0.5),
            lib.normal(2.0, 3.0, size=(4, 5)),
            lib.normal(lib.zeros(3), lib.ones(3)),
        ]

    both(seed, calls)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**64 - 1),
    n=st.integers(0, 300),
    low=st.floats(-100, 100),
    width=st.one_of(st.just(0.0), st.floats(1e-30, 50)),  # subnormal bounds: not compared
    double=st.booleans(),
)
def test_uniform_and_normal_any_seed_size_and_bounds(seed, n, low, width, double) -> None:
    def calls(lib: Any) -> list[Any]:
        dt = lib.float64 if double else lib.float32
        return [
            lib.empty(n, dtype=dt).uniform_(low, low + width),
            lib.empty(n, dtype=dt).normal_(low, width),
            lib.randn(n % 17, dtype=dt),
        ]

    both(seed, calls)


# ------------------------------------------------------------------ integers and permutations
@pytest.mark.parametrize("seed", SEEDS)
def test_randint_random_and_randperm(seed: int) -> None:
    def calls(lib: Any) -> list[Any]:
        return [
            lib.randint(0, 10, (20,)),
            lib.randint(-5, 5, (3, 4)),
            lib.randint(3, (6,)),
            lib.randint(0, 2**40, (5,)),  # a range of 2^32 or more takes 64-bit draws
            lib.randint(0, 7, (5,), dtype=lib.int32),
            lib.randint_like(lib.zeros(4), 100),
            lib.empty(6, dtype=lib.int64).random_(2, 9),
            lib.empty(6, dtype=lib.int64).random_(50),
            lib.empty(6, dtype=lib.int64).random_(),
            lib.empty(6, dtype=lib.int32).random_(),
            lib.empty(6, dtype=lib.float32).random_(),
            lib.empty(6, dtype=lib.float64).random_(),
            lib.empty(6, dtype=lib.uint8).random_(),
            lib.randperm(0),
            lib.randperm(1),
            lib.randperm(2),
            lib.randperm(10),
            lib.randperm(1000),
            lib.randperm(5, dtype=lib.int32),
        ]

    both(seed, calls)


def test_randperm_of_a_dataset_sized_n() -> None:
    g, tg = cr.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    same(cr.randperm(70_000, generator=g), torch.randperm(70_000, generator=tg))


# ------------------------------------------------------------------ bernoulli, dropout, others
@pytest.mark.parametrize("seed", [0, 3, 42])
def test_bernoulli_dropout_exponential_and_friends(seed: int) -> None:
    def calls(lib: Any) -> list[Any]:
        p32 = lib.linspace(0, 1, 30)
        return [
            lib.empty(25).bernoulli_(0.3),
            lib.empty(4, 5, dtype=lib.float64).bernoulli_(0.7),
            lib.empty(30).bernoulli_(p32),
            lib.bernoulli(p32),
            lib.bernoulli(p32.double()),
            p32.bernoulli(),
            lib.nn.functional.dropout(lib.ones(40), 0.25),
            lib.nn.functional.dropout(lib.ones(7, 3, dtype=lib.float64), 0.5),
            lib.nn.Dropout(0.1)(lib.ones(20)),
            lib.empty(20).exponential_(),
            lib.empty(20, dtype=lib.float64).exponential_(2.5),
            lib.empty(9).log_normal_(),
            lib.empty(9, dtype=lib.float64).cauchy_(),
            lib.empty(9).geometric_(0.3),
        ]

    both(seed, calls)


@pytest.mark.parametrize("seed", [0, 42, 2147483647])
def test_multinomial_with_and_without_replacement(seed: int) -> None:
    def calls(lib: Any) -> list[Any]:
        p = lib.rand(27)
        rows = lib.rand(4, 10)
        rows[1, 3:] = 0
        return [
            lib.multinomial(p, 1, replacement=True),
            lib.multinomial(p, 1),
            lib.multinomial(p, 5),
            lib.multinomial(p, 27),
            lib.multinomial(p, 40, replacement=True),
            lib.multinomial(rows, 3),
            lib.multinomial(rows, 6, replacement=True),
            lib.multinomial(rows.double(), 2, replacement=True),
            p.multinomial(2),
        ]

    both(seed, calls)


def test_makemore_sampling_loop_gives_torchs_names() -> None:
    """The lecture's loop: a Generator seeded 2147483647, multinomial one index at a time."""

    def names(lib: Any) -> list[list[int]]:
        g = lib.Generator().manual_seed(2147483647)
        counts = lib.randint(1, 50, (27, 27), generator=g).float()
        P = counts / counts.sum(1, keepdim=True)
        out = []
        for _ in range(10):
            ix, name = 0, []
            while True:
                ix = lib.multinomial(P[ix], num_samples=1, replacement=True, generator=g).item()
                if ix == 0:
                    break
                name.append(ix)
            out.append(name)
        return out

    assert names(cr) == names(torch)


# ------------------------------------------------------------------ initialisation
INITS = [
    ("uniform_", {}),
    ("uniform_", {"a": -2.0, "b": 3.0}),
    ("normal_", {}),
    ("normal_", {"mean": 1.0, "std": 0.02}),
    ("xavier_uniform_", {}),
    ("xavier_normal_", {"gain": 2.0}),
    ("kaiming_uniform_", {"a": math.sqrt(5)}),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal_", {}),
    ("kaiming_normal_", {"mode": "fan_out"}),
]


@pytest.mark.parametrize(("name", "kwargs"), INITS, ids=[f"{n}{k}" for n, k in INITS])
@pytest.mark.parametrize("shape", [(3, 4), (20, 30), (2, 3, 5)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nn_init(name: str, kwargs: dict[str, Any], shape: tuple[int, ...], dtype: str) -> None:
    def calls(lib: Any) -> list[Any]:
        t = lib.empty(shape, dtype=getattr(lib, dtype))
        getattr(lib.nn.init, name)(t, **kwargs)
        g = lib.Generator().manual_seed(11)
        u = getattr(lib.nn.init, name)(lib.empty(shape, dtype=getattr(lib, dtype)), generator=g)
        return [t, u, lib.rand(2)]

    both(0, calls)


@pytest.mark.parametrize("seed", [0, 1, 42])
def test_default_initialisation_of_built_in_layers(seed: int) -> None:
    def calls(lib: Any) -> list[Any]:
        layers = [
            lib.nn.Linear(3, 4),
            lib.nn.Linear(784, 128),
            lib.nn.Linear(10, 1, bias=False),
            lib.nn.Embedding(27, 10),
            lib.nn.Bilinear(3, 4, 5)
            if hasattr(lib.nn, "Bilinear") and hasattr(nn, "Bilinear")
            else lib.nn.Linear(2, 2),
        ]
        return [p for layer in layers for p in layer.parameters()]

    both(seed, calls)


def test_a_model_built_under_manual_seed_is_torchs() -> None:
    def calls(lib: Any) -> list[Any]:
        model = lib.nn.Sequential(
            lib.nn.Linear(2, 16), lib.nn.Tanh(), lib.nn.Dropout(0.2), lib.nn.Linear(16, 3)
        )
        out = model(lib.linspace(-1, 1, 40).reshape(20, 2))
        return [p.detach() for p in model.parameters()] + [out.detach()]

    torch.manual_seed(0)
    theirs = calls(torch)
    cr.manual_seed(0)
    ours = calls(cr)
    for a, b in zip(ours[:-1], theirs[:-1], strict=True):
        same(a, b)
    # the forward pass (with its dropout mask) agrees to float32 rounding of the matmuls
    np.testing.assert_allclose(ours[-1].numpy(), theirs[-1].numpy(), rtol=1e-5, atol=1e-6)
    same_global_state()


# ------------------------------------------------------------------ data loading
@pytest.mark.parametrize("n, batch_size, drop_last", [(10, 4, False), (12, 4, True), (7, 7, False)])
def test_dataloader_shuffle_order_under_manual_seed(n: int, batch_size: int, drop_last: bool):
    def calls(lib: Any) -> list[Any]:
        data = lib.utils.data.TensorDataset(lib.arange(n))
        out = []
        for _ in range(3):
            loader = lib.utils.data.DataLoader(
                data, batch_size=batch_size, shuffle=True, drop_last=drop_last
            )
            out += [batch[0] for batch in loader]
            out.append(lib.rand(1))  # the default stream moved as torch's did
        g = lib.Generator().manual_seed(3)
        loader = lib.utils.data.DataLoader(data, batch_size=batch_size, shuffle=True, generator=g)
        out += [batch[0] for _ in range(2) for batch in loader]
        out.append(lib.rand(1, generator=g))
        plain = lib.utils.data.DataLoader(data, batch_size=batch_size)
        out += [batch[0] for batch in plain] + [lib.rand(1)]
        return out

    both(0, calls)


def test_random_split_order_is_torchs() -> None:
    def calls(lib: Any) -> list[Any]:
        data = lib.utils.data.TensorDataset(lib.arange(20))
        g = lib.Generator().manual_seed(42)
        parts = lib.utils.data.random_split(data, [0.7, 0.3], generator=g)
        return [lib.tensor(list(part.indices)) for part in parts]

    both(0, calls)


@pytest.mark.parametrize("epoch", [0, 3])
def test_distributed_sampler_shuffled_indices_are_torchs(epoch: int) -> None:
    from chainrule.data import DistributedSampler

    data = list(range(10))
    for rank in range(3):
        ours = DistributedSampler(data, num_replicas=3, rank=rank, shuffle=True, seed=7)
        theirs = torch.utils.data.DistributedSampler(
            data, num_replicas=3, rank=rank, shuffle=True, seed=7
        )
        ours.set_epoch(epoch)
        theirs.set_epoch(epoch)
        assert list(ours) == list(theirs)


def test_randint_keyword_forms_draw_as_torch():
    """randint(high=, size=) and randint(low=, high=, size=): torch's keyword spellings."""
    drawn = {}
    for lib in (torch, chainrule):
        lib.manual_seed(0)
        drawn[lib.__name__] = [
            lib.randint(high=10, size=(4,)).tolist(),
            lib.randint(low=2, high=6, size=(3,)).tolist(),
            lib.randint(5, (2,)).tolist(),
        ]
    assert drawn["chainrule"] == drawn["torch"]


@pytest.mark.parametrize("n", [65_537, 131_072, 131_073, 200_000])
def test_large_randperm_in_chunks_is_torchs_permutation(n):
    """Past 65,536 randperm draws and swaps a chunk at a time: still torch's order, and the
    stream left where torch leaves it."""
    torch.manual_seed(n)
    theirs, after_theirs = torch.randperm(n).numpy(), torch.rand(3).tolist()
    cr.manual_seed(n)
    ours, after_ours = cr.randperm(n).numpy(), cr.rand(3).tolist()
    np.testing.assert_array_equal(ours, theirs)
    assert after_ours == after_theirs
