"""Every loss, as a function and as a module, in every reduction, against PyTorch (float64):
the loss value and its gradient with respect to the input."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F
from tests.support.modules import assert_close, check_loss, module_loss, rand

N, C = 6, 4
REDUCTIONS = ["mean", "sum", "none"]

# ---------------------------------------------------------------- data
X = rand(N, 3, seed=1)
Y = rand(N, 3, seed=2)
P = rand(N, 3, seed=3, low=0.05, high=0.95)  # probabilities
SOFT = rand(N, 3, seed=4, low=0.0, high=1.0)  # soft binary targets
BINARY = (rand(N, 3, seed=5, low=0, high=1) > 0.5).astype(np.float64)
P_EDGES = np.array([[0.0, 1.0, 0.0, 1.0, 0.5], [0.0, 1.0, 1e-20, 1 - 1e-16, 0.3]])
Y_EDGES = np.array([[0.0, 1.0, 1.0, 0.0, 1.0], [1.0, 0.0, 0.0, 1.0, 0.7]])
LOGITS_BIG = np.array([[100.0, -100.0, 0.5], [-100.0, 100.0, -3.0], [30.0, -30.0, 0.0]])
Y_BIG = np.array([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.5]])
W3 = rand(3, seed=6, low=0.5, high=2.0)
W_ROWS = rand(N, 3, seed=7, low=0.5, high=2.0)
POS_W = np.array([0.5, 2.0, 3.0])

Z = rand(N, C, seed=8) * 2  # logits
Z_BIG = Z * 1000  # no overflow in the fused softmax
CLASSES = np.array([0, 3, 1, 1, 2, 3])
CLASSES_IGNORED = np.array([0, -100, 1, 1, -100, 3])
CLASSES_IGNORE_2 = np.array([0, 3, 2, 1, 2, 3])
W_C = rand(C, seed=9, low=0.5, high=2.0)
Q = rand(N, C, seed=10, low=0.0, high=1.0)
Q = Q / Q.sum(1, keepdims=True)  # probability targets
Z3 = rand(N, C, 5, seed=11)  # (N, C, d)
CLASSES3 = np.random.default_rng(12).integers(0, C, (N, 5))
CLASSES3_IGNORED = np.where(np.arange(5) == 2, -100, CLASSES3)
Q3 = rand(N, C, 5, seed=13, low=0, high=1)
Q3 = Q3 / Q3.sum(1, keepdims=True)
Z4 = rand(2, C, 3, 2, seed=14)  # (N, C, d1, d2)
CLASSES4 = np.random.default_rng(15).integers(0, C, (2, 3, 2))
Z1 = rand(C, seed=16)  # unbatched
Q1 = Q[0]
LOG_P = rand(N, C, seed=17) - 2  # nll_loss inputs (any reals work)

# (id, functional name, module name, input, target, options)
CASES: list[tuple[str, str, str, np.ndarray, Any, dict[str, Any]]] = [
    ("mse", "mse_loss", "MSELoss", X, Y, {}),
    ("mse 1-d", "mse_loss", "MSELoss", X[:, 0], Y[:, 0], {}),
    ("l1", "l1_loss", "L1Loss", X, Y, {}),
    ("huber", "huber_loss", "HuberLoss", X * 2, Y, {}),
    ("huber delta 1", "huber_loss", "HuberLoss", X * 2, Y, {"delta": 1.0}),
    ("huber delta 0.5", "huber_loss", "HuberLoss", X * 2, Y, {"delta": 0.5}),
    ("bce", "binary_cross_entropy", "BCELoss", P, SOFT, {}),
    ("bce binary", "binary_cross_entropy", "BCELoss", P, BINARY, {}),
    ("bce weight", "binary_cross_entropy", "BCELoss", P, SOFT, {"weight": W3}),
    ("bce row weight", "binary_cross_entropy", "BCELoss", P, BINARY, {"weight": W_ROWS}),
    ("bce p=0,1", "binary_cross_entropy", "BCELoss", P_EDGES, Y_EDGES, {}),
    ("bce p=0,1 w", "binary_cross_entropy", "BCELoss", P_EDGES, Y_EDGES, {"weight": P_EDGES + 1}),
    ("bcel", "binary_cross_entropy_with_logits", "BCEWithLogitsLoss", X, SOFT, {}),
    ("bcel weight", "binary_cross_entropy_with_logits", "BCEWithLogitsLoss", X, SOFT,
     {"weight": W3}),
    ("bcel pos_weight", "binary_cross_entropy_with_logits", "BCEWithLogitsLoss", X, BINARY,
     {"pos_weight": POS_W}),
    ("bcel both", "binary_cross_entropy_with_logits", "BCEWithLogitsLoss", X, SOFT,
     {"weight": W_ROWS, "pos_weight": POS_W}),
    ("bcel ±100", "binary_cross_entropy_with_logits", "BCEWithLogitsLoss", LOGITS_BIG, Y_BIG, {}),
    ("bcel ±100 pos", "binary_cross_entropy_with_logits", "BCEWithLogitsLoss", LOGITS_BIG, Y_BIG,
     {"pos_weight": POS_W, "weight": W3}),
    ("ce", "cross_entropy", "CrossEntropyLoss", Z, CLASSES, {}),
    ("ce big logits", "cross_entropy", "CrossEntropyLoss", Z_BIG, CLASSES, {}),
    ("ce weight", "cross_entropy", "CrossEntropyLoss", Z, CLASSES, {"weight": W_C}),
    ("ce ignore", "cross_entropy", "CrossEntropyLoss", Z, CLASSES_IGNORED, {}),
    ("ce ignore 2", "cross_entropy", "CrossEntropyLoss", Z, CLASSES_IGNORE_2,
     {"ignore_index": 2}),
    ("ce ignore weight", "cross_entropy", "CrossEntropyLoss", Z, CLASSES_IGNORED,
     {"weight": W_C}),
    ("ce smooth", "cross_entropy", "CrossEntropyLoss", Z, CLASSES, {"label_smoothing": 0.1}),
    ("ce smooth weight", "cross_entropy", "CrossEntropyLoss", Z, CLASSES,
     {"label_smoothing": 0.1, "weight": W_C}),
    ("ce smooth ignore", "cross_entropy", "CrossEntropyLoss", Z, CLASSES_IGNORED,
     {"label_smoothing": 0.1}),
    ("ce smooth ignore weight", "cross_entropy", "CrossEntropyLoss", Z, CLASSES_IGNORED,
     {"label_smoothing": 0.2, "weight": W_C}),
    ("ce probs", "cross_entropy", "CrossEntropyLoss", Z, Q, {}),
    ("ce probs smooth", "cross_entropy", "CrossEntropyLoss", Z, Q, {"label_smoothing": 0.1}),
    ("ce probs weight", "cross_entropy", "CrossEntropyLoss", Z, Q, {"weight": W_C}),
    ("ce probs smooth weight", "cross_entropy", "CrossEntropyLoss", Z, Q,
     {"weight": W_C, "label_smoothing": 0.1}),
    ("ce NCd", "cross_entropy", "CrossEntropyLoss", Z3, CLASSES3, {}),
    ("ce NCd weight ignore", "cross_entropy", "CrossEntropyLoss", Z3, CLASSES3_IGNORED,
     {"weight": W_C}),
    ("ce NCd smooth", "cross_entropy", "CrossEntropyLoss", Z3, CLASSES3_IGNORED,
     {"label_smoothing": 0.1, "weight": W_C}),
    ("ce NCd probs", "cross_entropy", "CrossEntropyLoss", Z3, Q3, {"label_smoothing": 0.1}),
    ("ce NCdd", "cross_entropy", "CrossEntropyLoss", Z4, CLASSES4, {"weight": W_C}),
    ("ce 1-d", "cross_entropy", "CrossEntropyLoss", Z1, np.array(2), {}),
    ("ce 1-d weight smooth", "cross_entropy", "CrossEntropyLoss", Z1, np.array(1),
     {"weight": W_C, "label_smoothing": 0.1}),
    ("ce 1-d probs", "cross_entropy", "CrossEntropyLoss", Z1, Q1, {}),
    ("nll", "nll_loss", "NLLLoss", LOG_P, CLASSES, {}),
    ("nll weight", "nll_loss", "NLLLoss", LOG_P, CLASSES, {"weight": W_C}),
    ("nll ignore", "nll_loss", "NLLLoss", LOG_P, CLASSES_IGNORED, {}),
    ("nll ignore 2 weight", "nll_loss", "NLLLoss", LOG_P, CLASSES_IGNORE_2,
     {"ignore_index": 2, "weight": W_C}),
    ("nll NCd", "nll_loss", "NLLLoss", Z3, CLASSES3_IGNORED, {"weight": W_C}),
    ("nll 1-d", "nll_loss", "NLLLoss", Z1, np.array(3), {}),
]  # fmt: skip
IDS = [case[0] for case in CASES]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("_id", "fn", "_module", "x", "target", "options"), CASES, ids=IDS)
def test_loss_function(
    _id: str, fn: str, _module: str, x: np.ndarray, target: Any, options: dict, reduction: str
) -> None:
    check_loss(
        getattr(F, fn),
        getattr(torch.nn.functional, fn),
        x,
        target,
        reduction=reduction,
        **options,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("_id", "_fn", "module", "x", "target", "options"), CASES, ids=IDS)
def test_loss_module(
    _id: str, _fn: str, module: str, x: np.ndarray, target: Any, options: dict, reduction: str
) -> None:
    check_loss(*module_loss(module), x, target, reduction=reduction, **options)


# ---------------------------------------------------------------- fused vs composed

FUSED_CASES = [
    ("plain", Z, CLASSES, {}),
    ("weight", Z, CLASSES, {"weight": W_C}),
    ("ignore", Z, CLASSES_IGNORED, {"weight": W_C}),
    ("big logits", Z_BIG, CLASSES, {}),
    ("NCd", Z3, CLASSES3_IGNORED, {"weight": W_C}),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    ("_id", "z", "target", "options"), FUSED_CASES, ids=[c[0] for c in FUSED_CASES]
)
def test_cross_entropy_equals_nll_of_log_softmax(
    _id: str, z: np.ndarray, target: np.ndarray, options: dict, reduction: str
) -> None:
    kwargs = {k: cr.tensor(v) for k, v in options.items()}
    fused_x = cr.tensor(z, requires_grad=True)
    composed_x = cr.tensor(z, requires_grad=True)
    fused = F.cross_entropy(fused_x, cr.tensor(target), reduction=reduction, **kwargs)
    composed = F.nll_loss(
        F.log_softmax(composed_x, dim=1), cr.tensor(target), reduction=reduction, **kwargs
    )
    assert_close(fused, composed.detach().numpy(), "loss")
    projection = rand(*fused.shape, seed=3)
    (fused * cr.tensor(projection)).sum().backward()
    (composed * cr.tensor(projection)).sum().backward()
    assert_close(fused_x.grad, composed_x.grad.numpy(), "gradient")


# ---------------------------------------------------------------- dtypes and errors

FLOAT32_CASES = [case for case in CASES if case[0] in {
    "mse", "l1", "huber delta 0.5", "bce weight", "bce p=0,1", "bcel both", "ce weight",
    "ce ignore", "ce smooth weight", "ce probs smooth", "ce NCd weight ignore", "nll weight",
}]  # fmt: skip


@pytest.mark.parametrize(
    ("_id", "fn", "_module", "x", "target", "options"),
    FLOAT32_CASES,
    ids=[c[0] for c in FLOAT32_CASES],
)
def test_float32_input_gives_float32_loss_and_gradient(
    _id: str, fn: str, _module: str, x: np.ndarray, target: Any, options: dict
) -> None:
    def f32(value: Any) -> Any:
        if not isinstance(value, np.ndarray):
            return value
        return cr.tensor(value.astype(np.float32) if value.dtype.kind == "f" else value)

    inputs = cr.tensor(x.astype(np.float32), requires_grad=True)
    loss = getattr(F, fn)(inputs, f32(target), **{k: f32(v) for k, v in options.items()})
    assert loss.dtype == np.float32
    loss.backward()
    assert inputs.grad is not None and inputs.grad.dtype == np.float32
    expected = getattr(torch.nn.functional, fn)(
        torch.tensor(x),
        torch.tensor(target),
        **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in options.items()},
    )
    assert_close(loss, expected, "float32 loss", rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("fn", "x", "bad"),
    [
        ("cross_entropy", Z, np.array([0, 1, 7, 1, 2, 3])),
        ("cross_entropy", Z, np.array([0, 1, -3, 1, 2, 3])),
        ("cross_entropy", Z3, np.where(CLASSES3 == 0, 9, CLASSES3)),
        ("cross_entropy", Z1, np.array(4)),
        ("nll_loss", LOG_P, np.array([0, 1, 7, 1, 2, 3])),
    ],
)
def test_target_class_out_of_range_names_the_class(fn: str, x: np.ndarray, bad: Any) -> None:
    wrong = bad[(bad < 0) | (bad >= C)].flat[0] if bad.ndim else bad
    with pytest.raises(IndexError, match=rf"(?<!\d){wrong}(?!\d)"):
        getattr(F, fn)(cr.tensor(x), cr.tensor(bad))


@pytest.mark.parametrize("fn", ["mse_loss", "l1_loss", "huber_loss", "binary_cross_entropy",
                                "binary_cross_entropy_with_logits"])  # fmt: skip
def test_mismatched_shapes_name_both_shapes(fn: str) -> None:
    with pytest.raises(ValueError, match=re.escape("Size([6, 3])")) as info:
        getattr(F, fn)(cr.tensor(P), cr.tensor(P[:, :1]))
    assert "Size([6, 1])" in str(info.value)


def test_mse_broadcastable_shapes_are_still_rejected() -> None:
    with pytest.raises(ValueError, match=re.escape("Size([6])")):
        nn.MSELoss()(cr.tensor(X[:, :1]), cr.tensor(Y[:, 0]))


def test_cross_entropy_wrong_target_shape() -> None:
    with pytest.raises(ValueError, match=re.escape("(3,)")):
        F.cross_entropy(cr.tensor(Z), cr.tensor(CLASSES[:3]))


LOSS_FUNCTIONS = [
    ("mse_loss", X, Y), ("l1_loss", X, Y), ("huber_loss", X, Y),
    ("binary_cross_entropy", P, SOFT), ("binary_cross_entropy_with_logits", X, SOFT),
    ("cross_entropy", Z, CLASSES), ("nll_loss", LOG_P, CLASSES),
]  # fmt: skip
LOSS_MODULES = ["MSELoss", "L1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss",
                "CrossEntropyLoss", "NLLLoss"]  # fmt: skip


@pytest.mark.parametrize(("fn", "x", "target"), LOSS_FUNCTIONS, ids=[c[0] for c in LOSS_FUNCTIONS])
def test_bad_reduction_function(fn: str, x: np.ndarray, target: np.ndarray) -> None:
    with pytest.raises(ValueError, match="'average'.*reduction"):
        getattr(F, fn)(cr.tensor(x), cr.tensor(target), reduction="average")


@pytest.mark.parametrize("module", LOSS_MODULES)
def test_bad_reduction_module(module: str) -> None:
    with pytest.raises(ValueError, match="'average'.*reduction"):
        getattr(nn, module)(reduction="average")


def test_bce_rejects_values_outside_0_1() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(cr.tensor([1.5]), cr.tensor([1.0]))


def test_bad_label_smoothing() -> None:
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(cr.tensor(Z), cr.tensor(CLASSES), label_smoothing=1.5)


def test_loss_modules_keep_weights_as_buffers_like_torch() -> None:
    for module, kwargs in [
        ("CrossEntropyLoss", {"weight": W_C}),
        ("NLLLoss", {"weight": W_C}),
        ("BCELoss", {"weight": W3}),
        ("BCEWithLogitsLoss", {"weight": W3, "pos_weight": POS_W}),
        ("MSELoss", {}),
    ]:
        ours = getattr(nn, module)(**{k: cr.tensor(v) for k, v in kwargs.items()})
        theirs = getattr(torch.nn, module)(**{k: torch.tensor(v) for k, v in kwargs.items()})
        assert list(ours.state_dict()) == list(theirs.state_dict()), module


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_fast_path_equals_the_general_path(reduction: str) -> None:
    """int64 classes take cross_entropy's few-check path; int32 ones the general path."""
    results = []
    for dtype in (np.int64, np.int32):
        logits = cr.tensor(Z.astype(np.float32), requires_grad=True)
        loss = F.cross_entropy(logits, cr.tensor(CLASSES.astype(dtype)), reduction=reduction)
        loss.backward()
        assert logits.grad is not None
        results.append((loss.item(), logits.grad.detach().numpy()))
    assert results[0][0] == results[1][0]
    assert np.array_equal(results[0][1], results[1][1])


def test_one_hot_matches_torch_and_names_a_bad_class() -> None:
    classes = np.array([0, 2, 1, 2])
    expected = torch.nn.functional.one_hot(torch.from_numpy(classes), 4).numpy()
    assert np.array_equal(F.one_hot(cr.tensor(classes), 4).numpy(), expected)
    for bad in (-2, 4):
        with pytest.raises(ValueError, match=rf"\[0, 4\), got {bad}$"):
            F.one_hot(cr.tensor([0, bad, 1]), 4)
