# ruff: noqa: E501 - the case table keeps one op per line
"""Tensor attributes, NumPy-style aliases and torch's in-place functions against torch 2.13:
memory layout (stride, storage_offset, itemsize, nbytes, dim_order), device and format
flags, the complex helpers that are the identity on real tensors (conj, real, H, mT,
adjoint, angle, isreal), and torch.xxx_ (acos_, clip_ ...) changing their argument."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.tensor_methods.math import ALIASES
from tests.support.op_cases import case
from tests.support.parity import assert_parity, check_gradcheck

VALUES = np.array([[0.3, -0.7, 0.1], [0.5, 0.2, -0.4]], dtype=np.float32)


def _pair(values: Any = VALUES) -> tuple[Any, Any]:
    return cr.tensor(values), torch.tensor(values)


@pytest.mark.parametrize(
    "probe",
    [
        lambda t: t.stride(),
        lambda t: t.t().stride(),
        lambda t: t.stride(1),
        lambda t: t[:, 1:].storage_offset(),
        lambda t: t[1].storage_offset(),
        lambda t: t.itemsize,
        lambda t: t.double().nbytes,
        lambda t: t.get_device(),
        lambda t: (t.is_cpu, t.is_cuda, t.is_sparse, t.is_quantized, t.is_meta, t.is_nested),
        lambda t: (t.is_mkldnn, t.is_mps, t.is_xla, t.is_sparse_csr, t.is_vulkan),
        lambda t: repr(t.layout).removeprefix("torch."),
        lambda t: t.dim_order(),
        lambda t: (t.is_conj(), t.is_neg(), t.is_inference(), t.is_shared(), t.is_pinned()),
        lambda t: (t.is_signed(), t.int().is_signed(), t.byte().is_signed(), t.bool().is_signed()),
        lambda t: (t.is_same_size(t), t.is_same_size(t[0])),
        lambda t: (t.mT.shape, t.H.shape, t.adjoint().shape, t.unsqueeze(0).mT.shape),
        lambda t: t.isreal().tolist(),
        lambda t: (t.conj() is t, t.resolve_conj() is t, t.resolve_neg() is t, t.real is t),
        lambda t: t.retains_grad,
        lambda t: t.is_distributed(),
    ],
)
def test_attributes_match_torch(probe: Any) -> None:
    ours, theirs = _pair()
    assert probe(ours) == probe(theirs)


def test_data_ptr_is_shared_by_views_and_differs_for_copies() -> None:
    t = cr.tensor(VALUES)
    assert t.data_ptr() == t.view(-1).data_ptr() == t[0].data_ptr()
    assert t[1].data_ptr() - t.data_ptr() == 3 * t.itemsize
    assert t.clone().data_ptr() != t.data_ptr()


def test_errors_for_real_tensors_match_torch() -> None:
    for obj in (cr.tensor(VALUES), torch.tensor(VALUES)):
        with pytest.raises(RuntimeError, match="imag is not implemented"):
            obj.imag  # noqa: B018
        with pytest.raises(RuntimeError, match="only supported on matrices"):
            obj.unsqueeze(0).H  # noqa: B018
        with pytest.raises(RuntimeError, match="only supported on matrices"):
            obj[0].mT  # noqa: B018


def test_retains_grad_follows_retain_grad() -> None:
    for module in (cr, torch):
        x = module.ones(2, requires_grad=True)
        y = x * 2
        assert y.retains_grad is False
        y.retain_grad()
        assert y.retains_grad is True


def test_angle_values_dtypes_and_zero_gradient() -> None:
    values = np.array([1.5, -2.0, 0.0, -0.0, np.nan], dtype=np.float32)
    ours, theirs = _pair(values)
    np.testing.assert_array_equal(ours.angle().numpy(), theirs.angle().numpy())
    ints = [3, -1, 0]
    assert cr.tensor(ints).angle().dtype.name == str(torch.tensor(ints).angle().dtype)[6:]
    x = cr.tensor([1.0, -2.0], requires_grad=True)
    tx = torch.tensor([1.0, -2.0], requires_grad=True)
    x.angle().sum().backward()
    tx.angle().sum().backward()
    assert x.grad.tolist() == tx.grad.tolist() == [0.0, 0.0]
    assert cr.angle(cr.tensor([-1.0])).tolist() == torch.angle(torch.tensor([-1.0])).tolist()


ALIAS_CASES = [
    case(alias, lambda a, n=alias: getattr(a, n)(), None, (3, 4), domain="unit")
    for alias in ALIASES
    if alias not in ("arccosh", "arctan2")
] + [
    case("arccosh", lambda a: a.arccosh(), None, np.array([[1.2, 2.5], [3.0, 1.7]])),
    case("arctan2", lambda a, b: a.arctan2(b), None, (3,), (3,)),
    case("fn-arcsin", lambda a: cr.arcsin(a), lambda a: torch.arcsin(a), (4,), domain="unit"),
    case("fn-adjoint", lambda a: cr.adjoint(a), lambda a: torch.adjoint(a), (2, 3)),
    case("mT", lambda a: a.mT * 2, None, (2, 3, 4)),
    case("H", lambda a: a.H.exp(), None, (2, 3)),
    case("conj", lambda a: a.conj() * a, None, (2, 3)),
    case("fn-broadcast_to", lambda a: cr.broadcast_to(a, (2, 3)), lambda a: torch.broadcast_to(a, (2, 3)), (3,)),
]  # fmt: skip


@pytest.mark.parametrize(("fn", "torch_fn", "inputs", "draw"), ALIAS_CASES)
def test_alias_parity(fn: Any, torch_fn: Any, inputs: Any, draw: dict[str, Any]) -> None:
    assert_parity(fn, torch_fn, inputs, **draw)
    check_gradcheck(fn, inputs, **draw)


INPLACE_FUNCTIONS = [
    ("acos_", ()), ("acosh_", ()), ("arccos_", ()), ("arcsin_", ()), ("arcsinh_", ()),
    ("arctan_", ()), ("arctanh_", ()), ("asin_", ()), ("asinh_", ()), ("atan_", ()),
    ("atanh_", ()), ("clamp_max_", (0.2,)), ("clamp_min_", (0.2,)), ("clip_", (-0.1, 0.3)),
    ("cosh_", ()), ("deg2rad_", ()), ("erf_", ()), ("erfc_", ()), ("exp2_", ()),
    ("expm1_", ()), ("fix_", ()), ("log10_", ()), ("log1p_", ()), ("log2_", ()),
    ("logit_", ()), ("nan_to_num_", ()), ("negative_", ()), ("rad2deg_", ()),
    ("reciprocal_", ()), ("sinc_", ()), ("sinh_", ()), ("tan_", ()), ("xlogy_", (2.0,)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "args"), INPLACE_FUNCTIONS, ids=[n for n, _ in INPLACE_FUNCTIONS])
def test_inplace_functions_change_their_argument(name: str, args: tuple[Any, ...]) -> None:
    values = np.abs(VALUES) + (1.1 if name in ("acosh_",) else 0.05)
    ours, theirs = _pair(values)
    assert getattr(cr, name)(ours, *args) is ours
    getattr(torch, name)(theirs, *args)
    assert ours.dtype.name == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-7)
    method_ours, method_theirs = _pair(values)
    if hasattr(method_theirs, name):
        assert getattr(method_ours, name)(*args) is method_ours
        getattr(method_theirs, name)(*args)
        np.testing.assert_allclose(method_ours.numpy(), method_theirs.numpy(), rtol=1e-6)
