"""chainrule.data's PyTorch-style pipeline: TensorDataset, Subset, random_split, DataLoader."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import (
    DataLoader,
    Dataset,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)


def make_dataset(n: int = 10, features: int = 3) -> TensorDataset:
    """Row i of X is i, i+0.5, ...; y[i] = i, so every batch reveals which samples it holds."""
    X = cr.tensor(np.arange(n)[:, None] + 0.5 * np.arange(features)[None, :], dtype=cr.float32)
    return TensorDataset(X, cr.arange(n))


def seeded(seed: int = 0) -> cr.Generator:
    return cr.Generator().manual_seed(seed)


def epoch_ids(loader: DataLoader) -> list[list[int]]:
    return [batch[1].tolist() for batch in loader]


class Squares(Dataset):
    """A plain map-style dataset (no batch indexing): sample i is (i, i**2 as float)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.calls = 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: Any) -> tuple[int, float]:
        self.calls += 1
        if not 0 <= index < self.n:
            raise IndexError(index)
        return index, float(index) ** 2


# --------------------------------------------------------------------------- TensorDataset
def test_tensor_dataset_int_index_returns_tuple_of_tensors() -> None:
    ds = make_dataset(10, 3)
    assert len(ds) == 10
    x, y = ds[4]
    assert isinstance(x, cr.Tensor) and isinstance(y, cr.Tensor)
    assert x.shape == (3,) and y.shape == ()
    np.testing.assert_allclose(x.numpy(), [4.0, 4.5, 5.0])
    assert y.item() == 4
    assert ds[-1][1].item() == 9
    assert ds[np.int64(2)][1].item() == 2
    assert ds[cr.tensor(3)][1].item() == 3


@pytest.mark.parametrize(
    "index",
    [np.array([7, 1, 3]), [7, 1, 3], cr.tensor([7, 1, 3])],
    ids=["ndarray", "list", "tensor"],
)
def test_tensor_dataset_batch_index(index: Any) -> None:
    x, y = make_dataset(10, 3)[index]
    assert x.shape == (3, 3) and y.shape == (3,)
    assert y.tolist() == [7, 1, 3]
    np.testing.assert_allclose(x.numpy()[:, 0], [7, 1, 3])


def test_tensor_dataset_slice_and_bool_mask() -> None:
    ds = make_dataset(10)
    assert ds[2:5][1].tolist() == [2, 3, 4]
    mask = np.arange(10) % 3 == 0
    assert ds[mask][1].tolist() == [0, 3, 6, 9]


def test_tensor_dataset_index_errors() -> None:
    ds = make_dataset(5)
    with pytest.raises(IndexError):
        ds[5]
    with pytest.raises(IndexError):
        ds[-6]
    with pytest.raises(IndexError):
        ds[np.array([0, 5])]
    with pytest.raises(IndexError):
        ds[np.array([0.5])]


def test_tensor_dataset_size_mismatch_names_sizes() -> None:
    with pytest.raises(ValueError, match=r"\[4, 3\]"):
        TensorDataset(cr.zeros(4, 2), cr.zeros(3))


def test_tensor_dataset_needs_tensors_with_a_sample_dim() -> None:
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(ValueError, match="first"):
        TensorDataset(cr.tensor(1.0))


def test_tensor_dataset_accepts_ndarrays() -> None:
    ds = TensorDataset(np.zeros((4, 2), dtype=np.float32), np.arange(4))
    x, y = ds[1]
    assert isinstance(x, cr.Tensor) and x.dtype == np.float32 and y.item() == 1


def test_tensor_dataset_keeps_the_graph_for_tensors_that_require_grad() -> None:
    X = cr.randn(4, 2, requires_grad=True)
    (xb,) = TensorDataset(X)[np.array([0, 2])]
    xb.sum().backward()
    assert X.grad is not None
    np.testing.assert_array_equal(X.grad.numpy(), [[1, 1], [0, 0], [1, 1], [0, 0]])


# --------------------------------------------------------------------------- DataLoader
@pytest.mark.parametrize(
    ("n", "batch_size", "drop_last", "expected"),
    [
        (10, 3, False, 4),
        (10, 3, True, 3),
        (9, 3, False, 3),
        (9, 3, True, 3),
        (2, 5, False, 1),
        (2, 5, True, 0),
        (0, 4, False, 0),
        (10, 1, False, 10),
    ],
)
def test_len_is_the_number_of_batches(
    n: int, batch_size: int, drop_last: bool, expected: int
) -> None:
    loader = DataLoader(make_dataset(n), batch_size=batch_size, drop_last=drop_last)
    assert len(loader) == expected
    assert len(list(loader)) == expected


