"""Tier 2: forward values, dtypes and gradients agree with PyTorch, op by op, including
the points where an op has a kink or a tie and PyTorch picks a particular subgradient."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import chainrule as cr
from chainrule import ops
from tests.support.op_cases import ALL_CASES, PARITY_ONLY_CASES, case, fused
from tests.support.parity import assert_parity


@pytest.mark.parametrize(("fn", "torch_fn", "inputs", "draw"), ALL_CASES + PARITY_ONLY_CASES)
def test_parity(fn: Any, torch_fn: Any, inputs: Any, draw: dict[str, Any]) -> None:
    assert_parity(fn, torch_fn, inputs, **draw)


# ------------------------------------------------------------------ kinks and ties
TIES = np.array([[1.0, 3.0, 3.0, -2.0], [2.0, 2.0, 2.0, 2.0], [0.0, -1.0, 0.0, -1.0]])
ZEROS = np.array([[-1.5, 0.0, 2.0], [0.0, 0.5, -0.0]])
EDGES = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 0.5])  # clamp bounds, softplus's threshold
PAIR_A = np.array([1.0, 2.0, -3.0, 0.0, 4.0])
PAIR_B = np.array([1.0, 1.0, -3.0, 0.5, 4.0])
BASES = np.array([0.0, 0.0, 2.0, 0.0, 0.0, 3.0])  # 0 ** 0.5 has an infinite derivative
EXPONENTS = np.array([2.0, 1.0, 0.0, 0.5, 0.0, -1.0])


KINK_AND_TIE_CASES = [
    case("amax-all-ties", lambda a: a.amax(), None, TIES),
    case("amax-dim-ties", lambda a: a.amax(1), None, TIES),
    case("amax-dim0-keepdim-ties", lambda a: a.amax(0, keepdim=True), None, TIES),
    case("amax-tuple-ties", lambda a: a.amax((0, 1)), None, TIES),
    case("amin-dim-ties", lambda a: a.amin(1), None, TIES),
    case("amin-all-ties", lambda a: a.amin(), None, TIES),
    case("max-all-ties", lambda a: a.max(), None, TIES),
    case("min-all-ties", lambda a: a.min(), None, TIES),
    case("max-dim-ties-to-index", lambda a: a.max(1), None, TIES),
    case("max-dim0-ties-to-index", lambda a: a.max(0), None, TIES),
    case("min-dim-ties-to-index", lambda a: a.min(1), None, TIES),
    case("min-keepdim-ties-to-index", lambda a: a.min(1, keepdim=True), None, TIES),
    case("maximum-ties", lambda a, b: a.maximum(b), None, PAIR_A, PAIR_B),
    case("minimum-ties", lambda a, b: a.minimum(b), None, PAIR_A, PAIR_B),
    case("maximum-self", lambda a: a.maximum(a), None, PAIR_A),
    case("maximum-fn-ties", cr.maximum, torch.maximum, PAIR_A, PAIR_B),
    case("minimum-fn-ties", cr.minimum, torch.minimum, PAIR_A, PAIR_B),
    case("clamp-at-bounds", lambda a: a.clamp(-0.5, 0.5), None, EDGES),
    case("clamp-min-at-bound", lambda a: a.clamp(min=0.0), None, EDGES),
    case("clamp-max-at-bound", lambda a: a.clamp(max=0.5), None, EDGES),
    case("relu-at-0", lambda a: a.relu(), None, ZEROS),
    case("abs-at-0", lambda a: a.abs(), None, ZEROS),
    case("sqrt-at-0", lambda a: a.sqrt(), None, np.array([0.0, 1.0, 4.0])),
    case("pow-0-at-0", lambda a: a**0, None, ZEROS),
    case("pow-1-at-0", lambda a: a**1, None, ZEROS),
    case("pow-2-at-0", lambda a: a**2, None, ZEROS),
    case("pow-tensor-at-0", lambda a, b: a**b, None, BASES, EXPONENTS),
    fused("leaky_relu-at-0", ops.LeakyRelu, F.leaky_relu, ZEROS, negative_slope=0.1),
    fused("elu-at-0", ops.Elu, F.elu, ZEROS, alpha=0.5),
    fused("hardtanh-at-bounds", ops.Hardtanh, F.hardtanh, EDGES, min_val=-0.5, max_val=0.5),
    fused("softplus-at-threshold", ops.Softplus, F.softplus, EDGES, beta=2.0, threshold=1.0),
    case("softmax-ties", lambda a: a.softmax(1), None, TIES),
    case(
        "where-0",
        lambda a: cr.where(a > 0, a, a * 2),
        lambda a: torch.where(a > 0, a, a * 2),
        ZEROS,
    ),
]


@pytest.mark.parametrize(("fn", "torch_fn", "inputs", "draw"), KINK_AND_TIE_CASES)
def test_parity_at_kinks_and_ties(fn: Any, torch_fn: Any, inputs: Any, draw: Any) -> None:
    assert_parity(fn, torch_fn, inputs, **draw)


def test_max_dim_returns_values_and_indices_like_torch() -> None:
    cr_out, pt_out = assert_parity(lambda a: a.max(1), None, [TIES])
    values, indices = cr.tensor(TIES).max(1)
    assert indices.dtype == cr.int64
    np.testing.assert_array_equal(indices.numpy(), [1, 0, 0])
    assert cr_out[0].grad_fn is not None and not cr_out[1].requires_grad
    np.testing.assert_array_equal(values.numpy(), [3.0, 2.0, 0.0])


# ------------------------------------------------------------------ var
VAR_X = np.array([[1.0, 2.0, 4.0], [-1.0, 0.5, 3.0]])


@pytest.mark.parametrize(
    "fn",
    [
        pytest.param(lambda a: a.var(), id="default-unbiased"),
        pytest.param(lambda a: a.var(1), id="dim"),
        pytest.param(lambda a: a.var(1, unbiased=True), id="unbiased"),
        pytest.param(lambda a: a.var(1, unbiased=False), id="biased"),
        pytest.param(lambda a: a.var(0, keepdim=True), id="keepdim"),
        pytest.param(lambda a: a.var(1, correction=0), id="correction-0"),
        pytest.param(lambda a: a.var(1, correction=2), id="correction-2"),
        pytest.param(lambda a: a.var((0, 1), correction=3), id="tuple-correction-3"),
        pytest.param(lambda a: a.std(), id="std"),
        pytest.param(lambda a: a.std(0, unbiased=False), id="std-biased"),
    ],
)
def test_var_parity(fn: Any) -> None:
    assert_parity(fn, None, [VAR_X])


def test_var_of_one_element_is_nan_as_in_torch() -> None:
    with pytest.warns(UserWarning):  # torch warns about degrees of freedom <= 0
        assert_parity(lambda a: a.var(1), None, [np.array([[2.0], [3.0]])])


def test_var_function_matches_torch() -> None:
    assert_parity(lambda a: cr.var(a, 1), lambda a: torch.var(a, 1), [VAR_X])


# ------------------------------------------------------------------ losses beyond the table
def test_cross_entropy_with_ignored_rows_matches_ignore_index() -> None:
    target = np.array([0, -100, 3, 1])
    kept = target != -100
    row_weight = kept.astype(np.float64)
    safe_target = np.where(kept, target, 0)
    assert_parity(
        lambda z: ops.CrossEntropyIndex.apply(
            z, target=safe_target, row_weight=row_weight, reduction="mean"
        ),
        lambda z: F.cross_entropy(z, torch.from_numpy(target), ignore_index=-100),
        [(4, 4)],
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_keeps_the_logits_dtype(dtype: Any) -> None:
    logits = cr.tensor(np.zeros((2, 3), dtype=dtype), requires_grad=True)
    for row_weight in (None, np.array([1.0, 2.0])):
        loss = ops.CrossEntropyIndex.apply(
            logits, target=np.array([0, 2]), row_weight=row_weight, reduction="mean"
        )
        loss.backward()
        assert loss.dtype == dtype and logits.grad is not None and logits.grad.dtype == dtype


def test_bce_at_0_and_1_is_clamped_like_torch() -> None:
    p = np.array([0.0, 1.0, 0.5, 1.0])
    y = np.array([1.0, 0.0, 1.0, 1.0])
    assert_parity(
        lambda a: ops.BinaryCrossEntropy.apply(a, target=y, weight=None, reduction="none"),
        lambda a: F.binary_cross_entropy(a, torch.from_numpy(y), reduction="none"),
        [p],
    )


# ------------------------------------------------------------------ dtypes and repr
@pytest.mark.parametrize(
    "fn",
    [
        pytest.param(lambda a: a.float() * 2, id="float"),
        pytest.param(lambda a: a.float().double(), id="float-double"),
        pytest.param(lambda a: (a.float() * 2.5).softmax(0), id="float-scalar"),
        pytest.param(lambda a: (a.float().abs() + 1) ** a.float(), id="float-pow-tensor"),
        pytest.param(
            lambda a: a.to(torch.float32 if isinstance(a, torch.Tensor) else cr.float32), id="to"
        ),
    ],
)
def test_float32_parity(fn: Any) -> None:
    assert_parity(fn, None, [(2, 3)], atol=1e-6, rtol=1e-5)


def test_repr_in_spirit() -> None:
    leaf = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    out = leaf * 2
    plain = cr.tensor([1, 2, 3])
    for text, torch_text in (
        (repr(leaf), repr(torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True))),
        (repr(out), repr(torch.tensor([1.0], requires_grad=True) * 2)),
    ):
        assert text.startswith("tensor(") and torch_text.startswith("tensor(")
    assert "requires_grad=True" in repr(leaf)
    assert "grad_fn=<MulBackward" in repr(out) and "requires_grad" not in repr(out)
    assert repr(plain) == repr(torch.tensor([1, 2, 3]))
    assert "dtype=" not in repr(leaf)
    assert "float64" in repr(cr.tensor(np.ones(2)))
