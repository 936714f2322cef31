# ruff: noqa: E501 - the case table keeps one op per line
"""Special functions (lgamma, digamma, polygamma, mvlgamma, i0, igamma, igammac) against
torch 2.13 (values, dtypes, gradients), finite differences, and their stated accuracy
against mpmath in float64 (chainrule.ops.special's docstring quotes these bounds)."""

from __future__ import annotations

from typing import Any

import mpmath
import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.ops import special
from tests.support.op_cases import case
from tests.support.parity import assert_parity, check_gradcheck

# away from the poles at 0, -1, -2, ...
MIXED = np.array([[-2.5, -0.3, 0.2, 0.9], [1.7, 3.3, 7.9, 12.4], [25.0, -7.6, 4.1, 0.05]])
POSITIVE = np.abs(MIXED) + 0.1
A = np.array([[0.5, 2.0, 3.7, 10.0], [0.1, 1.0, 6.0, 40.0], [2.5, 0.8, 15.0, 4.0]])

CASES = [
    case("lgamma", lambda a: a.lgamma(), None, MIXED),
    case("digamma", lambda a: a.digamma(), None, MIXED),
    case("i0", lambda a: a.i0(), None, MIXED / 2),
    case("polygamma-1", lambda a: a.polygamma(1), None, MIXED),
    case("polygamma-3", lambda a: a.polygamma(3), None, POSITIVE),
    case("fn-polygamma", lambda a: cr.polygamma(2, a), lambda a: torch.polygamma(2, a), MIXED),
    case("fn-polygamma-0", lambda a: cr.polygamma(0, a), lambda a: torch.polygamma(0, a), POSITIVE),
    case("mvlgamma", lambda a: a.mvlgamma(3), None, POSITIVE + 1.0),
    case("fn-mvlgamma", lambda a: cr.mvlgamma(a, p=1), lambda a: torch.mvlgamma(a, p=1), POSITIVE),
    case("fn-lgamma", lambda a: cr.lgamma(a), lambda a: torch.lgamma(a), MIXED),
    case("fn-i0", lambda a: cr.i0(a), lambda a: torch.i0(a), MIXED / 3),
    case("igamma-x", lambda x: cr.igamma(cr.tensor(A), x), lambda x: torch.igamma(torch.tensor(A), x), POSITIVE * 2),
    case("igammac-x", lambda x: cr.igammac(cr.tensor(A), x), lambda x: torch.igammac(torch.tensor(A), x), POSITIVE * 2),
    case("igamma-method", lambda x: cr.tensor(A).igamma(x), lambda x: torch.tensor(A).igamma(x), POSITIVE),
]  # fmt: skip


@pytest.mark.parametrize(("fn", "torch_fn", "inputs", "draw"), CASES)
def test_parity(fn: Any, torch_fn: Any, inputs: Any, draw: dict[str, Any]) -> None:
    assert_parity(fn, torch_fn, inputs, **draw)


@pytest.mark.parametrize(("fn", "torch_fn", "inputs", "draw"), CASES)
def test_gradcheck(fn: Any, torch_fn: Any, inputs: Any, draw: dict[str, Any]) -> None:
    check_gradcheck(fn, inputs, **draw)


@pytest.mark.parametrize("name", ["lgamma", "digamma", "i0"])
def test_float32_and_integer_inputs(name: str) -> None:
    for values in (MIXED.astype(np.float32), np.array([1, 2, 5, 9])):
        ours = getattr(cr.tensor(values), name)()
        theirs = getattr(torch.tensor(values), name)()
        assert ours.dtype.name == str(theirs.dtype).removeprefix("torch.")
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=2e-6, atol=1e-6)


