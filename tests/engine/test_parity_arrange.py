# ruff: noqa: E501 - the case table keeps one op per line
"""Rearranging, statistics and integer math (tensor_methods/arrange.py, statistics.py,
integer.py) against torch 2.13: values, dtypes and gradients, finite differences for the
differentiable names, values and dtypes for the rest, and the in-place twins."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr
from tests.support.op_cases import case
from tests.support.parity import assert_parity, check_gradcheck

DISTINCT = np.array([[0.3, -1.2, 2.5, 0.9], [1.7, -0.4, -2.2, 0.1], [-0.8, 1.1, 0.6, -1.9]])
WITH_NAN = np.array(
    [[0.3, np.nan, 2.5, 0.9], [np.nan, np.nan, np.nan, np.nan], [-0.8, 1.1, np.nan, -1.9]]
)

CASES = [
    case("select", lambda a: a.select(1, 2), None, (3, 4)),
    case("fn-select", lambda a: cr.select(a, 0, -1), lambda a: torch.select(a, 0, -1), (3, 4)),
    case("hsplit", lambda a: a.hsplit(2), None, (3, 4)),
    case("hsplit-indices", lambda a: a.hsplit([1, 3]), None, (3, 4)),
    case("vsplit", lambda a: a.vsplit(3), None, (3, 4)),
    case("dsplit", lambda a: a.dsplit([1]), None, (2, 2, 3)),
    case("split_with_sizes", lambda a: a.split_with_sizes([1, 3], 1), None, (3, 4)),
    case("unsafe_split", lambda a: a.unsafe_split(2), None, (3, 4)),
    case("unsafe_chunk", lambda a: a.unsafe_chunk(2, 1), None, (3, 4)),
    case("rot90", lambda a: a.rot90(), None, (3, 4)),
    case("rot90-2", lambda a: a.rot90(2, [1, 2]), None, (2, 3, 4)),
    case("rot90-neg", lambda a: a.rot90(-1), None, (3, 4)),
    case("fn-rot90-3", lambda a: cr.rot90(a, 3), lambda a: torch.rot90(a, 3), (3, 4)),
    case("kron", lambda a, b: a.kron(b), None, (2, 3), (3, 2)),
    case("kron-ndim", lambda a, b: cr.kron(a, b), lambda a, b: torch.kron(a, b), (3,), (2, 2)),
    case("cross", lambda a, b: a.cross(b, dim=1), None, (4, 3), (4, 3)),
    case("fn-cross-default", lambda a, b: cr.cross(a, b), lambda a, b: torch.cross(a, b), (3, 2), (3, 2)),
    case("diagflat", lambda a: a.diagflat(), None, (2, 2)),
    case("diagflat-offset", lambda a: cr.diagflat(a, 1), lambda a: torch.diagflat(a, 1), (3,)),
    case("where-method", lambda a, b: a.where(a > 0, b), None, (3, 4), (3, 4), avoid_zero=True),
    case("diff-method", lambda a: a.diff(dim=0), None, (3, 4)),
    case("vdot", lambda a, b: a.vdot(b), None, (4,), (4,)),
    case("addmv", lambda c, m, v: c.addmv(m, v, beta=0.5, alpha=2), None, (3,), (3, 4), (4,)),
    case("addr", lambda c, a, b: cr.addr(c, a, b, alpha=3), lambda c, a, b: torch.addr(c, a, b, alpha=3), (3, 2), (3,), (2,)),
    case("baddbmm", lambda c, a, b: c.baddbmm(a, b, beta=2), None, (2, 3, 4), (2, 3, 5), (2, 5, 4)),
    case("addbmm", lambda c, a, b: c.addbmm(a, b, alpha=0.5), None, (3, 4), (2, 3, 5), (2, 5, 4)),
    case("narrow_copy", lambda a: a.narrow_copy(1, 1, 2), None, (3, 4)),
    case("sum_to_size", lambda a: a.sum_to_size(1, 4), None, (3, 4)),
    case("sum_to_size-lead", lambda a: a.sum_to_size((3, 1)), None, (2, 3, 4)),
    case("cummax", lambda a: a.cummax(1), None, DISTINCT),
    case("cummin", lambda a: cr.cummin(a, 0), lambda a: torch.cummin(a, 0), DISTINCT),
    case("logcumsumexp", lambda a: a.logcumsumexp(1), None, (3, 4)),
    case("logcumsumexp-wide", lambda a: a.logcumsumexp(0), None, DISTINCT * 40),
    case("quantile", lambda a: a.quantile(0.3), None, DISTINCT),
    case("quantile-dim", lambda a: a.quantile(cr.tensor([0.25, 0.5, 0.9], dtype=cr.float64), dim=1, keepdim=True), lambda a: a.quantile(torch.tensor([0.25, 0.5, 0.9], dtype=torch.float64), dim=1, keepdim=True), DISTINCT),
    *[case(f"quantile-{how}", lambda a, h=how: a.quantile(0.4, dim=0, interpolation=h), None, DISTINCT) for how in ("lower", "higher", "midpoint", "nearest")],
    case("nanquantile", lambda a: a.nanquantile(0.5, dim=1), None, DISTINCT),
    case("nanmedian", lambda a: a.nanmedian(), None, DISTINCT),
    case("nanmedian-dim", lambda a: a.nanmedian(1), None, DISTINCT),
    case("cov", lambda a: a.cov(), None, (3, 5)),
    case("cov-correction", lambda a: cr.cov(a, correction=0), lambda a: torch.cov(a, correction=0), (2, 6)),
    case("cov-weights", lambda a: a.cov(fweights=cr.tensor([1, 2, 1, 3]), aweights=cr.tensor([0.5, 1.0, 2.0, 1.5], dtype=cr.float64)), lambda a: a.cov(fweights=torch.tensor([1, 2, 1, 3]), aweights=torch.tensor([0.5, 1.0, 2.0, 1.5], dtype=torch.float64)), (3, 4)),
    case("cov-vector", lambda a: a.cov(), None, (5,)),
    case("corrcoef", lambda a: a.corrcoef(), None, (3, 6)),
    case("dist", lambda a, b: a.dist(b), None, (3, 4), (3, 4)),
    case("dist-1", lambda a, b: cr.dist(a, b, 1), lambda a, b: torch.dist(a, b, 1), (3, 4), (4,), avoid_zero=True),
    case("renorm", lambda a: a.renorm(2, 0, 1.0), None, (3, 4)),
    case("renorm-1", lambda a: a.renorm(1, 1, 1.5), None, (3, 4)),
    # non-negative integer exponents: torch's gradient for a negative one is 0 (2**-2 in integers)
    case("ldexp", lambda a: a.ldexp(cr.tensor([1, 2, 3, 0])), lambda a: a.ldexp(torch.tensor([1, 2, 3, 0])), (3, 4)),
]  # fmt: skip


@pytest.mark.parametrize(("fn", "torch_fn", "inputs", "draw"), CASES)
def test_parity(fn: Any, torch_fn: Any, inputs: Any, draw: dict[str, Any]) -> None:
    assert_parity(fn, torch_fn, inputs, **draw)


@pytest.mark.parametrize(("fn", "torch_fn", "inputs", "draw"), CASES)
def test_gradcheck(fn: Any, torch_fn: Any, inputs: Any, draw: dict[str, Any]) -> None:
    def first(*xs: Any) -> Any:
        out = fn(*xs)
        return out[0] if isinstance(out, (tuple, list)) else out

    check_gradcheck(first, inputs, **draw)


INTS = np.array([[12, -18, 7, 0], [5, 9, -4, 30], [8, 3, 15, 6]])
TIES = np.array([[1.0, 3.0, 3.0, 2.0, 5.0, 5.0], [0.0, -1.0, 0.0, 0.0, 4.0, -2.0]])
VALUE_CASES = [
    ("gcd", INTS, lambda t: t.gcd(t.flip(1))),
    ("lcm", INTS, lambda t: t.lcm(t.flip(0))),
    ("fn-gcd", INTS, lambda t: (cr if isinstance(t, cr.Tensor) else torch).gcd(t, t * 2 + 1)),
    ("left-shift", INTS.clip(0), lambda t: t.bitwise_left_shift(2)),
    ("right-shift", INTS, lambda t: t.bitwise_right_shift(1)),
    ("lshift-operator", INTS.clip(0), lambda t: t << 1),
    ("rshift-operator", INTS, lambda t: t >> 2),
    ("heaviside", TIES - 1, lambda t: t.heaviside(t.new_tensor(0.5))),
    ("nextafter", TIES, lambda t: t.nextafter(t * 0 + 10)),
    ("frexp", TIES * 3.7 - 2, lambda t: t.frexp()),
    ("ldexp-int", INTS, lambda t: t.ldexp(t.new_tensor(2))),
    ("cummax-ties", TIES, lambda t: t.cummax(1)),
    ("cummin-ties", TIES, lambda t: t.cummin(1)),
    ("cummax-int", INTS, lambda t: t.cummax(0)),
    ("unique_consecutive", np.array([1, 1, 2, 2, 3, 1, 1, 2]), lambda t: t.unique_consecutive(return_inverse=True, return_counts=True)),
    ("fn-unique_consecutive", np.array([3, 3, 1]), lambda t: (cr if isinstance(t, cr.Tensor) else torch).unique_consecutive(t)),
    ("nonzero_static-pad", np.array([[0, 1], [2, 0]]), lambda t: t.nonzero_static(size=4)),
    ("nonzero_static-cut", np.array([1, 1, 0, 1]), lambda t: (cr if isinstance(t, cr.Tensor) else torch).nonzero_static(t, size=2, fill_value=7)),
    ("nanquantile-nan", WITH_NAN, lambda t: t.nanquantile(0.5, dim=1)),
    ("quantile-nan", WITH_NAN, lambda t: t.quantile(0.5, dim=1)),
    ("nanmedian-nan", WITH_NAN[[0, 2]], lambda t: t.nanmedian(1)),
    ("nanmedian-all-nan-row", WITH_NAN, lambda t: t.nanmedian(1).values),
    ("nanmedian-all", WITH_NAN, lambda t: t.nanmedian()),
    ("corrcoef-ints", INTS, lambda t: t.corrcoef()),
    ("cov-ints", INTS, lambda t: t.cov()),
]  # fmt: skip


def _compare(ours: Any, theirs: Any) -> None:
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            _compare(a, b)
        return
    assert ours.dtype.name == str(theirs.dtype).removeprefix("torch."), (ours.dtype, theirs.dtype)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(("name", "values", "fn"), VALUE_CASES, ids=[c[0] for c in VALUE_CASES])
def test_values_and_dtypes(name: str, values: Any, fn: Any) -> None:
    _compare(fn(cr.tensor(values)), fn(torch.tensor(values)))


def test_inplace_twins_match_torch() -> None:
    for name, values, args in [
        ("gcd_", INTS, lambda m: (m.tensor([4, 6, 8, 9]),)),
        ("lcm_", INTS, lambda m: (m.tensor(3),)),
        ("bitwise_left_shift_", INTS.clip(0), lambda m: (1,)),
        ("bitwise_and_", INTS, lambda m: (6,)),
        ("bitwise_or_", INTS, lambda m: (1,)),
        ("bitwise_xor_", INTS, lambda m: (5,)),
        ("heaviside_", DISTINCT, lambda m: (m.tensor(0.5, dtype=m.float64),)),
        ("ldexp_", DISTINCT, lambda m: (m.tensor(2.0, dtype=m.float64),)),
        ("nextafter_", DISTINCT, lambda m: (m.tensor(0.0, dtype=m.float64),)),
        ("renorm_", DISTINCT, lambda m: (2, 0, 1.0)),
        ("addmv_", DISTINCT[0, :3], lambda m: (m.ones(3, 2, dtype=m.float64), m.ones(2, dtype=m.float64))),
        ("addr_", DISTINCT, lambda m: (m.ones(3, dtype=m.float64), m.ones(4, dtype=m.float64))),
    ]:  # fmt: skip
        ours, theirs = cr.tensor(values), torch.tensor(values)
        assert getattr(ours, name)(*args(cr)) is ours
        getattr(theirs, name)(*args(torch))
        _compare(ours, theirs)


def test_errors_match_torch() -> None:
    for module in (cr, torch):
        with pytest.raises(RuntimeError, match="not divisible"):
            module.ones(3, 4).hsplit(3)
        with pytest.raises(RuntimeError, match="in the range"):
            module.ones(3).quantile(1.5)
        with pytest.raises(IndexError):
            module.ones(3, 4).select(1, 4)
        with pytest.raises(RuntimeError):
            module.ones(3).gcd(module.ones(3))
