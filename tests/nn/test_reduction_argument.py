"""The one `reduction` preamble (nn.functional._common.resolve_reduction): torch's legacy
size_average/reduce pair decides as torch's own rule does, and every loss that takes
`reduction` refuses an unknown one with one line (only kl_div / KLDivLoss take
'batchmean')."""

import inspect
import itertools

import numpy as np
import pytest
import torch.nn._reduction as torch_reduction

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F
from chainrule.nn.functional._common import REDUCTIONS, resolve_reduction

LOSSES = sorted(
    name
    for name in dir(F)
    if inspect.isfunction(getattr(F, name))
    and "reduction" in inspect.signature(getattr(F, name)).parameters
)


def test_every_loss_taking_reduction_is_listed():
    assert len(LOSSES) >= 20  # the sweep below really covers the losses


@pytest.mark.parametrize(
    ("size_average", "reduce"), list(itertools.product([None, True, False], repeat=2))
)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_legacy_pair_decides_as_torch(size_average, reduce, reduction):
    ours = resolve_reduction(size_average, reduce, reduction)
    if size_average is None and reduce is None:
        assert ours == reduction
    else:
        expected = torch_reduction.legacy_get_string(size_average, reduce, emit_warning=False)
        assert ours == expected


def _arguments(name):
    x = cr.tensor(np.full((2, 3), 0.5, dtype=np.float32))
    labels = cr.tensor(np.ones((2, 3), dtype=np.float32))
    classes = cr.tensor(np.array([0, 2]))
    if name in ("cross_entropy", "nll_loss", "multi_margin_loss"):
        return (x, classes)
    if name == "multilabel_margin_loss":
        return (x, cr.tensor(np.array([[0, -1, 0], [1, 2, -1]])))
    if name == "gaussian_nll_loss":
        return (x, labels, cr.tensor(np.ones((2, 3), dtype=np.float32)))
    if name in ("margin_ranking_loss", "cosine_embedding_loss"):
        return (x, x, cr.tensor(np.ones(2 if name == "cosine_embedding_loss" else (2, 3))))
    if name.startswith("triplet"):
        return (x, x, x)
    return (x, labels)


@pytest.mark.parametrize("name", LOSSES)
def test_an_unknown_reduction_is_one_line(name):
    fn = getattr(F, name)
    assert fn(*_arguments(name), reduction="sum").ndim == 0  # the arguments are valid
    with pytest.raises(ValueError, match=r"^'avg' is not a valid value for reduction") as info:
        fn(*_arguments(name), reduction="avg")
    assert "\n" not in str(info.value)


def test_batchmean_only_for_kl_divergence():
    x = cr.tensor(np.log(np.full((2, 3), 1 / 3, dtype=np.float32)))
    y = cr.tensor(np.full((2, 3), 1 / 3, dtype=np.float32))
    assert F.kl_div(x, y, reduction="batchmean").item() == pytest.approx(0.0, abs=1e-6)
    assert nn.KLDivLoss(reduction="batchmean")(x, y).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.mse_loss(x, y, reduction="batchmean")
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.L1Loss(reduction="batchmean")
