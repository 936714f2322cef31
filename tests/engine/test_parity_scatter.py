# ruff: noqa: E501 - the case table keeps one op per line
"""Writing at positions (tensor_methods/scatter.py), unfold, hardshrink/prelu methods, the
legacy constructors and Python-callable fills, and torch.range, against torch 2.13."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr
from tests.support.op_cases import case
from tests.support.parity import assert_parity, check_gradcheck


def _idx(lib: Any, *values: Any) -> Any:
    return tuple(lib.tensor(v) for v in values)


def both(fn: Any) -> Any:
    """fn(lib, *tensors) for chainrule and torch alike."""
    return lambda *xs: fn(cr if isinstance(xs[0], cr.Tensor) else torch, *xs)


MASK = np.array(
    [[True, False, True, False], [False, True, True, False], [True, False, False, True]]
)
CASES = [
    case("index_put", both(lambda m, a, v: a.index_put(_idx(m, [0, 2], [1, 3]), v)), None, (3, 4), (2,)),
    case("index_put-accumulate", both(lambda m, a, v: a.index_put(_idx(m, [0, 0, 2], [1, 1, 3]), v, accumulate=True)), None, (3, 4), (3,)),
    case("index_put-rows", both(lambda m, a, v: a.index_put(_idx(m, [2, 0]), v)), None, (3, 4), (2, 4)),
    case("index_put-mask", both(lambda m, a, v: a.index_put((m.tensor(MASK),), v)), None, (3, 4), (6,)),
    case("fn-index_put", both(lambda m, a, v: m.index_put(a, _idx(m, [1]), v)), None, (3, 4), (4,)),
    case("put", both(lambda m, a, v: a.put(m.tensor([0, 5, -1]), v)), None, (3, 4), (3,)),
    case("put-accumulate", both(lambda m, a, v: m.put(a, m.tensor([1, 1, 7]), v, accumulate=True)), None, (3, 4), (3,)),
    case("masked_scatter", both(lambda m, a, s: a.masked_scatter(m.tensor(MASK), s)), None, (3, 4), (8,)),
    case("scatter_reduce-sum", both(lambda m, a, s: a.scatter_reduce(0, m.tensor([[0, 1, 0, 2], [0, 0, 1, 2]]), s, "sum")), None, (3, 4), (2, 4)),
    case("scatter_reduce-mean", both(lambda m, a, s: a.scatter_reduce(1, m.tensor([[0, 0], [1, 3], [2, 2]]), s, "mean", include_self=False)), None, (3, 4), (3, 2)),
    case("index_reduce-mean", both(lambda m, a, s: a.index_reduce(0, m.tensor([0, 2, 0]), s, "mean")), None, (3, 4), (3, 4)),
    case("select_scatter", both(lambda m, a, s: m.select_scatter(a, s, 1, 2)), None, (3, 4), (3,)),
    case("slice_scatter", both(lambda m, a, s: a.slice_scatter(s, 1, 0, 4, 2)), None, (3, 4), (3, 2)),
    case("diagonal_scatter", both(lambda m, a, s: a.diagonal_scatter(s, 1)), None, (3, 4), (3,)),
    case("unfold", lambda a: a.unfold(1, 2, 1), None, (3, 5)),
    case("unfold-step", lambda a: a.unfold(0, 3, 2), None, (7, 2)),
    case("unfold-middle", lambda a: a.unfold(1, 2, 2), None, (2, 5, 3)),
    case("hardshrink", lambda a: a.hardshrink(0.3), None, np.array([[0.5, -0.1, 0.9], [-0.7, 0.2, 0.0]])),
    case("fn-prelu", both(lambda m, a, w: m.prelu(a, w)), None, (4, 3), (3,)),
]  # fmt: skip


@pytest.mark.parametrize(("fn", "torch_fn", "inputs", "draw"), CASES)
def test_parity(fn: Any, torch_fn: Any, inputs: Any, draw: dict[str, Any]) -> None:
    assert_parity(fn, torch_fn, inputs, **draw)


@pytest.mark.parametrize(("fn", "torch_fn", "inputs", "draw"), CASES)
def test_gradcheck(fn: Any, torch_fn: Any, inputs: Any, draw: dict[str, Any]) -> None:
    check_gradcheck(fn, inputs, **draw)


BASE = np.arange(12.0).reshape(3, 4) - 5
INDEX = np.array([[0, 1, 0, 2], [0, 0, 1, 2]])


@pytest.mark.parametrize("reduce", ["prod", "amax", "amin", "sum", "mean"])
@pytest.mark.parametrize("include_self", [True, False])
def test_reductions_values(reduce: str, include_self: bool) -> None:
    src = np.array([[2.0, -1.0, 3.0, 0.5], [4.0, 6.0, -2.0, 1.5]])
    out = []
    for m in (cr, torch):
        base = m.tensor(BASE)
        out.append(
            base.scatter_reduce(
                0, m.tensor(INDEX), m.tensor(src), reduce, include_self=include_self
            ).numpy()
        )
        if reduce != "sum":
            out.append(
                base.index_reduce(
                    1,
                    m.tensor([0, 3, 0, 1]),
                    m.tensor(BASE * 0.5),
                    reduce,
                    include_self=include_self,
                ).numpy()
            )
    half = len(out) // 2
    for ours, theirs in zip(out[:half], out[half:], strict=True):
        np.testing.assert_allclose(ours, theirs)
    ints = [
        m.tensor(BASE.astype(np.int64)).scatter_reduce(
            0, m.tensor(INDEX), m.tensor(src.astype(np.int64)), reduce, include_self=include_self
        )
        for m in (cr, torch)
    ]
    assert ints[0].dtype.name == str(ints[1].dtype)[6:]
    np.testing.assert_array_equal(ints[0].numpy(), ints[1].numpy())


def test_inplace_twins_and_fills() -> None:
    for name, args in [("index_put_", lambda m: (_idx(m, [1, 2], [0, 3]), m.tensor([7.0, 8.0], dtype=m.float64))),
                       ("put_", lambda m: (m.tensor([1, 10]), m.tensor([7.0, 8.0], dtype=m.float64))),
                       ("masked_scatter_", lambda m: (m.tensor(MASK), m.arange(8.0, dtype=m.float64))),
                       ("scatter_reduce_", lambda m: (0, m.tensor(INDEX), m.ones(2, 4, dtype=m.float64) * 3, "amax")),
                       ("index_reduce_", lambda m: (0, m.tensor([2, 2]), m.ones(2, 4, dtype=m.float64), "prod")),
                       ("fill_diagonal_", lambda m: (9.0,))]:  # fmt: skip
        ours, theirs = cr.tensor(BASE), torch.tensor(BASE)
        assert getattr(ours, name)(*args(cr)) is ours
        getattr(theirs, name)(*args(torch))
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=name)
    assert (
        torch.index_put_ is not None
        and cr.index_put_(t := cr.zeros(3), (cr.tensor([1]),), cr.tensor(2.0)) is t
    )
    for shape, wrap in [((5, 3), True), ((5, 3), False), ((3, 5), False), ((3, 3, 3), False)]:
        ours, theirs = cr.zeros(shape), torch.zeros(shape)
        ours.fill_diagonal_(1.0, wrap=wrap)
        theirs.fill_diagonal_(1.0, wrap=wrap)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_legacy_constructors_and_callables() -> None:
    for m in (cr, torch):
        base = m.tensor([1.5, -2.0], dtype=m.float64)
        assert base.new(2, 3).shape == (2, 3) and base.new(2, 3).dtype == base.dtype
        assert base.new([1, 2]).tolist() == [1.0, 2.0] and base.new().shape == (0,)
        assert base.new_empty_strided((2, 2), (2, 1)).shape == (2, 2)
        assert base[:1].is_nonzero() is True
        with pytest.raises(RuntimeError, match="ambiguous"):
            base.is_nonzero()
        t = m.tensor([1.0, 2.0, 3.0])
        assert t.apply_(lambda v: v * 10).tolist() == [10.0, 20.0, 30.0]
        assert t.map_(m.tensor([1.0, 2.0, 3.0]), lambda a, b: a - b).tolist() == [9.0, 18.0, 27.0]
        assert t.map2_(m.ones(3), m.ones(3) * 2, lambda a, b, c: a + b * c).tolist() == [
            11.0,
            20.0,
            29.0,
        ]
        assert t.conj_physical_() is t


@pytest.mark.parametrize("args", [(1, 4), (0, 1, 0.25), (2, -1, -0.5)])
def test_range_includes_the_end(args: tuple[Any, ...]) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.range(*args)
    ours = cr.range(*args)
    assert ours.dtype.name == str(theirs.dtype)[6:]
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())


def test_errors_match_torch() -> None:
    for m in (cr, torch):
        with pytest.raises(RuntimeError):
            m.ones(3, 4).unfold(1, 5, 1)
        with pytest.raises(RuntimeError):
            m.ones(3, 4, 2).fill_diagonal_(1.0)
    with pytest.raises(NotImplementedError, match="gradient of scatter_reduce"):
        cr.ones(3, requires_grad=True).scatter_reduce(0, cr.tensor([0]), cr.ones(1), "amax")
