"""chainrule.utils.data against torch.utils.data 2.13: the same batches (values, dtypes,
containers) in the same order wherever randomness is not involved, for every dataset,
sampler and DataLoader option; default_collate and default_convert on nested samples;
torch's error messages; and the random samplers' draws made where torch makes them."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import chainrule
import chainrule.utils.data as cud

Point = namedtuple("Point", ["x", "y"])
LIBS = [(cud, chainrule), (tud, torch)]


def plain(value: Any) -> Any:
    """A batch as comparable Python: tensors become (dtype, nested list); containers keep
    their type (list, tuple, dict, namedtuple)."""
    if isinstance(value, chainrule.Tensor | torch.Tensor):
        array = value.detach().numpy()
        return ("tensor", str(array.dtype), array.shape, array.tolist())
    if isinstance(value, np.ndarray):
        return ("ndarray", str(value.dtype), value.tolist())
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return (type(value).__name__, *[plain(v) for v in value])
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return (type(value).__name__, [plain(v) for v in value])
    return value


def make(lib: Any, kind: str) -> Any:
    """One dataset of kind ``kind`` in lib (chainrule.utils.data or torch.utils.data)."""
    data, mod = (cud, chainrule) if lib is cud else (tud, torch)
    X = np.arange(30, dtype=np.float32).reshape(10, 3)
    y = np.arange(10) % 3

    class Records(data.Dataset):  # type: ignore[name-defined,misc]
        """Samples of every kind default_collate handles, nested."""

        def __len__(self) -> int:
            return 7

        def __getitem__(self, i: int) -> Any:
            return {
                "x": np.full((2,), i, dtype=np.float64),
                "label": i % 2,
                "weight": float(i) / 2,
                "flag": i > 3,
                "name": f"s{i}",
                "pair": (i, np.int32(i)),
                "point": Point(mod.tensor([i, i + 1]), [float(i)]),
            }

    class Stream(data.IterableDataset):  # type: ignore[name-defined,misc]
        def __init__(self, n: int) -> None:
            self.n = n

        def __iter__(self) -> Iterator[Any]:
            assert data.get_worker_info() is None  # the main process
            for i in range(self.n):
                yield (mod.tensor([float(i), -float(i)], dtype=mod.float64), i)

        def __len__(self) -> int:
            return self.n

    tensors = data.TensorDataset(mod.tensor(X), mod.tensor(y))
    if kind == "tensors":
        return tensors
    if kind == "records":
        return Records()
    if kind == "subset":
        return data.Subset(tensors, [7, 2, 9, 0, 4])
    if kind == "concat":
        return data.ConcatDataset([data.Subset(tensors, [1, 2, 3]), tensors])
    if kind == "added":
        return data.Subset(tensors, [5, 6]) + tensors
    if kind == "stack":
        return data.StackDataset(data.Subset(tensors, range(7)), Records())
    if kind == "stack-named":
        return data.StackDataset(xy=data.Subset(tensors, range(7)), record=Records())
    if kind == "stream":
        return Stream(11)
    if kind == "chain":
        return data.ChainDataset([Stream(3), Stream(5)])
    if kind == "stream-added":
        return Stream(2) + Stream(4)
    raise ValueError(kind)


KINDS = ["tensors", "records", "subset", "concat", "added", "stack", "stack-named"]
STREAMS = ["stream", "chain", "stream-added"]
OPTIONS: list[dict[str, Any]] = [
    {},
    {"batch_size": 3},
    {"batch_size": 3, "drop_last": True},
    {"batch_size": 4, "num_workers": 2, "persistent_workers": True, "prefetch_factor": 3},
    {"batch_size": None},
    {"batch_size": 2, "collate_fn": lambda samples: samples},
    {
        "batch_size": 2,
        "num_workers": 1,
        "timeout": 5.0,
        "pin_memory": True,
        "worker_init_fn": lambda worker_id: None,
    },  # fmt: skip
]


def loader_batches(lib: Any, kind: str, options: dict[str, Any]) -> tuple[int, list[Any]]:
    loader = lib.DataLoader(make(lib, kind), **options)
    return len(loader), [plain(b) for b in loader]


def _ids(options: list[dict[str, Any]]) -> list[str]:
    return [",".join(f"{k}={v}" for k, v in o.items() if k != "collate_fn") or "default"
            for o in options]  # fmt: skip


@pytest.mark.parametrize("options", OPTIONS, ids=_ids(OPTIONS))
@pytest.mark.parametrize("kind", KINDS + STREAMS)
def test_the_same_batches_as_torch(kind: str, options: dict[str, Any]) -> None:
    """num_workers > 0 runs torch with workers for map-style data (same batches, same
    order); a stream read by workers would be read once per worker in torch, so streams
    are compared with torch's num_workers=0."""
    torch_options = dict(options)
    if kind in STREAMS and options.get("num_workers"):
        torch_options = {"batch_size": options["batch_size"]}
    ours = loader_batches(cud, kind, options)
    theirs = loader_batches(tud, kind, torch_options)
    assert ours == theirs


