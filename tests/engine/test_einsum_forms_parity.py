"""torch.einsum's other forms against torch 2.13: '...' (broadcast leading dims, with and
without '->'), operands as a list, and the sublist form; values and gradients, plus
gradcheck in float64."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

R = np.random.default_rng(0)
A, B, D = R.standard_normal((2, 3, 4)), R.standard_normal((4, 5)), R.standard_normal((3, 4))
FORMS = [
    ("batch-ellipsis", lambda lib, *x: lib.einsum("...ij,jk->...ik", *x), (A, B)),
    ("broadcast-ellipsis", lambda lib, *x: lib.einsum("...ij,...jk->...ik", *x),
     (A, R.standard_normal((1, 4, 2)))),
    ("sum-ellipsis", lambda lib, *x: lib.einsum("...ij->...", *x), (A,)),
    ("middle-ellipsis", lambda lib, *x: lib.einsum("i...j,j", *x), (A, B[:, 0])),
    ("implicit-ellipsis", lambda lib, *x: lib.einsum("...j,jk", *x), (D, B)),
    ("list-operands", lambda lib, *x: lib.einsum("ij,jk", list(x)), (D, B)),
    ("sublist", lambda lib, a, b: lib.einsum(a, [0, 1, 2], b, [2, 3], [0, 3]), (A, B)),
    ("sublist-ellipsis", lambda lib, a, b: lib.einsum(a, [Ellipsis, 2], b, [2, 3]), (A, B)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "form", "arrays"), FORMS, ids=[f[0] for f in FORMS])
def test_values_and_gradients_match_torch(name: str, form: Any, arrays: Any) -> None:
    results = []
    for lib in (torch, cr):
        xs = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = form(lib, *xs)
        weights = lib.tensor(np.arange(out.numel(), dtype=float).reshape(tuple(out.shape)))
        (out * weights).sum().backward()
        results.append([out.detach().numpy(), *[x.grad.numpy() for x in xs]])
    for ours, theirs in zip(results[1], results[0], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("name", "form", "arrays"), FORMS, ids=[f[0] for f in FORMS])
def test_gradcheck(name: str, form: Any, arrays: Any) -> None:
    xs = [cr.tensor(a, requires_grad=True) for a in arrays]
    assert cr.gradcheck(lambda *t: form(cr, *t), xs)
