"""The losses beyond the classic set against PyTorch 2.13, as functions and modules, in every
reduction: value and gradient of every floating input (float64 and float32), gradcheck,
torch's deprecated size_average/reduce, torch's argument order, reprs and buffers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F
from tests.support.modules import assert_close, rand

N, C, D = 5, 4, 3
rng = np.random.default_rng(0)
SIGNS = np.where(rng.random(N) < 0.5, -1.0, 1.0)
SIGNS_2D = np.where(rng.random((N, C)) < 0.5, -1.0, 1.0)
CLASSES = np.array([0, 3, 1, 1, 2])
MULTI = np.array([[3, 0, -1, 1], [0, 1, 2, 3], [1, -1, 0, 0], [-1, 1, 2, 3], [2, 0, 1, -1]])
BITS = (rng.random((N, C)) < 0.5).astype(np.float64)
COUNTS = rng.poisson(2.0, (N, C)).astype(np.float64)
W_C = rand(C, seed=9, low=0.5, high=2.0)


class Float:
    """An input that gets a gradient (ndarray values, with the dtype under test)."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values


# (id, functional name, module name, module options, arguments (Float or constant), options)
CASES: list[tuple[str, str, str, dict, list[Any], dict]] = [
    ("poisson log", "poisson_nll_loss", "PoissonNLLLoss", {}, [Float(rand(N, C)), COUNTS], {}),
    ("poisson rate", "poisson_nll_loss", "PoissonNLLLoss", {"log_input": False},
     [Float(rand(N, C, low=0.1, high=3)), COUNTS], {"log_input": False}),
    ("poisson full", "poisson_nll_loss", "PoissonNLLLoss", {"full": True},
     [Float(rand(N, C)), COUNTS], {"full": True}),
    ("gaussian", "gaussian_nll_loss", "GaussianNLLLoss", {},
     [Float(rand(N, C)), rand(N, C, seed=2), Float(rand(N, C, seed=3, low=0.1, high=2))], {}),
    ("gaussian full eps", "gaussian_nll_loss", "GaussianNLLLoss", {"full": True, "eps": 0.5},
     [Float(rand(N, C)), rand(N, C, seed=2), Float(rand(N, C, seed=3, low=0.1, high=2))],
     {"full": True, "eps": 0.5}),
    ("gaussian row var", "gaussian_nll_loss", "GaussianNLLLoss", {},
     [Float(rand(N, C)), rand(N, C, seed=2), Float(rand(N, seed=3, low=0.1, high=2))], {}),
    ("gaussian var 1", "gaussian_nll_loss", "GaussianNLLLoss", {},
     [Float(rand(N, C)), rand(N, C, seed=2), Float(rand(N, 1, seed=3, low=0.1, high=2))], {}),
    ("hinge", "hinge_embedding_loss", "HingeEmbeddingLoss", {}, [Float(rand(N, C)), SIGNS_2D], {}),
    ("hinge margin", "hinge_embedding_loss", "HingeEmbeddingLoss", {"margin": 0.3},
     [Float(rand(N, C)), SIGNS_2D], {"margin": 0.3}),
    ("ranking", "margin_ranking_loss", "MarginRankingLoss", {},
     [Float(rand(N)), Float(rand(N, seed=4)), SIGNS], {}),
    ("ranking margin", "margin_ranking_loss", "MarginRankingLoss", {"margin": 0.5},
     [Float(rand(N)), Float(rand(N, seed=4)), SIGNS], {"margin": 0.5}),
    ("soft margin", "soft_margin_loss", "SoftMarginLoss", {}, [Float(rand(N, C)), SIGNS_2D], {}),
    ("multilabel soft", "multilabel_soft_margin_loss", "MultiLabelSoftMarginLoss", {},
     [Float(rand(N, C)), BITS], {}),
    ("multilabel soft w", "multilabel_soft_margin_loss", "MultiLabelSoftMarginLoss",
     {"weight": W_C}, [Float(rand(N, C)), BITS], {"weight": W_C}),
    ("multi margin", "multi_margin_loss", "MultiMarginLoss", {}, [Float(rand(N, C)), CLASSES], {}),
    ("multi margin p2 w", "multi_margin_loss", "MultiMarginLoss",
     {"p": 2, "margin": 0.7, "weight": W_C}, [Float(rand(N, C)), CLASSES],
     {"p": 2, "margin": 0.7, "weight": W_C}),
    ("multi margin 1-d", "multi_margin_loss", "MultiMarginLoss", {},
     [Float(rand(C)), np.array(2)], {}),
    ("multilabel margin", "multilabel_margin_loss", "MultiLabelMarginLoss", {},
     [Float(rand(N, C)), MULTI], {}),
    ("multilabel margin 1-d", "multilabel_margin_loss", "MultiLabelMarginLoss", {},
     [Float(rand(C)), MULTI[0]], {}),
    ("cosine", "cosine_embedding_loss", "CosineEmbeddingLoss", {},
     [Float(rand(N, D)), Float(rand(N, D, seed=5)), SIGNS], {}),
    ("cosine margin", "cosine_embedding_loss", "CosineEmbeddingLoss", {"margin": -0.2},
     [Float(rand(N, D)), Float(rand(N, D, seed=5)), SIGNS], {"margin": -0.2}),
    ("triplet", "triplet_margin_loss", "TripletMarginLoss", {},
     [Float(rand(N, D)), Float(rand(N, D, seed=5)), Float(rand(N, D, seed=6))], {}),
    ("triplet p1 swap", "triplet_margin_loss", "TripletMarginLoss",
     {"p": 1.0, "swap": True, "margin": 2.0},
     [Float(rand(N, D)), Float(rand(N, D, seed=5)), Float(rand(N, D, seed=6))],
     {"p": 1.0, "swap": True, "margin": 2.0}),
    ("triplet distance", "triplet_margin_with_distance_loss", "TripletMarginWithDistanceLoss",
     {"swap": True}, [Float(rand(N, D)), Float(rand(N, D, seed=5)), Float(rand(N, D, seed=6))],
     {"swap": True}),
    ("kl", "kl_div", "KLDivLoss", {}, [Float(rand(N, C) - 2), rand(N, C, low=0.05)], {}),
    ("kl log target", "kl_div", "KLDivLoss", {"log_target": True},
     [Float(rand(N, C) - 2), rand(N, C, seed=3) - 1], {"log_target": True}),
    ("smooth l1", "smooth_l1_loss", "SmoothL1Loss", {}, [Float(rand(N, C) * 2), rand(N, C)], {}),
    ("smooth l1 beta", "smooth_l1_loss", "SmoothL1Loss", {"beta": 0.4},
     [Float(rand(N, C) * 2), rand(N, C)], {"beta": 0.4}),
]  # fmt: skip
IDS = [case[0] for case in CASES]
REDUCTIONS = ["mean", "sum", "none"]