SAMPLED: list[Callable[[Any, Any], dict[str, Any]]] = [
    lambda lib, ds: {"sampler": lib.SequentialSampler(ds), "batch_size": 4},
    lambda lib, ds: {"sampler": [9, 1, 1, 4, 0], "batch_size": 2},
    lambda lib, ds: {"batch_sampler": lib.BatchSampler(lib.SequentialSampler(ds), 3, False)},
    lambda lib, ds: {"batch_sampler": lib.BatchSampler(range(len(ds)), 4, True)},
    lambda lib, ds: {"batch_sampler": [[3, 1], [0], [2, 2, 5]]},
    lambda lib, ds: {"sampler": [4, 2], "batch_size": None},
]


@pytest.mark.parametrize("kind", ["tensors", "records"])
@pytest.mark.parametrize("sampled", SAMPLED)
def test_samplers_and_batch_samplers_give_torchs_batches(kind: str, sampled: Any) -> None:
    results = []
    for lib, _ in LIBS:
        dataset = make(lib, kind)
        options = sampled(lib, dataset)
        loader = lib.DataLoader(dataset, **options)
        size = len(loader) if hasattr(options.get("sampler", ()), "__len__") else None
        results.append((size, [plain(b) for b in loader]))
    assert results[0] == results[1]


def _records(lib: Any) -> list[Any]:
    mod = chainrule if lib is cud else torch
    return [
        {"a": np.arange(3) * i, "b": (i, float(i), True), "c": Point(i, [mod.tensor(i)])}
        for i in range(4)
    ] + []


def test_default_collate_and_default_convert_equal_torchs() -> None:
    for fn in ("default_collate", "default_convert"):
        ours = getattr(cud, fn)(_records(cud))
        theirs = getattr(tud, fn)(_records(tud))
        assert plain(ours) == plain(theirs), fn
    samples: list[Any] = [np.float32(1.5), (np.arange(2), "s"), {"k": [np.int8(3)]}, 7, "text"]
    for sample in samples:
        assert plain(cud.default_convert(sample)) == plain(tud.default_convert(sample))


def test_dataset_indexing_equals_torchs() -> None:
    for kind in KINDS:
        ours, theirs = make(cud, kind), make(tud, kind)
        assert len(ours) == len(theirs)
        for i in [0, 1, len(ours) - 1, -1, -len(ours)]:
            if kind in ("records", "stack", "stack-named") and i < 0:
                continue  # torch's Records would take -1 literally too; skip the ambiguity
            assert plain(ours[i]) == plain(theirs[i]), (kind, i)
    for lib, _ in LIBS:
        concat = make(lib, "concat")
        assert concat.cumulative_sizes == [3, 13]
        with pytest.raises(ValueError, match="absolute value of index"):
            concat[-14]
    assert len(make(cud, "chain")) == len(make(tud, "chain")) == 8


@pytest.mark.parametrize(
    "lengths", [[0.5, 0.5], [0.3, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25], [3, 7], [0.1, 0.9]]
)
def test_random_split_lengths_equal_torchs(lengths: list[float]) -> None:
    ours = cud.random_split(make(cud, "tensors"), lengths)
    theirs = tud.random_split(make(tud, "tensors"), lengths)
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    everything = sorted(i for s in ours for i in s.indices)
    assert everything == list(range(10))


ERRORS: list[Callable[[Any, Any], Any]] = [
    lambda lib, ds: lib.DataLoader(ds, shuffle=True, sampler=[0, 1]),
    lambda lib, ds: lib.DataLoader(ds, batch_sampler=[[0]], batch_size=2),
    lambda lib, ds: lib.DataLoader(ds, batch_sampler=[[0]], drop_last=True),
    lambda lib, ds: lib.DataLoader(ds, batch_size=None, drop_last=True),
    lambda lib, ds: lib.DataLoader(ds, batch_size=0),
    lambda lib, ds: lib.DataLoader(ds, num_workers=-1),
    lambda lib, ds: lib.DataLoader(ds, timeout=-1),
    lambda lib, ds: lib.DataLoader(ds, prefetch_factor=2),
    lambda lib, ds: lib.RandomSampler(ds, num_samples=0),
    lambda lib, ds: lib.WeightedRandomSampler([1.0, 2.0], num_samples=0),
    lambda lib, ds: lib.WeightedRandomSampler([[1.0, 2.0]], num_samples=2),
    lambda lib, ds: lib.BatchSampler(range(3), batch_size=0, drop_last=False),
    lambda lib, ds: lib.BatchSampler(range(3), batch_size=2, drop_last=1),
    lambda lib, ds: lib.StackDataset(ds, lib.Subset(ds, [0])),
    lambda lib, ds: lib.DataLoader(lib.ChainDataset([]), shuffle=True),
]


