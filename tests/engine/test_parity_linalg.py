# ruff: noqa: E501 - the case table keeps one op per line
"""torch.linalg and the matrix Tensor methods (det, inverse, svd, qr, ...) against torch
2.13: values, dtypes and gradients, and finite differences. Decompositions whose factors
are defined up to sign (eigh, svd, qr) are compared through sign-free results (products,
squares, reconstructions)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr
from tests.support.op_cases import case
from tests.support.parity import assert_parity, check_gradcheck

SQUARE = np.array([[2.0, 0.5, -0.3], [0.4, 1.5, 0.2], [-0.6, 0.3, 1.8]])
NEGATIVE_DET = SQUARE[[1, 0, 2]]
SPD = SQUARE @ SQUARE.T + np.eye(3)
TALL = np.array([[1.0, 0.2], [0.3, 2.0], [-0.5, 0.7], [0.9, -1.1]])
BATCH = np.stack([SQUARE, SQUARE.T * 1.1 + 0.2 * np.eye(3)])


def both(name: str) -> Any:
    """cr.linalg.<name> and torch.linalg.<name>, called alike."""
    return getattr(cr.linalg, name), getattr(torch.linalg, name)


def _lib(t: Any) -> Any:
    return cr if isinstance(t, cr.Tensor) else torch


def sym(a: Any) -> Any:
    return a + a.mT


CASES = [
    case("inv", lambda a: _lib(a).linalg.inv(a), None, SQUARE),
    case("inv-batch", lambda a: _lib(a).linalg.inv(a), None, BATCH),
    case("inverse", lambda a: a.inverse(), None, SQUARE),
    case("det", lambda a: _lib(a).linalg.det(a), None, SQUARE),
    case("det-batch", lambda a: a.det(), None, BATCH),
    case("fn-det", lambda a: _lib(a).det(a), None, NEGATIVE_DET),
    case("slogdet", lambda a: _lib(a).linalg.slogdet(a), None, NEGATIVE_DET),
    case("logdet", lambda a: a.logdet(), None, SQUARE),
    case("solve", lambda a, b: _lib(a).linalg.solve(a, b), None, SQUARE, (3, 2)),
    case("solve-vector", lambda a, b: _lib(a).linalg.solve(a, b), None, SQUARE, (3,)),
    case("solve-right", lambda a, b: _lib(a).linalg.solve(a, b, left=False), None, SQUARE, (2, 3)),
    case("solve-batch", lambda a, b: _lib(a).linalg.solve(a, b), None, BATCH, (2, 3)),
    case("solve_triangular", lambda a, b: _lib(a).linalg.solve_triangular(a, b, upper=True), None, SQUARE, (3, 2)),
    case("solve_triangular-unit", lambda a, b: _lib(a).linalg.solve_triangular(a, b, upper=False, unitriangular=True, left=False), None, SQUARE, (2, 3)),
    case("cholesky", lambda a: _lib(a).linalg.cholesky(a @ a.mT + 3 * _lib(a).eye(3, dtype=a.dtype)), None, SQUARE),
    case("cholesky-upper", lambda a: a.matmul(a.mT).add(_lib(a).eye(3, dtype=a.dtype)).cholesky(upper=True), None, SQUARE),
    case("cholesky_solve", lambda b, a: b.cholesky_solve(_lib(a).linalg.cholesky(a @ a.mT + _lib(a).eye(3, dtype=a.dtype))), None, (3, 2), SQUARE),
    case("cholesky_inverse", lambda a: _lib(a).linalg.cholesky(a @ a.mT + _lib(a).eye(3, dtype=a.dtype)).cholesky_inverse(), None, SQUARE),
    case("qr-reconstruct", lambda a: (lambda q, r: (q @ r, q.abs(), r.abs()))(*_lib(a).linalg.qr(a)), None, TALL),
    case("qr-projector", lambda a: (lambda q, r: q @ q.mT)(*_lib(a).linalg.qr(a)), None, TALL),
    case("qr-method", lambda a: (lambda q, r: q * r.diagonal())(*a.qr()), None, SQUARE),
    case("eigh", lambda a: (lambda w, v: (w, v * v))(*_lib(a).linalg.eigh(sym(a))), None, SQUARE),
    case("eigh-upper", lambda a: _lib(a).linalg.eigh(sym(a), UPLO="U").eigenvalues, None, SQUARE),
    case("eigvalsh", lambda a: _lib(a).linalg.eigvalsh(sym(a)), None, BATCH),
    case("svd", lambda a: (lambda u, s, vh: (u * u, s, vh * vh, u @ vh))(*_lib(a).linalg.svd(a, full_matrices=False)), None, TALL),
    case("svd-wide", lambda a: (lambda u, s, vh: (s, u @ vh))(*_lib(a).linalg.svd(a, full_matrices=False)), None, TALL.T),
    case("svdvals", lambda a: _lib(a).linalg.svdvals(a), None, BATCH),
    case("fn-svd", lambda a: (lambda u, s, v: (u @ v.mT, s))(*_lib(a).svd(a)), None, TALL),
    case("pinv", lambda a: _lib(a).linalg.pinv(a), None, TALL),
    case("pinverse", lambda a: a.pinverse(), None, TALL.T),
    case("lstsq", lambda a, b: _lib(a).linalg.lstsq(a, b).solution, None, TALL, (4, 2)),
    case("matrix_power", lambda a: _lib(a).linalg.matrix_power(a, 3), None, SQUARE),
    case("matrix_power-neg", lambda a: a.matrix_power(-2), None, SQUARE),
    case("matrix_power-0", lambda a: a.matrix_power(0), None, SQUARE),
    case("matrix_exp", lambda a: _lib(a).linalg.matrix_exp(a), None, SQUARE),
    case("matrix_exp-large", lambda a: (a * 4).matrix_exp(), None, SQUARE),
    case("norm", lambda a: _lib(a).linalg.norm(a), None, SQUARE),
    case("norm-vector-dim", lambda a: _lib(a).linalg.norm(a, 3, dim=1), None, SQUARE),
    case("norm-matrix-ord", lambda a: _lib(a).linalg.norm(a, 1), None, SQUARE),
    case("vector_norm", lambda a: _lib(a).linalg.vector_norm(a, dim=(0, 1), keepdim=True), None, (2, 3, 2)),
    case("vector_norm-inf", lambda a: _lib(a).linalg.vector_norm(a, float("inf"), dim=-1), None, SQUARE),
    *[case(f"matrix_norm-{o}", lambda a, o=o: _lib(a).linalg.matrix_norm(a, o), None, BATCH) for o in ("fro", "nuc", 2, -2, 1, -1, float("inf"), float("-inf"))],
    case("matrix_norm-keepdim", lambda a: _lib(a).linalg.matrix_norm(a, 1, dim=(0, 2), keepdim=True), None, BATCH),
    case("cond", lambda a: _lib(a).linalg.cond(a), None, SQUARE),
    case("cond--2", lambda a: _lib(a).linalg.cond(a, -2), None, SQUARE),
    case("cross", lambda a, b: _lib(a).linalg.cross(a, b), None, (4, 3), (4, 3)),
    case("vecdot", lambda a, b: _lib(a).linalg.vecdot(a, b), None, (4, 3), (4, 3)),
    case("multi_dot", lambda a, b, c: _lib(a).linalg.multi_dot([a, b, c]), None, (3,), (3, 4), (4, 2)),
    case("linalg-matmul", lambda a, b: _lib(a).linalg.matmul(a, b), None, (2, 3), (3, 4)),
    case("linalg-diagonal", lambda a: _lib(a).linalg.diagonal(a, offset=1), None, BATCH),
    case("vander", lambda a: _lib(a).linalg.vander(a, N=4), None, (3,)),
]  # fmt: skip


@pytest.mark.parametrize(("fn", "torch_fn", "inputs", "draw"), CASES)
def test_parity(fn: Any, torch_fn: Any, inputs: Any, draw: dict[str, Any]) -> None:
    assert_parity(fn, torch_fn, inputs, atol=1e-8, rtol=1e-8, **draw)


@pytest.mark.parametrize(("fn", "torch_fn", "inputs", "draw"), CASES)
def test_gradcheck(fn: Any, torch_fn: Any, inputs: Any, draw: dict[str, Any]) -> None:
    def first(*xs: Any) -> Any:
        out = fn(*xs)
        if isinstance(out, (tuple, list)):  # every output, weighted apart
            total = None
            for i, o in enumerate(out):
                term = (o * (i + 1)).sum()
                total = term if total is None else total + term
            return total
        return out

    check_gradcheck(first, inputs, **draw)


def _pair(values: Any) -> tuple[Any, Any]:
    return cr.tensor(values), torch.tensor(values)


def test_outputs_outside_the_graph_match_torch() -> None:
    ours, theirs = _pair(TALL)
    for fn in (lambda m, t: m.linalg.matrix_rank(t), lambda m, t: m.linalg.matrix_rank(t @ t.mT),
               lambda m, t: m.linalg.slogdet(t[:2]).sign, lambda m, t: m.linalg.inv_ex(t[:2]).info,
               lambda m, t: m.linalg.lstsq(t, t[:, :1]).rank,
               lambda m, t: m.linalg.cholesky_ex(t.mT @ t).info,
               lambda m, t: m.linalg.matrix_rank(t, atol=1.0, rtol=0.0)):  # fmt: skip
        a, b = fn(cr, ours), fn(torch, theirs)
        assert a.dtype.name == str(b.dtype).removeprefix("torch."), fn
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    a, b = cr.linalg.cond(ours[:2], "fro"), torch.linalg.cond(theirs[:2], "fro")
    np.testing.assert_allclose(a.numpy(), b.numpy())  # (torch's cond(p='fro') backward fails)
    lstsq_ours, lstsq_theirs = cr.linalg.lstsq(ours, ours), torch.linalg.lstsq(theirs, theirs)
    assert lstsq_ours.residuals.shape == lstsq_theirs.residuals.shape
    assert lstsq_ours.singular_values.shape == lstsq_theirs.singular_values.shape


def test_errors_match_torch() -> None:
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    for module in (cr, torch):
        t = module.tensor(singular)
        with pytest.raises(module.linalg.LinAlgError):
            module.linalg.inv(t)
        with pytest.raises(RuntimeError, match="singular"):
            module.linalg.solve(t, module.ones(2, dtype=t.dtype))
        with pytest.raises(module.linalg.LinAlgError, match="positive-definite"):
            module.linalg.cholesky(-module.eye(2))
        with pytest.raises(RuntimeError, match="square"):
            module.linalg.det(module.ones(2, 3))
    x = cr.tensor(TALL, requires_grad=True)
    u, s, vh = cr.linalg.svd(x)  # full_matrices=True, as torch's default
    with pytest.raises(RuntimeError, match="full_matrices=False"):
        (u.sum() + vh.sum()).backward()


def test_det_gradient_of_a_singular_matrix_is_the_adjugate() -> None:
    # d det(A) / dA is the cofactor matrix, adj(A)ᵀ, also where A is singular (rank 2 here,
    # so the cofactors are not all zero). Compared with the cofactors themselves, not with
    # torch: torch's answer there depends on its LAPACK's LU (MKL gave the cofactors on an
    # Intel Xeon and an exact zero pivot, hence a zero gradient, on an AMD Zen 5).
    a = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.5, -1.0, 2.0]])
    cofactors = np.array(
        [
            [(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(a, i, 0), j, 1)) for j in range(3)]
            for i in range(3)
        ]
    )
    assert np.abs(cofactors).max() > 1  # a singular matrix with a non-zero adjugate
    ours = cr.tensor(a, requires_grad=True)
    ours.det().backward()
    np.testing.assert_allclose(ours.grad.numpy(), cofactors, atol=1e-10)


def test_float32_dtypes_and_integer_promotion() -> None:
    ours, theirs = _pair(SQUARE.astype(np.float32))
    for name in ("inv", "det", "matrix_exp", "svdvals", "pinv", "norm"):
        a, b = getattr(cr.linalg, name)(ours), getattr(torch.linalg, name)(theirs)
        assert a.dtype == cr.float32 and b.dtype == torch.float32
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_missing_linalg_names_point_to_the_coverage_page() -> None:
    with pytest.raises(AttributeError, match="chainrule does not implement torch.linalg.eig; see"):
        cr.linalg.eig  # noqa: B018


@pytest.mark.parametrize("order", [float("inf"), float("-inf")])
def test_infinite_norms_of_an_empty_tensor_are_refused_by_name(order: float) -> None:
    """max and min have no identity: torch refuses; chainrule says which norm and why."""
    empty = cr.tensor(np.zeros(0, np.float32))
    with pytest.raises(RuntimeError):
        torch.linalg.vector_norm(torch.zeros(0), order)
    with pytest.raises(ValueError, match=f"cannot compute the {order} norm of an empty"):
        cr.linalg.vector_norm(empty, order)
    with pytest.raises(ValueError, match="^amin: cannot take the minimum of an empty"):
        empty.amin()
