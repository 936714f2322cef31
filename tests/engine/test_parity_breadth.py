# ruff: noqa: E501 - the case table keeps one op per line
"""The PyTorch breadth (ops/pointwise.py, tensor_methods/, functions.py) against torch 2.13:
forward values, dtypes and gradients (assert_parity), and finite differences (gradcheck)
for every differentiable name. Non-differentiable names (comparisons, sampling, counting)
are compared by value and dtype below the table."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as CF
from chainrule.ops.pointwise import BINARY, UNARY
from tests.support.op_cases import case
from tests.support.parity import assert_parity, check_gradcheck

UNIT = {"asin", "acos", "atanh", "logit", "erfinv"}
POSITIVE = {"log2", "log10", "log1p", "rsqrt", "reciprocal"}
ABOVE_ONE = np.array([[1.2, 1.5, 2.0], [3.0, 4.5, 1.1]])
OFF_INTEGERS = np.array([[-2.7, -1.2, -0.4], [0.3, 1.6, 2.45]])  # floor/round away from jumps


def _unary(name: str) -> Any:
    if name == "acosh":
        return case(name, lambda a: getattr(a, name)(), None, ABOVE_ONE)
    if name in ("floor", "ceil", "trunc", "fix", "frac", "sign", "sgn"):
        return case(name, lambda a: getattr(a, name)(), None, OFF_INTEGERS)
    domain = "unit" if name in UNIT else "positive" if name in POSITIVE else "real"
    return case(name, lambda a: getattr(a, name)(), None, (3, 4), domain=domain)


def _function(name: str) -> Any:
    """torch.name(x) and chainrule.name(x) (the module-level twin of the method)."""
    domain = "unit" if name in UNIT else "positive" if name in POSITIVE else "real"
    if name == "acosh":
        return case(f"fn-{name}", getattr(cr, name), getattr(torch, name), ABOVE_ONE)
    return case(f"fn-{name}", getattr(cr, name), getattr(torch, name), (5,), domain=domain)


A = np.array([[1.3, -2.1, 0.7], [2.2, 0.4, -1.6]])
B = np.array([[0.6, 1.1, -0.9], [-1.4, 0.3, 2.5]])
BINARY_CASES = [
    case(name, lambda a, b, n=name: getattr(a, n)(b), None, A, np.abs(B) + 0.5)
    if name in ("xlogy",)
    else case(name, lambda a, b, n=name: getattr(a, n)(b), None, A, B)
    for name in BINARY
    if name not in ("igamma", "igammac")  # no gradient in a: tests/test_parity_special.py
]

M = np.arange(1.0, 13.0).reshape(3, 4) / 3 - 2
WITH_ZEROS = np.array([[1.5, 0.0, -2.0, 0.5], [0.0, 0.0, 3.0, 1.2], [2.0, -1.0, 0.7, 1.1]])
IDX = np.array([[0, 2, 1, 0], [1, 0, 2, 2]])

DIFFERENTIABLE = [
    *[_unary(name) for name in UNARY if name != "sgn"],  # torch: sgn's grad is a ZeroTensor
    *[_function(name) for name in ("sin", "cos", "log2", "expm1", "erf", "atan", "acosh")],
    *BINARY_CASES,
    case("round", lambda a: a.round(), None, OFF_INTEGERS),
    case("round-decimals", lambda a: a.round(decimals=1), None, OFF_INTEGERS + 0.02),
    case("add-alpha", lambda a, b: a.add(b, alpha=2.5), None, (3, 4), (4,)),
    case("sub-alpha", lambda a, b: a.sub(b, alpha=0.5), None, (3, 4), (3, 4)),
    case("fn-add-kw", lambda a, b: cr.add(input=a, other=b, alpha=3), lambda a, b: torch.add(input=a, other=b, alpha=3), (3,), (3,)),
    case("rsub", lambda a, b: a.rsub(b), lambda a, b: torch.rsub(a, b), (3,), (3,)),
    case("mul-div", lambda a, b: a.mul(b).div(b.exp()), None, (2, 3), (2, 3)),
    case("mm", lambda a, b: a.mm(b), None, (2, 3), (3, 4)),
    case("bmm", lambda a, b: a.bmm(b), None, (2, 2, 3), (2, 3, 4)),
    case("mv", lambda a, b: a.mv(b), None, (2, 3), (3,)),
    case("dot", lambda a, b: a.dot(b), None, (4,), (4,)),
    case("outer", lambda a, b: a.outer(b), None, (4,), (3,)),
    case("addmm", lambda c, a, b: cr.addmm(c, a, b, beta=0.5, alpha=2.0), lambda c, a, b: torch.addmm(c, a, b, beta=0.5, alpha=2.0), (2, 4), (2, 3), (3, 4)),
    case("lerp", lambda a, b: a.lerp(b, 0.3), None, (3,), (3,)),
    case("addcmul", lambda a, b, c: a.addcmul(b, c, value=0.5), None, (3,), (3,), (3,)),
    case("addcdiv", lambda a, b, c: a.addcdiv(b, c, value=0.5), None, (3,), (3,), (3,), domain="positive"),
    case("float_power", lambda a: a.float_power(2), None, (3,)),
    case("clamp_min", lambda a: a.clamp_min(0.1), None, (3, 4)),
    case("prod", lambda a: a.prod(), None, (2, 3)),
    case("prod-dim", lambda a: a.prod(1, keepdim=True), None, (3, 4)),
    case("prod-zeros", lambda a: a.prod(1), None, WITH_ZEROS),
    case("prod-all-zeros", lambda a: a.prod(), None, WITH_ZEROS),
    case("cumsum", lambda a: a.cumsum(1), None, (3, 4)),
    case("cumsum-0", lambda a: a.cumsum(dim=0), None, (3, 4)),
    case("cumprod", lambda a: a.cumprod(1), None, (3, 4)),
    case("cumprod-zeros", lambda a: a.cumprod(1), None, WITH_ZEROS),
    case("logsumexp", lambda a: a.logsumexp(1), None, (3, 4)),
    case("logsumexp-keepdim", lambda a: a.logsumexp(0, keepdim=True), None, (3, 4)),
    case("norm", lambda a: a.norm(), None, (3, 4)),
    case("norm-dim", lambda a: a.norm(dim=1), None, (3, 4)),
    case("norm-1", lambda a: a.norm(1, dim=0), None, (3, 4), avoid_zero=True),
    case("norm-3", lambda a: a.norm(3), None, (3, 4), avoid_zero=True),
    case("std-keepdims", lambda a: a.std(1, keepdims=True), None, (3, 4)),
    case("std-correction", lambda a: a.std(dim=0, correction=0), None, (3, 4)),
    case("var-unbiased", lambda a: a.var(1, unbiased=False), None, (3, 4)),
    case("sum-keepdims", lambda a: a.sum(1, keepdims=True), None, (3, 4)),
    case("sum-axis", lambda a: a.sum(axis=0), None, (3, 4)),
    case("mean-tuple", lambda a: a.mean((0, 1), keepdim=True), None, (3, 4)),
    case("sort", lambda a: a.sort(1), None, (3, 4)),
    case("sort-desc", lambda a: a.sort(0, descending=True), None, (3, 4)),
    case("topk", lambda a: a.topk(2), None, (3, 4)),
    case("topk-smallest", lambda a: a.topk(2, dim=0, largest=False), None, (3, 4)),
    case("kthvalue", lambda a: a.kthvalue(2, 1), None, (3, 4)),
    case("median", lambda a: a.median(), None, (3, 5)),
    case("median-dim", lambda a: a.median(1), None, (3, 5)),
    case("msort", lambda a: a.msort(), None, (3, 4)),
    case("flip", lambda a: a.flip(0), None, (3, 4)),
    case("flip-dims", lambda a: a.flip([0, 1]), None, (3, 4)),
    case("fliplr", lambda a: a.fliplr(), None, (3, 4)),
    case("roll", lambda a: a.roll(1, 1), None, (3, 4)),
    case("roll-flat", lambda a: a.roll(5), None, (3, 4)),
    case("roll-two", lambda a: a.roll((1, -1), (0, 1)), None, (3, 4)),
    case("repeat", lambda a: a.repeat(2, 3), None, (2, 3)),
    case("repeat-new-dim", lambda a: a.repeat(2, 1, 2), None, (2, 3)),
    case("tile", lambda a: a.tile((2,)), None, (2, 3)),
    case("repeat_interleave", lambda a: a.repeat_interleave(2, dim=0), None, (2, 3)),
    case("repeat_interleave-flat", lambda a: a.repeat_interleave(3), None, (2, 3)),
    case("chunk", lambda a: a.chunk(2, 1), None, (3, 5)),
    case("split", lambda a: a.split(2), None, (5, 3)),
    case("split-sizes", lambda a: a.split([1, 3], dim=1), None, (2, 4)),
    case("tensor_split", lambda a: a.tensor_split(3, dim=1), None, (2, 7)),
    case("unbind", lambda a: a.unbind(1), None, (2, 3)),
    case("narrow", lambda a: a.narrow(1, 1, 2), None, (3, 4)),
    case("movedim", lambda a: a.movedim(0, 2), None, (2, 3, 4)),
    case("swapaxes", lambda a: a.swapaxes(0, 2), None, (2, 3, 4)),
    case("unflatten", lambda a: a.unflatten(1, (2, 2)), None, (3, 4)),
    case("ravel", lambda a: a.ravel(), None, (3, 4)),
    case("tril", lambda a: a.tril(), None, (3, 4)),
    case("triu-1", lambda a: a.triu(1), None, (4, 3)),
    case("diagonal", lambda a: a.diagonal(), None, (3, 4)),
    case("diagonal-offset", lambda a: a.diagonal(1), None, (3, 4)),
    case("diagonal-batch", lambda a: a.diagonal(0, 1, 2), None, (2, 3, 3)),
    case("diag-vector", lambda a: a.diag(), None, (3,)),
    case("diag-vector-offset", lambda a: a.diag(-1), None, (3,)),
    case("diag-matrix", lambda a: a.diag(), None, (3, 3)),
    case("diag_embed", lambda a: a.diag_embed(), None, (2, 3)),
    case("trace", lambda a: a.trace(), None, (3, 3)),
    case("masked_fill", lambda a: a.masked_fill(a > 0, -1.0), None, (3, 4)),
    case("masked_select", lambda a: a.masked_select(a > 0), None, (3, 4)),
    case("index_select", lambda a: a.index_select(1, [0, 2, 2]), lambda a: a.index_select(1, torch.tensor([0, 2, 2])), (3, 4)),
    case("take", lambda a: a.take([0, 5, 5]), lambda a: a.take(torch.tensor([0, 5, 5])), (3, 4)),
    case("take_along_dim", lambda a: a.take_along_dim(cr.tensor(IDX), 0), lambda a: a.take_along_dim(torch.tensor(IDX), 0), (3, 4)),
    case("scatter", lambda a, s: a.scatter(0, cr.tensor(IDX[:, :3]), s), lambda a, s: a.scatter(0, torch.tensor(IDX[:, :3]), s), (3, 4), (2, 3)),
    case("scatter-value", lambda a: a.scatter(1, cr.tensor(IDX[:, :2]), 0.5), lambda a: a.scatter(1, torch.tensor(IDX[:, :2]), 0.5), (2, 4)),
    case("scatter_add", lambda a, s: a.scatter_add(0, cr.tensor(IDX), s), lambda a, s: a.scatter_add(0, torch.tensor(IDX), s), (3, 4), (2, 4)),
    case("index_add", lambda a, s: a.index_add(0, cr.tensor([0, 2, 0]), s, alpha=2), lambda a, s: a.index_add(0, torch.tensor([0, 2, 0]), s, alpha=2), (3, 4), (3, 4)),
    case("index_copy", lambda a, s: a.index_copy(0, cr.tensor([2, 0]), s), lambda a, s: a.index_copy(0, torch.tensor([2, 0]), s), (3, 4), (2, 4)),
    case("index_fill", lambda a: a.index_fill(1, cr.tensor([1, 3]), 2.0), lambda a: a.index_fill(1, torch.tensor([1, 3]), 2.0), (3, 4)),
    case("einsum-matmul", lambda a, b: cr.einsum("ij,jk->ik", a, b), lambda a, b: torch.einsum("ij,jk->ik", a, b), (2, 3), (3, 4)),
    case("einsum-batch", lambda a, b: cr.einsum("bij,bkj->bik", a, b), lambda a, b: torch.einsum("bij,bkj->bik", a, b), (2, 2, 3), (2, 4, 3)),
    case("einsum-trace", lambda a: cr.einsum("ii", a), lambda a: torch.einsum("ii", a), (3, 3)),
    case("einsum-sum-only-in-one", lambda a, b: cr.einsum("ij,k->jk", a, b), lambda a, b: torch.einsum("ij,k->jk", a, b), (2, 3), (4,)),
    case("einsum-implicit", lambda a, b: cr.einsum("ij,jk", a, b), lambda a, b: torch.einsum("ij,jk", a, b), (2, 3), (3, 4)),
    case("tensordot", lambda a, b: cr.tensordot(a, b, 1), lambda a, b: torch.tensordot(a, b, 1), (2, 3), (3, 4)),
    case("cdist", lambda a, b: cr.cdist(a, b), lambda a, b: torch.cdist(a, b), (3, 2), (4, 2)),
    case("diff", lambda a: cr.diff(a, dim=1), lambda a: torch.diff(a, dim=1), (3, 4)),
    case("hstack", lambda a, b: cr.hstack([a, b]), lambda a, b: torch.hstack([a, b]), (2, 3), (2, 1)),
    case("vstack", lambda a, b: cr.vstack([a, b]), lambda a, b: torch.vstack([a, b]), (3,), (3,)),
    case("column_stack", lambda a, b: cr.column_stack([a, b]), lambda a, b: torch.column_stack([a, b]), (3,), (3, 2)),
    case("meshgrid", lambda a, b: cr.meshgrid(a, b, indexing="ij"), lambda a, b: torch.meshgrid(a, b, indexing="ij"), (3,), (2,)),
    case("meshgrid-xy", lambda a, b: cr.meshgrid(a, b, indexing="xy"), lambda a, b: torch.meshgrid(a, b, indexing="xy"), (3,), (2,)),
    case("nansum", lambda a: a.nansum(1), None, (3, 4)),
    case("fn-clamp", lambda a: cr.clamp(a, min=-0.5, max=0.5), lambda a: torch.clamp(a, min=-0.5, max=0.5), (3, 4), avoid_zero=True),
    case("fn-max-dim", lambda a: cr.max(a, dim=1), lambda a: torch.max(a, dim=1), (3, 4)),
    case("fn-std-mean", lambda a: cr.std_mean(a, 1), lambda a: torch.std_mean(a, 1), (3, 4)),
    case("smooth_l1_loss", lambda a, b: CF.smooth_l1_loss(a, b, beta=0.5), lambda a, b: TF.smooth_l1_loss(a, b, beta=0.5), (4, 3), (4, 3)),
    case("smooth_l1_loss-sum", lambda a, b: CF.smooth_l1_loss(a, b, reduction="sum"), lambda a, b: TF.smooth_l1_loss(a, b, reduction="sum"), (4, 3), (4, 3)),
    case("kl_div", lambda a, b: CF.kl_div(a.log_softmax(1), b.softmax(1), reduction="batchmean"), lambda a, b: TF.kl_div(a.log_softmax(1), b.softmax(1), reduction="batchmean"), (4, 3), (4, 3)),
    case("kl_div-log-target", lambda a, b: CF.kl_div(a.log_softmax(1), b.log_softmax(1), reduction="sum", log_target=True), lambda a, b: TF.kl_div(a.log_softmax(1), b.log_softmax(1), reduction="sum", log_target=True), (4, 3), (4, 3)),
    case("normalize", lambda a: CF.normalize(a, dim=1), lambda a: TF.normalize(a, dim=1), (4, 3)),
    case("cosine_similarity", lambda a, b: CF.cosine_similarity(a, b), lambda a, b: TF.cosine_similarity(a, b), (4, 3), (4, 3)),
    case("pairwise_distance", lambda a, b: CF.pairwise_distance(a, b), lambda a, b: TF.pairwise_distance(a, b), (4, 3), (4, 3)),
    *[case(n, getattr(CF, n), getattr(TF, n), (3, 4), avoid_zero=True) for n in ("relu6", "hardtanh", "logsigmoid", "softsign", "selu", "celu", "mish", "hardsigmoid", "hardswish", "tanhshrink")],
    case("softmin", lambda a: CF.softmin(a, 1), lambda a: TF.softmin(a, 1), (3, 4)),
    case("fn-aminmax", lambda a: cr.aminmax(a, dim=0), lambda a: torch.aminmax(a, dim=0), (3, 4)),
]  # fmt: skip


@pytest.mark.parametrize(("fn", "torch_fn", "inputs", "draw"), DIFFERENTIABLE)
def test_parity(fn: Any, torch_fn: Any, inputs: Any, draw: dict[str, Any]) -> None:
    assert_parity(fn, torch_fn, inputs, **draw)


@pytest.mark.parametrize(("fn", "torch_fn", "inputs", "draw"), DIFFERENTIABLE)
def test_gradcheck(fn: Any, torch_fn: Any, inputs: Any, draw: dict[str, Any]) -> None:
    def first(*xs: Any) -> Any:
        out = fn(*xs)
        if isinstance(out, (tuple, list)):
            return out[0]
        return out

    check_gradcheck(first, inputs, **draw)


# ---------------------------------------------------------------------- outside the graph
X = np.array([[1.5, -2.0, 0.0, 3.25], [2.0, 2.0, -1.0, 0.5], [np.nan, np.inf, -np.inf, 1.0]])
INTS = np.array([[3, -1, 4, 1], [5, 9, -2, 6], [5, 3, 5, 8]])
VALUE_CASES = [
    ("ne", lambda t: t.ne(t * 0 + 2)),
    ("lt", lambda t: t < 2),
    ("greater_equal", lambda t: t.greater_equal(1.0)),
    ("isnan", lambda t: t.isnan()),
    ("isinf", lambda t: t.isinf()),
    ("isfinite", lambda t: t.isfinite()),
    ("isposinf", lambda t: t.isposinf()),
    ("logical_not", lambda t: t.logical_not()),
    ("logical_and", lambda t: t.logical_and(t > 1)),
    ("nan_to_num", lambda t: t.nan_to_num()),
    ("nan_to_num-values", lambda t: t.nan_to_num(nan=0.5, posinf=9.0, neginf=-9.0)),
    ("signbit", lambda t: t.signbit()),
    ("all", lambda t: (t > -10).all(1)),
    ("any", lambda t: (t > 2).any(dim=0, keepdim=True)),
    ("count_nonzero", lambda t: t.count_nonzero(1)),
    ("argsort", lambda t: t.nan_to_num().argsort(dim=1, descending=True, stable=True)),
    ("nonzero", lambda t: t.nonzero()),
    ("argwhere", lambda t: t.argwhere()),
]
INT_CASES = [
    ("sum-int", lambda t: t.sum(1)),
    ("prod-int", lambda t: t.prod(0)),
    ("cumsum-int", lambda t: t.cumsum(1)),
    ("div-floor", lambda t: t.div(3, rounding_mode="floor")),
    ("div-trunc", lambda t: t.div(3, rounding_mode="trunc")),
    ("floor_divide", lambda t: t.floor_divide(2)),
    ("true_divide", lambda t: t.true_divide(2)),
    ("sin-int", lambda t: t.sin()),
    ("square-int", lambda t: t.square()),
    ("abs-int", lambda t: t.abs()),
    ("sign-int", lambda t: t.sign()),
    ("bitwise_and", lambda t: t.bitwise_and(6)),
    ("remainder-int", lambda t: t.remainder(4).to(t.dtype)),
    ("unique", lambda t: t.unique()),
    ("unique-counts", lambda t: t.unique(return_counts=True)),
    ("unique-inverse", lambda t: t.unique(return_inverse=True)),
    ("bincount", lambda t: (t.abs().reshape(-1)).bincount()),
    ("histc", lambda t: t.double().histc(bins=4, min=-2, max=9)),
    (
        "histc-range",
        lambda t: t.to(cr.float32 if isinstance(t, cr.Tensor) else torch.float32).histc(bins=5),
    ),
    ("mode", lambda t: t.mode(1)),
    ("topk-int", lambda t: t.topk(2, 1).values),
    ("max-int-dim", lambda t: t.max(0)),
    ("clamp-int", lambda t: t.clamp(0, 5)),
    ("repeat-int", lambda t: t.repeat(1, 2)),
    ("flip-int", lambda t: t.flip(1)),
]


def _both(value: Any) -> tuple[Any, Any]:
    return cr.tensor(value), torch.tensor(value)


def _compare(ours: Any, theirs: Any) -> None:
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            _compare(a, b)
        return
    expected = theirs.numpy()
    actual = ours.numpy()
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("name", "fn"), VALUE_CASES, ids=[c[0] for c in VALUE_CASES])
def test_values_outside_the_graph(name: str, fn: Any) -> None:
    a, b = _both(X)
    _compare(fn(a), fn(b))


@pytest.mark.parametrize(("name", "fn"), INT_CASES, ids=[c[0] for c in INT_CASES])
def test_integer_values_and_dtypes(name: str, fn: Any) -> None:
    a, b = _both(INTS)
    _compare(fn(a), fn(b))


def test_histogram_matches_torch() -> None:
    a, b = _both(X[:2].astype(np.float32))
    ours, theirs = cr.histogram(a, bins=4), torch.histogram(b, bins=4)
    _compare(ours.hist, theirs.hist)
    _compare(ours.bin_edges, theirs.bin_edges)


def test_inplace_twins_change_the_tensor_and_return_it() -> None:
    a, b = _both(np.linspace(-1, 1, 6).reshape(2, 3).astype(np.float32))
    for name, args in [("sin_", ()), ("clamp_", (-0.5, 0.5)), ("mul_", (2.0,)),
                       ("masked_fill_", None), ("add_", (1.0,)), ("round_", ())]:  # fmt: skip
        if args is None:
            assert getattr(a, name)(a > 1, 0.0) is a
            getattr(b, name)(b > 1, 0.0)
        else:
            assert getattr(a, name)(*args) is a
            getattr(b, name)(*args)
        _compare(a, b)


def test_inplace_twin_is_recorded_in_the_graph() -> None:
    x = cr.tensor([0.3, -0.7, 1.2], requires_grad=True)
    tx = torch.tensor([0.3, -0.7, 1.2], requires_grad=True)
    y, ty = x * 2, tx * 2
    y.sin_()
    ty.sin_()
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)


def test_creation_keywords_and_like_family() -> None:
    g = cr.Generator().manual_seed(0)
    for fn in (cr.zeros, cr.ones, cr.empty, cr.rand, cr.randn):
        kwargs: dict[str, Any] = {"dtype": cr.float64, "device": "cpu", "requires_grad": True}
        if fn in (cr.rand, cr.randn):
            kwargs["generator"] = g
        t = fn(2, 3, **kwargs)
        assert t.shape == (2, 3) and t.dtype == cr.float64 and t.requires_grad
    base = cr.ones(2, 2, dtype=cr.float64)
    for fn in (cr.zeros_like, cr.ones_like, cr.empty_like, cr.rand_like, cr.randn_like):
        assert fn(base).dtype == cr.float64 and fn(base, dtype=cr.float32).dtype == cr.float32
    assert cr.full_like(base, 7).tolist() == torch.full_like(torch.ones(2, 2), 7).tolist()
    assert cr.randint_like(base, 3, 5).dtype == cr.float64
    assert cr.randint(0, 10, (3,), generator=g, dtype=cr.int32).dtype == cr.int32
    assert cr.randperm(5, generator=g).sort().values.tolist() == [0, 1, 2, 3, 4]
    out = cr.empty(3)
    assert cr.linspace(0, 1, 3, out=out) is out and out.tolist() == [0.0, 0.5, 1.0]
    with pytest.raises(ValueError, match="CPU only"):
        cr.zeros(2, device="cuda")
    for name, value in [("arange", (5,)), ("arange", (0, 1, 0.25)), ("linspace", (0, 1, 4)),
                        ("logspace", (0, 2, 3)), ("eye", (3, 2)), ("full", ((2,), 3))]:  # fmt: skip
        _compare(getattr(cr, name)(*value), getattr(torch, name)(*value))


def test_default_dtype_round_trip() -> None:
    assert cr.get_default_dtype() == cr.float32
    cr.set_default_dtype(cr.float64)
    try:
        assert cr.tensor([1.5]).dtype == cr.float64 and cr.zeros(2).dtype == cr.float64
        assert cr.nn.Linear(2, 2).weight.dtype == cr.float64
    finally:
        cr.set_default_dtype(cr.float32)
    assert cr.tensor([1.5]).dtype == cr.float32
    with pytest.raises(TypeError, match="floating"):
        cr.set_default_dtype(cr.int64)


def test_dtype_aliases_are_torch_s() -> None:
    for name in ("float", "double", "half", "int", "long", "short", "bool", "float16", "uint8"):
        assert str(getattr(torch, name)).removeprefix("torch.") == getattr(cr, name).name
    x = cr.tensor([1.7, -2.2])
    assert x.type(cr.int).dtype == cr.int32 and x.long().tolist() == [1, -2]
    assert x.type() == "torch.FloatTensor" and x.double().type() == "torch.DoubleTensor"
    assert x.type("torch.LongTensor").dtype == cr.int64


def test_multinomial_draws_follow_the_weights() -> None:
    g = cr.Generator().manual_seed(3)
    weights = cr.tensor([[1.0, 3.0, 0.0, 6.0], [0.0, 0.0, 1.0, 0.0]])
    draws = cr.multinomial(weights, 20000, replacement=True, generator=g)
    assert draws.shape == (2, 20000) and draws.dtype == cr.int64
    freq = np.bincount(draws[0].numpy(), minlength=4) / 20000
    np.testing.assert_allclose(freq, [0.1, 0.3, 0.0, 0.6], atol=0.015)
    assert (draws[1] == 2).all()
    distinct = weights[0].multinomial(3, generator=g)
    assert sorted(distinct.tolist()) == [0, 1, 3]
    with pytest.raises(RuntimeError, match="replacement=False"):
        weights[0].multinomial(4)
    again = cr.multinomial(weights, 50, True, generator=cr.Generator().manual_seed(3))
    assert again.tolist() == draws[:, :50].tolist()  # the generator reproduces the draws


def test_random_fills_have_their_distributions() -> None:
    g = cr.Generator().manual_seed(1)
    t = cr.empty(40000)
    assert abs(float(t.normal_(2.0, 0.5, generator=g).mean()) - 2.0) < 0.01
    assert abs(float(t.std()) - 0.5) < 0.01
    t.uniform_(-1, 3, generator=g)
    assert float(t.min()) >= -1 and float(t.max()) < 3 and abs(float(t.mean()) - 1) < 0.03
    assert abs(float(t.bernoulli_(0.25, generator=g).mean()) - 0.25) < 0.01
    assert abs(float(t.exponential_(2.0, generator=g).mean()) - 0.5) < 0.01
    sample = cr.normal(cr.zeros(3), cr.ones(3) * 2, generator=g)
    assert sample.shape == (3,) and sample.dtype == cr.float32


def test_missing_names_point_to_the_coverage_page() -> None:
    for namespace, obj, name in [("torch", cr, "stft"), ("torch.Tensor", cr.ones(1), "stft"),
                                 ("torch.nn", cr.nn, "Conv2d"),
                                 ("torch.nn.functional", CF, "conv2d")]:  # fmt: skip
        with pytest.raises(AttributeError) as info:
            getattr(obj, name)
        assert str(info.value).startswith(
            f"chainrule does not implement {namespace}.{name}; see docs/pytorch-coverage.md"
        )
        assert "Did you mean" not in str(info.value)
    assert not hasattr(cr, "__wrapped__") and not hasattr(cr.ones(1), "_fields")


def test_format_and_print_options() -> None:
    loss, tloss = _both(np.float32(0.123456))
    assert f"{loss:.4f}" == f"{tloss:.4f}" and f"{loss:+.2e}" == f"{tloss:+.2e}"
    with pytest.raises(TypeError):
        f"{cr.ones(2):.2f}"
    assert repr(cr.arange(12.0).reshape(3, 4) / 7) == repr(torch.arange(12.0).reshape(3, 4) / 7)
    cr.set_printoptions(precision=2, sci_mode=True)
    torch.set_printoptions(precision=2, sci_mode=True)
    try:
        assert repr(cr.tensor([1.23456, 200.0])) == repr(torch.tensor([1.23456, 200.0]))
    finally:
        cr.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")