def _convert(value: Any, framework: str, dtype: Any) -> Any:
    if isinstance(value, Float):
        values = value.values.astype(dtype)
        if framework == "torch":
            return torch.tensor(values, requires_grad=True)
        return cr.tensor(values, requires_grad=True)
    if isinstance(value, np.ndarray):
        array = value.astype(dtype) if value.dtype.kind == "f" else value
        return torch.tensor(array) if framework == "torch" else cr.tensor(array)
    return value


def _run(call: Any, torch_call: Any, args: list[Any], dtype: Any, tol: dict[str, float]) -> None:
    ours = [_convert(a, "cr", dtype) for a in args]
    theirs = [_convert(a, "torch", dtype) for a in args]
    cr_out, torch_out = call(*ours), torch_call(*theirs)
    assert cr_out.dtype == dtype, f"loss dtype {cr_out.dtype}"
    assert_close(cr_out, torch_out, "loss", **tol)
    projection = rand(*torch_out.shape, seed=11).astype(dtype)
    (cr_out * cr.tensor(projection)).sum().backward()
    (torch_out * torch.tensor(projection)).sum().backward()
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        if isinstance(b, torch.Tensor) and b.requires_grad:
            assert a.grad is not None, f"no gradient for argument {i}"
            assert a.grad.dtype == dtype
            assert_close(a.grad, b.grad, f"gradient of argument {i}", **tol)


def _module_options(options: dict, framework: str) -> dict:
    return {k: _convert(v, framework, np.float64) for k, v in options.items()}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("_id", "fn", "_module", "_mopts", "args", "options"), CASES, ids=IDS)
def test_function_float64(_id, fn, _module, _mopts, args, options, reduction) -> None:
    _run(
        lambda *a: getattr(F, fn)(*a, **_module_options(options, "cr"), reduction=reduction),
        lambda *a: getattr(torch.nn.functional, fn)(
            *a, **_module_options(options, "torch"), reduction=reduction
        ),
        args,
        np.float64,
        {"atol": 1e-10, "rtol": 1e-10},
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("_id", "_fn", "module", "mopts", "args", "_options"), CASES, ids=IDS)
def test_module_float32(_id, _fn, module, mopts, args, _options, reduction) -> None:
    ours = getattr(nn, module)(**_module_options(mopts, "cr"), reduction=reduction).float()
    theirs = getattr(torch.nn, module)(**_module_options(mopts, "torch"), reduction=reduction)
    theirs = theirs.float()
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _run(ours, theirs, args, np.float32, {"atol": 1e-5, "rtol": 1e-5})