@pytest.mark.parametrize("make_error", ERRORS)
def test_misuse_gives_torchs_message(make_error: Callable[[Any, Any], Any]) -> None:
    messages = []
    for lib, _ in LIBS:
        with pytest.raises((ValueError, TypeError)) as error:
            make_error(lib, make(lib, "tensors"))
        messages.append((type(error.value), str(error.value)))
    assert messages[0] == messages[1]


def test_a_timeout_without_workers_fails_on_iteration_as_torchs() -> None:
    for lib, _ in LIBS:
        loader = lib.DataLoader(make(lib, "tensors"), timeout=1.0)
        with pytest.raises(AssertionError, match="requires timeout == 0"):
            next(iter(loader))


def test_sampler_lengths_and_plain_orders_equal_torchs() -> None:
    for lib, _ in LIBS:
        ds = make(lib, "tensors")
        assert list(lib.SequentialSampler(ds)) == list(range(10))
        assert len(lib.RandomSampler(ds, replacement=True, num_samples=45)) == 45
        assert len(lib.WeightedRandomSampler([0.1, 0.9], 7)) == 7
        assert len(lib.SubsetRandomSampler([4, 5, 6])) == 3
    ours = list(cud.BatchSampler(cud.SequentialSampler(range(10)), 3, drop_last=False))
    assert ours == list(tud.BatchSampler(tud.SequentialSampler(range(10)), 3, drop_last=False))
    assert len(cud.BatchSampler(range(10), 3, True)) == len(tud.BatchSampler(range(10), 3, True))
    assert cud.get_worker_info() is None and tud.get_worker_info() is None


# ------------------------------------------------------------ the random samplers' draws


def test_random_sampler_makes_torchs_calls_in_torchs_order() -> None:
    """Without replacement: ⌊k/n⌋ permutations and one more cut to k mod n; with
    replacement: randint in chunks of 32; all from the given generator, so the sampler's
    indices equal the same calls made by hand on an identically seeded generator."""
    ds = list(range(7))
    g, reference = chainrule.Generator().manual_seed(3), chainrule.Generator().manual_seed(3)
    drawn = list(cud.RandomSampler(ds, num_samples=17, generator=g))
    expected = []
    for _ in range(2):
        expected += chainrule.randperm(7, generator=reference).tolist()
    expected += chainrule.randperm(7, generator=reference).tolist()[:3]
    assert drawn == expected
    drawn = list(cud.RandomSampler(ds, replacement=True, num_samples=70, generator=g))
    expected = []
    for size in (32, 32, 6):
        expected += chainrule.randint(0, 7, (size,), generator=reference).tolist()
    assert drawn == expected


def test_shuffling_loader_draws_like_torchs_loader() -> None:
    """An epoch of DataLoader(shuffle=True, generator=g): the base seed, the permutation,
    and (when the epoch runs out) the sampler's trailing permutation, as torch does. The
    same sequence of calls on torch's side gives torch's loader order (checked on torch)."""
    for lib, mod in LIBS:
        g, reference = mod.Generator().manual_seed(5), mod.Generator().manual_seed(5)
        loader = lib.DataLoader(make(lib, "tensors"), batch_size=4, shuffle=True, generator=g)
        for _ in range(2):
            order = [int(i) for batch in loader for i in batch[1].tolist()]
            mod.empty((), dtype=mod.int64).random_(generator=reference)
            perm = mod.randperm(10, generator=reference).tolist()
            mod.randperm(10, generator=reference)
            assert order == [p % 3 for p in perm]


