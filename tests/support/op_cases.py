"""Every differentiable op, once: the table that tier 1 (gradcheck) and tier 2 (PyTorch
parity) both run. A case is a chainrule callable, its PyTorch twin (None when the same
lambda works in both frameworks), the inputs (shapes or arrays) and how to draw them.

Values are drawn away from kinks (relu, abs, clamp ...) and ties (max, min ...); the kinks
and ties themselves are tested against PyTorch in test_parity_ops.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import chainrule as cr
from chainrule import ops


def case(
    name: str,
    fn: Callable[..., Any],
    torch_fn: Callable[..., Any] | None,
    *inputs: Any,
    domain: str = "real",
    avoid_zero: bool = False,
) -> Any:
    return pytest.param(fn, torch_fn, inputs, {"domain": domain, "avoid_zero": avoid_zero}, id=name)


def fused(
    name: str, op: Any, torch_fn: Any, *inputs: Any, avoid_zero: bool = False, **options: Any
) -> Any:
    """A fused op called as `Op.apply(x, **options)` against `torch_fn(x, **options)`."""
    return case(
        name,
        lambda x: op.apply(x, **options),
        lambda x: torch_fn(x, **options),
        *inputs,
        avoid_zero=avoid_zero,
    )


def join(name: str, how: str, dim: int, *inputs: Any) -> Any:
    """chainrule.cat / stack against torch.cat / stack on a list of the inputs."""
    cr_fn, torch_fn = getattr(cr, how), getattr(torch, how)
    return case(
        name, lambda *xs: cr_fn(list(xs), dim), lambda *xs: torch_fn(list(xs), dim), *inputs
    )


def _t(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(array)


# ------------------------------------------------------------------ broadcasting binary ops
BROADCAST_PAIRS = [
    ((), (3,)),
    ((3,), ()),
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((1, 3), (3,)),
    ((4, 1, 3), (3,)),
    ((3,), (4, 1, 3)),
    ((4, 1, 3), (2, 3)),
    ((2, 1), (1, 3)),
]

BINARY = [
    ("add", lambda a, b: a + b, None, {}),
    ("sub", lambda a, b: a - b, None, {}),
    ("mul", lambda a, b: a * b, None, {}),
    ("div", lambda a, b: a / b, None, {"avoid_zero": True}),
    ("pow", lambda a, b: a**b, None, {"domain": "positive"}),
    ("maximum", lambda a, b: a.maximum(b), None, {}),
    ("minimum", lambda a, b: a.minimum(b), None, {}),
    ("max_other", lambda a, b: a.max(b), None, {}),
    ("min_other", lambda a, b: a.min(b), None, {}),
    (
        "where",
        lambda a, b: cr.where(a > 0, a, b),
        lambda a, b: torch.where(a > 0, a, b),
        {"avoid_zero": True},
    ),
]

BINARY_CASES = [
    case(f"{name}-{sa}-{sb}", fn, tfn, sa, sb, **kw)
    for name, fn, tfn, kw in BINARY
    for sa, sb in BROADCAST_PAIRS
]

# ------------------------------------------------------------------ matmul
MATMUL_CASES = [
    case(f"matmul-{sa}-{sb}", lambda a, b: a @ b, None, sa, sb)
    for sa, sb in [
        ((3,), (3,)),
        ((3,), (3, 4)),
        ((2, 3), (3,)),
        ((2, 3), (3, 4)),
        ((5, 2, 3), (5, 3, 4)),
        ((5, 2, 3), (3, 4)),
        ((2, 3), (5, 3, 4)),
        ((2, 1, 2, 3), (5, 3, 4)),
        ((3,), (5, 3, 4)),
        ((5, 2, 3), (3,)),
    ]
]

# ------------------------------------------------------------------ scalars and ndarrays
ND3 = np.array([0.5, -1.5, 2.0])
ND34 = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
ND23 = np.linspace(-2.0, 2.0, 6).reshape(2, 3)

SCALAR_CASES = [
    case("neg", lambda a: -a, None, (2, 3)),
    case("pos", lambda a: +a * 1.0, None, (2, 3)),
    case("radd-scalar", lambda a: 2.5 + a, None, (2, 3)),
    case("rsub-scalar", lambda a: 2.5 - a, None, (2, 3)),
    case("rmul-scalar", lambda a: 2.5 * a, None, (2, 3)),
    case("rdiv-scalar", lambda a: 2.5 / a, None, (2, 3), avoid_zero=True),
    case("rpow-scalar", lambda a: 2.0**a, None, (2, 3)),
    case("add-scalar", lambda a: a + 2, None, (2, 3)),
    case("sub-scalar", lambda a: a - 2.5, None, (2, 3)),
    case("mul-int-scalar", lambda a: a * 3, None, (2, 3)),
    case("div-scalar", lambda a: a / 4.0, None, (2, 3)),
    case("pow-2", lambda a: a**2, None, (2, 3)),
    case("pow-3", lambda a: a**3, None, (2, 3)),
    case("pow-0", lambda a: a**0, None, (2, 3)),
    case("pow-1", lambda a: a**1, None, (2, 3)),
    case("pow-neg-int", lambda a: a**-2, None, (2, 3), avoid_zero=True),
    case("pow-half", lambda a: a**0.5, None, (2, 3), domain="positive"),
    case("pow-neg-float", lambda a: a**-1.5, None, (2, 3), domain="positive"),
    case("pow-method", lambda a: a.pow(3), None, (2, 3)),
    case("radd-ndarray", lambda a: ND3 + a, lambda a: _t(ND3) + a, (2, 3)),
    case("rsub-ndarray", lambda a: ND3 - a, lambda a: _t(ND3) - a, (2, 3)),
    case("rmul-ndarray", lambda a: ND3 * a, lambda a: _t(ND3) * a, (2, 3)),
    case("rdiv-ndarray", lambda a: ND3 / a, lambda a: _t(ND3) / a, (2, 3), avoid_zero=True),
    case("rmatmul-ndarray", lambda a: ND23 @ a, lambda a: _t(ND23) @ a, (3, 4)),
    case("matmul-ndarray", lambda a: a @ ND34, lambda a: a @ _t(ND34), (2, 3)),
    case("add-ndarray", lambda a: a + ND3, lambda a: a + _t(ND3), (2, 3)),
]

# ------------------------------------------------------------------ elementwise
UNARY_CASES = [
    case("exp", lambda a: a.exp(), None, (2, 3)),
    case("exp-fn", lambda a: cr.exp(a), lambda a: torch.exp(a), (2, 3)),
    case("log", lambda a: a.log(), None, (2, 3), domain="positive"),
    case("log-fn", lambda a: cr.log(a), lambda a: torch.log(a), (2, 3), domain="positive"),
    case("sqrt", lambda a: a.sqrt(), None, (2, 3), domain="positive"),
    case("sqrt-fn", lambda a: cr.sqrt(a), lambda a: torch.sqrt(a), (3,), domain="positive"),
    case("abs", lambda a: a.abs(), None, (2, 3), avoid_zero=True),
    case("abs-builtin", lambda a: abs(a), None, (2, 3), avoid_zero=True),
    case("tanh", lambda a: a.tanh(), None, (2, 3)),
    case("sigmoid", lambda a: a.sigmoid(), None, (2, 3)),
    case("sigmoid-fn", lambda a: cr.sigmoid(a), lambda a: torch.sigmoid(a), (2, 3)),
    case("relu", lambda a: a.relu(), None, (2, 3), avoid_zero=True),
    case("relu-fn", lambda a: cr.relu(a), lambda a: torch.relu(a), (2, 3), avoid_zero=True),
    case("clamp", lambda a: a.clamp(-0.5, 0.5), None, (3, 4)),
    case("clamp-min", lambda a: a.clamp(min=0.0), None, (3, 4), avoid_zero=True),
    case("clamp-max", lambda a: a.clamp(max=0.0), None, (3, 4), avoid_zero=True),
    case("clip", lambda a: a.clip(-0.3, 0.7), None, (3, 4)),
    case("clamp-fn", lambda a: cr.clamp(a, -0.5, 0.5), lambda a: torch.clamp(a, -0.5, 0.5), (4,)),
    case("clone", lambda a: a.clone() * 2, None, (2, 3)),
]

# ------------------------------------------------------------------ reductions
X3 = (2, 3, 4)
REDUCTION_CASES = [
    case("sum", lambda a: a.sum(), None, X3),
    case("sum-dim", lambda a: a.sum(1), None, X3),
    case("sum-neg-dim-keepdim", lambda a: a.sum(-1, keepdim=True), None, X3),
    case("sum-tuple", lambda a: a.sum((0, 2)), None, X3),
    case("sum-tuple-keepdim", lambda a: a.sum((0, 2), keepdim=True), None, X3),
    case("sum-0d", lambda a: a.sum(), None, ()),
    case("mean", lambda a: a.mean(), None, X3),
    case("mean-dim", lambda a: a.mean(0), None, X3),
    case("mean-tuple-keepdim", lambda a: a.mean((1, 2), keepdim=True), None, X3),
    case("var", lambda a: a.var(), None, X3),
    case("var-dim", lambda a: a.var(1), None, X3),
    case("var-tuple-keepdim", lambda a: a.var((0, 2), keepdim=True), None, X3),
    case("var-biased", lambda a: a.var(1, unbiased=False), None, X3),
    case("var-correction-0", lambda a: a.var(2, correction=0), None, X3),
    case("var-correction-2", lambda a: a.var(2, correction=2), None, X3),
    case("std", lambda a: a.std(1), None, X3),
    case("max", lambda a: a.max(), None, X3),
    case("max-dim", lambda a: a.max(1), None, X3),
    case("max-dim-keepdim", lambda a: a.max(-1, keepdim=True), None, X3),
    case("min", lambda a: a.min(), None, X3),
    case("min-dim", lambda a: a.min(0), None, X3),
    case("amax", lambda a: a.amax(), None, X3),
    case("amax-dim", lambda a: a.amax(1), None, X3),
    case("amax-tuple-keepdim", lambda a: a.amax((0, 2), keepdim=True), None, X3),
    case("amin-dim", lambda a: a.amin(-1), None, X3),
    case("amin-tuple", lambda a: a.amin((0, 1)), None, X3),
    case("softmax-0", lambda a: a.softmax(0), None, X3),
    case("softmax-1", lambda a: a.softmax(1), None, X3),
    case("softmax-last", lambda a: a.softmax(-1), None, X3),
    case("softmax-fn", lambda a: cr.softmax(a, 1), lambda a: torch.softmax(a, 1), (3, 4)),
    case("log_softmax-0", lambda a: a.log_softmax(0), None, X3),
    case("log_softmax-last", lambda a: a.log_softmax(-1), None, X3),
    case("log_softmax-fn", lambda a: cr.log_softmax(a, 1), lambda a: torch.log_softmax(a, 1), X3),
]

# ------------------------------------------------------------------ shapes
SHAPE_CASES = [
    case("reshape", lambda a: a.reshape(6, 4), None, X3),
    case("reshape-tuple-infer", lambda a: a.reshape((3, -1)), None, X3),
    case("view", lambda a: a.view(-1), None, X3),
    case("view-2d", lambda a: a.view(4, 6), None, X3),
    case("transpose", lambda a: a.transpose(0, 2), None, X3),
    case("transpose-neg", lambda a: a.transpose(-1, -2), None, X3),
    case("permute", lambda a: a.permute(2, 0, 1), None, X3),
    case("T", lambda a: a.T, None, (3, 4)),
    case("t", lambda a: a.t(), None, (3, 4)),
    case("flatten", lambda a: a.flatten(), None, X3),
    case("flatten-start", lambda a: a.flatten(1), None, X3),
    case("flatten-range", lambda a: a.flatten(0, 1), None, X3),
    case("squeeze", lambda a: a.squeeze(), None, (2, 1, 3, 1)),
    case("squeeze-dim", lambda a: a.squeeze(1), None, (2, 1, 3, 1)),
    case("squeeze-neg-dim", lambda a: a.squeeze(-1), None, (2, 1, 3, 1)),
    case("squeeze-noop", lambda a: a.squeeze(0) * 1.0, None, (2, 1, 3)),
    case("unsqueeze", lambda a: a.unsqueeze(0), None, (2, 3)),
    case("unsqueeze-neg", lambda a: a.unsqueeze(-1), None, (2, 3)),
    case("expand", lambda a: a.expand(2, 3, 4), None, (3, 1)),
    case("expand-keep", lambda a: a.expand(-1, 4), None, (3, 1)),
    case("expand-tuple", lambda a: a.expand((5, 3)), None, (3,)),
    case("expand_as", lambda a, b: a.expand_as(b) * b, None, (3, 1), (2, 3, 4)),
    case("view_as", lambda a, b: a.view_as(b) * b, None, (6,), (2, 3)),
]

# ------------------------------------------------------------------ joining
CAT_CASES = [
    join("cat-0", "cat", 0, (1, 3), (2, 3)),
    join("cat-1-three", "cat", 1, (2, 3), (2, 1), (2, 2)),
    join("cat-neg", "cat", -1, X3, X3),
    case("cat-tuple", lambda a, b: cr.cat((a, b), 1), lambda a, b: torch.cat((a, b), 1), X3, X3),
    case("cat-same-twice", lambda a: cr.cat([a, a]), lambda a: torch.cat([a, a]), (2, 3)),
    join("stack-0", "stack", 0, (2, 3), (2, 3)),
    join("stack-1", "stack", 1, (2, 3), (2, 3)),
    join("stack-last", "stack", -1, (2, 3), (2, 3)),
    join("stack-1d-three", "stack", 0, (3,), (3,), (3,)),
]

# ------------------------------------------------------------------ indexing and gather
MASK = np.array([[True, False, True], [False, False, True], [True, True, True], [False] * 3])
ROWS = np.array([0, 0, 3, 1, 0])
COLS = np.array([3, 3, 0])
G1 = np.array([[0, 0], [1, 3], [3, 3]])  # gather along dim 1, with repeats
G0 = np.array([[0, 2, 2, 1], [0, 0, 1, 1]])  # gather along dim 0
G1T, G0T = torch.from_numpy(G1), torch.from_numpy(G0)
X2 = (3, 4)

INDEX_CASES = [
    case("index-int", lambda a: a[1], None, (4, 3)),
    case("index-neg-int", lambda a: a[-1], None, (4, 3)),
    case("index-slice", lambda a: a[1:3], None, (4, 3)),
    case("index-step", lambda a: a[:, ::2], None, (4, 3)),
    case("index-ellipsis", lambda a: a[..., -1], None, (2, 4, 3)),
    case("index-none", lambda a: a[None, 1], None, (4, 3)),
    case("index-int-slice", lambda a: a[2, 1:], None, (4, 3)),
    case("index-array-repeats", lambda a: a[ROWS], None, (4, 3)),
    case("index-list-repeats", lambda a: a[[0, 0, 3]], None, (4, 3)),
    case("index-tensor-repeats", lambda a: a[cr.tensor(ROWS)], lambda a: a[_t(ROWS)], (4, 3)),
    case("index-two-arrays", lambda a: a[ROWS[:3], COLS], None, (4, 4)),
    case("index-int-and-list", lambda a: a[1, [0, 0, 2]], None, (4, 3)),
    case("index-slice-and-array", lambda a: a[:, ROWS[:2]], None, (4, 4)),
    case("index-bool-mask", lambda a: a[MASK], None, (4, 3)),
    case("index-bool-rows", lambda a: a[MASK[:, 0]], None, (4, 3)),
    case("index-tensor-mask", lambda a: a[a > 0], None, (4, 3), avoid_zero=True),
    case("gather-1", lambda a: a.gather(1, G1), lambda a: a.gather(1, G1T), (3, 4)),
    case("gather-0", lambda a: a.gather(0, G0), lambda a: a.gather(0, G0T), (3, 4)),
    case("gather-neg", lambda a: a.gather(-1, G1), lambda a: a.gather(-1, G1T), (3, 4)),
    case("gather-fn", lambda a: cr.gather(a, 1, G1), lambda a: torch.gather(a, 1, G1T), (3, 4)),
    case("gather-tensor", lambda a: a.gather(1, cr.tensor(G1)), lambda a: a.gather(1, G1T), X2),
]

# ------------------------------------------------------------------ activations (ops)
WIDE = np.linspace(-6.0, 6.0, 12).reshape(3, 4)  # both branches of erf (|x| < 2, >= 2)
ACTIVATION_CASES = [
    fused("leaky_relu", ops.LeakyRelu, F.leaky_relu, (3, 4), negative_slope=0.01, avoid_zero=True),
    fused("leaky_relu-slope", ops.LeakyRelu, F.leaky_relu, (3, 4), negative_slope=0.2),
    fused("hardtanh", ops.Hardtanh, F.hardtanh, WIDE / 2, min_val=-1.0, max_val=1.0),
    fused("hardtanh-bounds", ops.Hardtanh, F.hardtanh, (3, 4), min_val=-0.5, max_val=0.25),
    fused("elu", ops.Elu, F.elu, (3, 4), alpha=1.0, avoid_zero=True),
    fused("elu-0.5", ops.Elu, F.elu, (3, 4), alpha=0.5, avoid_zero=True),
    fused("gelu", ops.Gelu, F.gelu, (3, 4), approximate="none"),
    fused("gelu-wide", ops.Gelu, F.gelu, WIDE, approximate="none"),
    fused("gelu-tanh", ops.Gelu, F.gelu, (3, 4), approximate="tanh"),
    fused("gelu-tanh-wide", ops.Gelu, F.gelu, WIDE, approximate="tanh"),
    fused("silu", ops.Silu, F.silu, (3, 4)),
    fused("silu-wide", ops.Silu, F.silu, WIDE),
    fused("softplus", ops.Softplus, F.softplus, (3, 4), beta=1.0, threshold=20.0),
    fused("softplus-beta-threshold", ops.Softplus, F.softplus, WIDE / 2, beta=2.0, threshold=1.0),
]

# ------------------------------------------------------------------ losses (ops)
TARGET = np.array([0, 3, 1, 1, 2])
CLASS_WEIGHT = np.array([0.5, 1.0, 2.0, 1.5])
ROW_WEIGHT = CLASS_WEIGHT[TARGET]
Y = np.array([[0.0, 1.0, 1.0, 0.0], [1.0, 0.0, 0.3, 1.0], [0.0, 0.0, 1.0, 0.7]])
BCE_WEIGHT = np.array([1.0, 0.5, 2.0, 1.5])
POS_WEIGHT = np.array([3.0, 0.5, 1.0, 2.0])


def _cross_entropy(reduction: str, weighted: bool) -> Any:
    """CrossEntropyIndex's row_weight is the class weight of each row's target."""
    row_weight = ROW_WEIGHT if weighted else None
    weight = _t(CLASS_WEIGHT) if weighted else None

    def ours(z: cr.Tensor) -> cr.Tensor:
        return ops.CrossEntropyIndex.apply(
            z, target=TARGET, row_weight=row_weight, reduction=reduction
        )

    def theirs(z: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(z, _t(TARGET), weight=weight, reduction=reduction)

    return case(f"cross_entropy-{reduction}-{weighted=}", ours, theirs, (5, 4))


def _bce(reduction: str, weighted: bool) -> Any:
    weight = BCE_WEIGHT if weighted else None

    def ours(p: cr.Tensor) -> cr.Tensor:
        return ops.BinaryCrossEntropy.apply(p, target=Y, weight=weight, reduction=reduction)

    def theirs(p: torch.Tensor) -> torch.Tensor:
        w = None if weight is None else _t(weight)
        return F.binary_cross_entropy(p, _t(Y), weight=w, reduction=reduction)

    return case(f"bce-{reduction}-{weighted=}", ours, theirs, (3, 4), domain="unit")


def _bce_logits(reduction: str, weighted: bool, pos_weighted: bool) -> Any:
    weight = BCE_WEIGHT if weighted else None
    pos_weight = POS_WEIGHT if pos_weighted else None

    def ours(z: cr.Tensor) -> cr.Tensor:
        return ops.BinaryCrossEntropyWithLogits.apply(
            z, target=Y, weight=weight, pos_weight=pos_weight, reduction=reduction
        )

    def theirs(z: torch.Tensor) -> torch.Tensor:
        w = None if weight is None else _t(weight)
        pw = None if pos_weight is None else _t(pos_weight)
        return F.binary_cross_entropy_with_logits(
            z, _t(Y), weight=w, pos_weight=pw, reduction=reduction
        )

    name = f"bce_logits-{reduction}-{weighted=}-{pos_weighted=}"
    return case(name, ours, theirs, (3, 4))


REDUCTIONS = ["none", "mean", "sum"]
LOSS_CASES = (
    [_cross_entropy(r, w) for r in REDUCTIONS for w in (False, True)]
    + [_bce(r, w) for r in REDUCTIONS for w in (False, True)]
    + [_bce_logits(r, w, pw) for r in REDUCTIONS for w in (False, True) for pw in (False, True)]
)

# ------------------------------------------------------------------ fused linear
LINEAR_CASES = [
    case("linear", ops.Linear.apply, F.linear, (4, 3), (5, 3), (5,)),
    case("linear-no-bias", ops.Linear.apply, F.linear, (4, 3), (5, 3)),
    case("linear-batched", ops.Linear.apply, F.linear, (2, 4, 3), (5, 3), (5,)),
    # 2 rows, 8 outputs: the short-batch product (W xᵀ)ᵀ, see ops.linalg.batch_product
    case("linear-short-batch", ops.Linear.apply, F.linear, (2, 9), (8, 9), (8,)),
]

# ------------------------------------------------------------------ embedding lookup (op)
TOKENS = np.array([[1, 4, 1], [0, 2, 4]])  # repeated rows accumulate their gradients
TOKENS_T = torch.from_numpy(TOKENS)


def _embedding(padding_idx: int | None) -> Any:
    def ours(w: cr.Tensor) -> cr.Tensor:
        return ops.EmbeddingLookup.apply(w, index=TOKENS, padding_idx=padding_idx)

    def theirs(w: torch.Tensor) -> torch.Tensor:
        return F.embedding(TOKENS_T, w, padding_idx=padding_idx)

    return case(f"embedding-{padding_idx=}", ours, theirs, (5, 3))


EMBEDDING_CASES = [_embedding(None)]

# PyTorch's padding row gets no gradient although the output depends on it: a deliberate
# "gradient" that finite differences cannot agree with, so it is checked for parity only
PARITY_ONLY_CASES = [_embedding(1)]

ALL_CASES = (
    BINARY_CASES
    + MATMUL_CASES
    + SCALAR_CASES
    + UNARY_CASES
    + REDUCTION_CASES
    + SHAPE_CASES
    + CAT_CASES
    + INDEX_CASES
    + ACTIVATION_CASES
    + LOSS_CASES
    + LINEAR_CASES
    + EMBEDDING_CASES
)