def test_poles_and_signed_zero_match_torch() -> None:
    values = [0.0, -0.0, -1.0, -3.0, 1.0, 2.0, np.inf, np.nan]
    ours, theirs = cr.tensor(values, dtype=cr.float64), torch.tensor(values, dtype=torch.float64)
    for name in ("lgamma", "digamma"):
        np.testing.assert_allclose(
            getattr(ours, name)().numpy(), getattr(theirs, name)().numpy(), rtol=1e-14
        )
    a = cr.tensor([0.0, 1.0, -1.0, 2.0])
    x = cr.tensor([1.0, 0.0, 1.0, np.nan])
    np.testing.assert_array_equal(
        cr.igamma(a, x).numpy(),
        torch.igamma(torch.tensor(a.numpy()), torch.tensor(x.numpy())).numpy(),
    )
    np.testing.assert_array_equal(
        cr.igammac(a, x).numpy(),
        torch.igammac(torch.tensor(a.numpy()), torch.tensor(x.numpy())).numpy(),
    )
    big = [100.0, -100.0, 800.0]
    np.testing.assert_allclose(
        cr.tensor(big).i0().numpy(), torch.tensor(big).i0().numpy(), rtol=1e-6
    )


def test_igamma_has_no_gradient_in_a_as_in_torch() -> None:
    for module in (cr, torch):
        a = module.tensor([2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="derivative for 'igamma: input' is not implemented"):
            module.igamma(a, module.tensor([1.0])).sum().backward()


def test_inplace_twins() -> None:
    for name, args in [("lgamma_", ()), ("digamma_", ()), ("i0_", ()), ("polygamma_", (1,)),
                       ("mvlgamma_", (2,)), ("igamma_", (cr.tensor(2.0),)),
                       ("igammac_", (cr.tensor(2.0),))]:  # fmt: skip
        ours = cr.tensor(POSITIVE + 1)
        theirs = torch.tensor(POSITIVE + 1)
        targs = tuple(torch.tensor(a.item()) if isinstance(a, cr.Tensor) else a for a in args)
        assert getattr(ours, name)(*args) is ours
        getattr(theirs, name)(*targs)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-9)
    assert cr.i0_(t := cr.tensor([1.0])) is t


RNG = np.random.default_rng(7)
REALS = RNG.uniform(-20, 20, 200)
REALS = REALS[np.abs(REALS - np.round(REALS)) > 1e-3]
SPREAD = np.concatenate([REALS, 10 ** RNG.uniform(-6, 6, 60)])


def _relative(ours: np.ndarray, reference: list[Any]) -> float:
    expected = np.array([float(v) for v in reference])
    return float(np.max(np.abs(ours - expected) / np.abs(expected)))


def test_stated_accuracy_against_mpmath() -> None:
    """The bounds in chainrule.ops.special's docstring."""
    assert _relative(special.lgamma(SPREAD), [mpmath.loggamma(v).real for v in SPREAD]) < 1e-12
    assert _relative(special.digamma(SPREAD), [mpmath.digamma(v) for v in SPREAD]) < 1e-12
    for n in (1, 2, 4):
        assert (
            _relative(special.polygamma(n, REALS), [mpmath.polygamma(n, v) for v in REALS]) < 1e-12
        )
    bessel = RNG.uniform(-60, 60, 120)
    assert _relative(special.i0(bessel), [mpmath.besseli(0, v) for v in bessel]) < 1e-12
    assert _relative(special.i1(bessel), [mpmath.besseli(1, v) for v in bessel]) < 1e-12
    a, x = 10 ** RNG.uniform(-2, 2, 150), 10 ** RNG.uniform(-3, 2.3, 150)
    lower = [float(mpmath.gammainc(p, 0, q, regularized=True)) for p, q in zip(a, x, strict=True)]
    upper = [
        float(mpmath.gammainc(p, q, mpmath.inf, regularized=True))
        for p, q in zip(a, x, strict=True)
    ]
    assert np.max(np.abs(special.igamma(a, x) - lower)) < 1e-12
    assert np.max(np.abs(special.igammac(a, x) - upper)) < 1e-12