def test_batches_are_lists_of_batched_tensors_in_order() -> None:
    loader = DataLoader(make_dataset(10, 3), batch_size=4)
    batches = list(loader)  # lists, as torch's default_collate makes of (x, y) samples
    assert all(isinstance(batch, list) and len(batch) == 2 for batch in batches)
    assert [b[0].shape for b in batches] == [(4, 3), (4, 3), (2, 3)]
    assert epoch_ids(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    xb, yb = batches[1]
    np.testing.assert_allclose(xb.numpy()[:, 0], yb.numpy())


def test_drop_last_drops_the_short_batch() -> None:
    loader = DataLoader(make_dataset(10), batch_size=4, drop_last=True)
    assert epoch_ids(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_default_batch_size_is_one() -> None:
    batches = list(DataLoader(make_dataset(3)))
    assert len(batches) == 3 and batches[0][0].shape == (1, 3)


def test_shuffle_covers_every_sample_once_per_epoch() -> None:
    loader = DataLoader(make_dataset(23), batch_size=5, shuffle=True, generator=seeded(1))
    for _ in range(3):
        ids = [i for batch in epoch_ids(loader) for i in batch]
        assert sorted(ids) == list(range(23))


def test_shuffle_is_reproducible_and_differs_across_epochs() -> None:
    def two_epochs(seed: int) -> list[list[list[int]]]:
        loader = DataLoader(make_dataset(20), batch_size=4, shuffle=True, generator=seeded(seed))
        return [epoch_ids(loader), epoch_ids(loader)]

    first, second = two_epochs(0)
    assert two_epochs(0) == [first, second]
    assert first != second
    assert first != list(np.arange(20).reshape(5, 4).tolist())
    assert two_epochs(1)[0] != first


def test_shuffle_uses_the_default_generator_when_none_is_given() -> None:
    loader = DataLoader(make_dataset(20), batch_size=20, shuffle=True)
    cr.manual_seed(7)
    a = epoch_ids(loader)
    cr.manual_seed(7)
    assert epoch_ids(loader) == a


def test_shuffle_with_drop_last_drops_a_random_remainder() -> None:
    loader = DataLoader(
        make_dataset(10), batch_size=3, shuffle=True, drop_last=True, generator=seeded(0)
    )
    ids = [i for batch in epoch_ids(loader) for i in batch]
    assert len(ids) == 9 and len(set(ids)) == 9


def test_tensor_dataset_batches_use_one_fetch_per_batch() -> None:
    class Counting(TensorDataset):
        calls = 0

        def __getitem__(self, index: Any) -> tuple[cr.Tensor, ...]:
            Counting.calls += 1
            return super().__getitem__(index)

    ds = Counting(cr.zeros(100, 2), cr.arange(100))
    assert len(list(DataLoader(ds, batch_size=10, shuffle=True))) == 10
    assert Counting.calls == 10


def test_invalid_batch_size() -> None:
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="batch_size"):
            DataLoader(make_dataset(4), batch_size=bad)  # type: ignore[arg-type]


def test_batch_size_none_yields_single_samples() -> None:
    loader = DataLoader(Squares(3), batch_size=None)
    assert len(loader) == 3
    # default_convert turns each tuple into a list, as torch's does
    assert list(loader) == [[0, 0.0], [1, 1.0], [2, 4.0]]


def test_generic_dataset_is_collated() -> None:
    ds = Squares(5)
    batches = list(DataLoader(ds, batch_size=2))
    assert ds.calls == 5
    index, square = batches[0]
    assert index.dtype == np.int64 and index.tolist() == [0, 1]
    assert square.dtype == np.float64 and square.tolist() == [0.0, 1.0]  # as torch
    assert batches[-1][0].tolist() == [4]


def test_custom_collate_fn() -> None:
    loader = DataLoader(Squares(4), batch_size=2, collate_fn=lambda samples: samples)
    assert list(loader) == [[(0, 0.0), (1, 1.0)], [(2, 4.0), (3, 9.0)]]


def test_repr_mentions_the_settings() -> None:
    assert "batch_size=4" in repr(DataLoader(make_dataset(4), batch_size=4))


# --------------------------------------------------------------------------- default_collate
def test_default_collate_rules() -> None:
    Point = namedtuple("Point", ["x", "y"])
    batch = [
        {
            "image": np.full((2, 2), i, dtype=np.uint8),
            "t": cr.tensor([i, i]),
            "flag": i > 0,
            "name": f"s{i}",
            "pair": (i, float(i)),
            "point": Point(i, [i, i]),
            "np": np.float64(i),
        }
        for i in range(3)
    ]
    out = default_collate(batch)
    assert out["image"].shape == (3, 2, 2) and out["image"].dtype == np.uint8
    assert out["t"].shape == (3, 2) and out["t"].dtype == np.int64
    assert out["flag"].dtype == np.bool_ and out["flag"].tolist() == [False, True, True]
    assert out["name"] == ["s0", "s1", "s2"]
    assert isinstance(out["pair"], list) and out["pair"][1].dtype == np.float64  # as torch
    assert isinstance(out["point"], Point) and isinstance(out["point"].y, list)
    assert out["point"].y[0].tolist() == [0, 1, 2]
    assert out["np"].dtype == np.float64


def test_default_collate_errors() -> None:
    with pytest.raises(RuntimeError, match="shape"):
        default_collate([cr.zeros(2), cr.zeros(3)])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(TypeError, match="object"):
        default_collate([object(), object()])
    with pytest.raises(ValueError, match="empty"):
        default_collate([])


def test_default_collate_keeps_the_graph() -> None:
    w = cr.ones(2, requires_grad=True)
    out = default_collate([w * 2, w * 3])
    out.sum().backward()
    assert w.grad is not None and w.grad.tolist() == [5.0, 5.0]


# --------------------------------------------------------------------------- Subset
def test_subset_indexing_and_batches() -> None:
    sub = Subset(make_dataset(10), [9, 2, 5])
    assert len(sub) == 3
    assert sub[0][1].item() == 9
    assert sub[np.array([2, 0])][1].tolist() == [5, 9]
    assert epoch_ids(DataLoader(sub, batch_size=2)) == [[9, 2], [5]]


def test_subset_of_a_generic_dataset() -> None:
    sub = Subset(Squares(10), np.array([3, 4]))
    assert sub[1] == (4, 16.0)
    assert sub[[0, 1]] == [(3, 9.0), (4, 16.0)]
    (index, square) = next(iter(DataLoader(sub, batch_size=2)))
    assert index.tolist() == [3, 4] and square.tolist() == [9.0, 16.0]


# --------------------------------------------------------------------------- random_split
def test_random_split_int_lengths_are_disjoint_and_complete() -> None:
    parts = random_split(make_dataset(10), [6, 3, 1], generator=seeded(0))
    assert [len(p) for p in parts] == [6, 3, 1]
    ids = [i for p in parts for i in p.indices]
    assert sorted(ids) == list(range(10))


@pytest.mark.parametrize(
    ("n", "fractions", "expected"),
    [
        (10, [0.7, 0.3], [7, 3]),
        (11, [0.5, 0.5], [6, 5]),
        (10, [0.34, 0.33, 0.33], [4, 3, 3]),
        (7, [1 / 3, 1 / 3, 1 / 3], [3, 2, 2]),
    ],
)
def test_random_split_fractions_follow_pytorch(
    n: int, fractions: list[float], expected: list[int]
) -> None:
    parts = random_split(make_dataset(n), fractions, generator=seeded(0))
    assert [len(p) for p in parts] == expected
    assert sorted(i for p in parts for i in p.indices) == list(range(n))


def test_random_split_is_reproducible() -> None:
    a = random_split(make_dataset(10), [5, 5], generator=seeded(3))
    b = random_split(make_dataset(10), [5, 5], generator=seeded(3))
    c = random_split(make_dataset(10), [5, 5], generator=seeded(4))
    assert [p.indices for p in a] == [p.indices for p in b]
    assert [p.indices for p in a] != [p.indices for p in c]


def test_random_split_errors() -> None:
    with pytest.raises(ValueError, match="does not equal"):
        random_split(make_dataset(10), [3, 3])
    with pytest.raises(ValueError, match="between 0 and 1"):
        random_split(make_dataset(10), [1.5, -0.5])
    with pytest.raises(ValueError, match="fractions"):
        random_split(make_dataset(10), [0.5, 0.2])
    with pytest.warns(UserWarning, match="empty"):
        random_split(make_dataset(2), [0.9, 0.1])


@pytest.mark.parametrize("n", [1, 10, 1000])
def test_shuffled_epochs_are_torchs_orders_from_the_same_draws(n: int) -> None:
    """The loader builds its order in int32 (half of randperm's memory); each epoch is the
    permutation torch's DataLoader draws from the same generator: one 64-bit base seed, then
    randperm, then (at the epoch's end) one more randperm that torch's sampler throws away."""
    torch = pytest.importorskip("torch")
    loader = DataLoader(make_dataset(n), batch_size=3, shuffle=True, generator=seeded(4))
    theirs = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.arange(n)),
        batch_size=3,
        shuffle=True,
        generator=torch.Generator().manual_seed(4),
    )
    reference = seeded(4)
    for _ in range(2):
        seen = np.concatenate([batch[1].numpy() for batch in loader])
        np.testing.assert_array_equal(seen, np.concatenate([b[0].numpy() for b in theirs]))
        reference.random64(1)  # the base seed
        np.testing.assert_array_equal(seen, cr.randperm(n, generator=reference).numpy())
        cr.randperm(n, generator=reference)  # the sampler's trailing permutation
    assert next(loader.sampler.chunks()).dtype == np.int32