@pytest.mark.parametrize(("_id", "fn", "_module", "_mopts", "args", "options"), CASES, ids=IDS)
def test_gradcheck(_id, fn, _module, _mopts, args, options) -> None:
    if _id == "gaussian full eps":
        pytest.skip("var below eps: torch's clamp passes the gradient, finite differences see 0")
    inputs = [_convert(a, "cr", np.float64) for a in args]
    kwargs = _module_options(options, "cr")
    assert cr.gradcheck(lambda *a: getattr(F, fn)(*a, **kwargs, reduction="none"), inputs)


@pytest.mark.parametrize(
    ("size_average", "reduce"), [(None, False), (False, None), (True, True), (False, True)]
)
def test_deprecated_size_average_and_reduce_as_torch(size_average: Any, reduce: Any) -> None:
    x, y = rand(N, C), rand(N, C, seed=2)
    for fn in ("mse_loss", "l1_loss", "smooth_l1_loss", "soft_margin_loss"):
        target = np.sign(y) if fn == "soft_margin_loss" else y
        ours = getattr(F, fn)(cr.tensor(x), cr.tensor(target), size_average, reduce)
        theirs = getattr(torch.nn.functional, fn)(
            torch.tensor(x), torch.tensor(target), size_average, reduce
        )
        assert_close(ours, theirs, fn)
    module = nn.MSELoss(size_average, reduce)
    assert module.reduction == torch.nn.MSELoss(size_average, reduce).reduction


def test_positional_arguments_in_torchs_order() -> None:
    z, y, w = rand(N, C), CLASSES, W_C
    # weight, size_average, ignore_index, reduce, reduction: positions as torch's
    ours = F.cross_entropy(cr.tensor(z), cr.tensor(y), cr.tensor(w), None, 1, None, "sum")
    theirs = torch.nn.functional.cross_entropy(
        torch.tensor(z), torch.tensor(y), torch.tensor(w), None, 1, None, "sum"
    )
    assert_close(ours, theirs, "cross_entropy")
    ours = F.nll_loss(cr.tensor(z), cr.tensor(y), None, None, 3, None, "none")
    theirs = torch.nn.functional.nll_loss(
        torch.tensor(z), torch.tensor(y), None, None, 3, None, "none"
    )
    assert_close(ours, theirs, "nll_loss")
    module = nn.CrossEntropyLoss(None, None, 2, None, "sum", 0.1)
    assert (module.ignore_index, module.reduction, module.label_smoothing) == (2, "sum", 0.1)


@pytest.mark.parametrize("fn", ["mse_loss", "l1_loss", "huber_loss"])
def test_elementwise_weight_of_torch_2_13(fn: str) -> None:
    x, y, w = rand(N, C), rand(N, C, seed=2), rand(N, C, seed=3, low=0.1)
    for reduction in REDUCTIONS:
        ours = cr.tensor(x, requires_grad=True)
        theirs = torch.tensor(x, requires_grad=True)
        a = getattr(F, fn)(ours, cr.tensor(y), reduction=reduction, weight=cr.tensor(w))
        b = getattr(torch.nn.functional, fn)(
            theirs, torch.tensor(y), reduction=reduction, weight=torch.tensor(w)
        )
        assert_close(a, b, f"{fn} {reduction}")
        a.sum().backward()
        b.sum().backward()
        assert_close(ours.grad, theirs.grad, f"{fn} {reduction} gradient")


def test_distance_modules_match_torch() -> None:
    x1, x2 = rand(N, D), rand(N, D, seed=5)
    for ours, theirs in [
        (nn.PairwiseDistance(), torch.nn.PairwiseDistance()),
        (nn.PairwiseDistance(1.0, 1e-3, True), torch.nn.PairwiseDistance(1.0, 1e-3, True)),
        (nn.CosineSimilarity(), torch.nn.CosineSimilarity()),
        (nn.CosineSimilarity(0, 1e-3), torch.nn.CosineSimilarity(0, 1e-3)),
    ]:
        assert repr(ours) == repr(theirs)
        _run(ours, theirs, [Float(x1), Float(x2)], np.float64, {"atol": 1e-10, "rtol": 1e-10})


def test_loss_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        F.triplet_margin_loss(cr.randn(2, 3), cr.randn(2, 3), cr.randn(2, 3), margin=0)
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(cr.randn(4, 3), cr.randn(4, 3), cr.ones(2, 2))
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(cr.randn(4, 3), cr.randn(4, 3), -cr.ones(4, 3))
    with pytest.raises(ValueError, match="class indices"):
        F.multi_margin_loss(cr.randn(2, 3), cr.tensor([0, 3]))
    with pytest.raises(ValueError, match="batchmean"):
        nn.MSELoss(reduction="batchmean")
    assert nn.KLDivLoss(reduction="batchmean").reduction == "batchmean"