def test_weighted_and_subset_samplers_draw_from_their_generator() -> None:
    g, reference = chainrule.Generator().manual_seed(9), chainrule.Generator().manual_seed(9)
    weights = [0.0, 1.0, 3.0, 0.5]
    drawn = list(cud.WeightedRandomSampler(weights, 200, generator=g))
    expected = chainrule.as_tensor(weights, dtype=chainrule.float64).multinomial(
        200, True, generator=reference
    )
    assert drawn == expected.tolist()
    assert 0 not in drawn and drawn.count(2) > drawn.count(1) > drawn.count(3)
    unique = list(cud.WeightedRandomSampler(weights, 3, replacement=False, generator=g))
    assert sorted(unique) == [1, 2, 3]
    chainrule.as_tensor(weights, dtype=chainrule.float64).multinomial(3, False, generator=reference)
    order = list(cud.SubsetRandomSampler([10, 20, 30, 40], generator=g))
    perm = chainrule.randperm(4, generator=reference).tolist()
    assert order == [[10, 20, 30, 40][i] for i in perm]


def test_a_custom_sampler_subclass_drives_both_loaders_alike() -> None:
    results = []
    for lib, _ in LIBS:

        class EvensFirst(lib.Sampler):  # type: ignore[name-defined,misc]
            def __init__(self, n: int) -> None:
                self.n = n

            def __iter__(self) -> Iterator[int]:
                return iter([*range(0, self.n, 2), *range(1, self.n, 2)])

            def __len__(self) -> int:
                return self.n

        loader = lib.DataLoader(make(lib, "tensors"), batch_size=4, sampler=EvensFirst(10))
        results.append((len(loader), [plain(b) for b in loader]))
    assert results[0] == results[1]


@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_without_shuffle_equals_torchs(drop_last: bool) -> None:
    for rank in range(3):
        ours = cud.DistributedSampler(
            make(cud, "tensors"), num_replicas=3, rank=rank, shuffle=False, drop_last=drop_last
        )
        theirs = tud.DistributedSampler(
            make(tud, "tensors"), num_replicas=3, rank=rank, shuffle=False, drop_last=drop_last
        )
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


# ------------------------------------------------------------ seeded orders equal torch's


def _orders(lib: Any, mod: Any, seed: int, make_sampler: Callable[..., Any]) -> list[list[int]]:
    mod.manual_seed(seed)
    g = mod.Generator().manual_seed(seed + 1)
    sampler = make_sampler(lib, g)
    return [list(sampler) for _ in range(3)]


SEEDED: list[Callable[[Any, Any], Any]] = [
    lambda lib, g: lib.RandomSampler(range(23), generator=g),
    lambda lib, g: lib.RandomSampler(range(23)),  # a fresh generator seeded from the default
    lambda lib, g: lib.RandomSampler(range(9), num_samples=40, generator=g),
    lambda lib, g: lib.RandomSampler(range(9), replacement=True, num_samples=75, generator=g),
    lambda lib, g: lib.SubsetRandomSampler([5, 1, 8, 3, 9], generator=g),
    lambda lib, g: lib.SubsetRandomSampler([5, 1, 8, 3, 9]),
    lambda lib, g: lib.WeightedRandomSampler([0.1, 0.5, 0.2, 0.2], 30, generator=g),
    lambda lib, g: lib.WeightedRandomSampler([1.0, 3.0, 0.5, 2.0, 0.0], 4, False, generator=g),
]


@pytest.mark.parametrize("make_sampler", SEEDED)
def test_seeded_sampler_orders_equal_torchs(make_sampler: Callable[..., Any]) -> None:
    assert _orders(cud, chainrule, 11, make_sampler) == _orders(tud, torch, 11, make_sampler)


@pytest.mark.parametrize("use_generator", [True, False])
@pytest.mark.parametrize("options", [{"batch_size": 4}, {"batch_size": 3, "drop_last": True}])
def test_seeded_shuffled_loaders_equal_torchs(use_generator: bool, options: dict[str, Any]) -> None:
    """Three epochs of shuffled batches, with the loader's generator or the default one,
    with a draw from the default generator between epochs (a training loop's dropout)."""
    results = []
    for lib, mod in LIBS:
        mod.manual_seed(21)
        g = mod.Generator().manual_seed(4) if use_generator else None
        loader = lib.DataLoader(make(lib, "records"), shuffle=True, generator=g, **options)
        epochs = []
        for _ in range(3):
            epochs.append([plain(b) for b in loader])
            epochs.append(mod.rand(2, dtype=mod.float64).tolist())
        results.append(epochs)
    assert results[0] == results[1]


def test_seeded_random_split_equals_torchs() -> None:
    splits = []
    for lib, mod in LIBS:
        parts = lib.random_split(range(17), [0.5, 0.3, 0.2], mod.Generator().manual_seed(42))
        splits.append([list(p.indices) for p in parts])
    assert splits[0] == splits[1]
