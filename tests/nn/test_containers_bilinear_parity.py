"""Bilinear (module and F.bilinear) against PyTorch 2.13, and ParameterList / ParameterDict:
what a parent module sees (parameters, state_dict keys as torch's, loading a torch
checkpoint, optimizers reaching them)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn, optim
from chainrule.nn import functional as F
from tests.support.modules import assert_close, rand


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("lead", [(4,), (2, 3)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bilinear_parity(bias: bool, lead: tuple, dtype: type) -> None:
    theirs = torch.nn.Bilinear(3, 5, 2, bias=bias).to(
        torch.float64 if dtype is np.float64 else torch.float32
    )
    ours = nn.Bilinear(3, 5, 2, bias=bias)
    ours = ours.double() if dtype is np.float64 else ours.float()
    assert repr(ours) == repr(theirs)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x1, x2 = rand(*lead, 3, seed=1).astype(dtype), rand(*lead, 5, seed=2).astype(dtype)
    c1, c2 = cr.tensor(x1, requires_grad=True), cr.tensor(x2, requires_grad=True)
    t1, t2 = torch.tensor(x1, requires_grad=True), torch.tensor(x2, requires_grad=True)
    cr_out, t_out = ours(c1, c2), theirs(t1, t2)
    assert cr_out.dtype == dtype
    tol = {"atol": 1e-10, "rtol": 1e-10} if dtype is np.float64 else {"atol": 1e-5, "rtol": 1e-5}
    assert_close(cr_out, t_out, "forward", **tol)
    (cr_out * cr_out).sum().backward()
    (t_out * t_out).sum().backward()
    assert_close(c1.grad, t1.grad, "input1 gradient", **tol)
    assert_close(c2.grad, t2.grad, "input2 gradient", **tol)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        assert_close(p.grad, q.grad, f"{name}.grad", **tol)


def test_bilinear_functional_gradcheck_and_init_bounds() -> None:
    args = [
        cr.tensor(a, requires_grad=True)
        for a in (rand(4, 3), rand(4, 2, seed=1), rand(5, 3, 2, seed=2), rand(5, seed=3))
    ]
    assert cr.gradcheck(F.bilinear, args)
    layer = nn.Bilinear(16, 3, 40)
    bound = 1 / 4
    for p in layer.parameters():
        values = p.detach().numpy()
        assert np.abs(values).max() <= bound and values.std() > 0.8 * bound / np.sqrt(3)
    with pytest.raises(ValueError, match="do not fit a weight"):
        F.bilinear(cr.randn(2, 4), cr.randn(2, 2), cr.randn(5, 3, 2))


class _Torch(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scales = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2)) for _ in range(3)])
        self.named = torch.nn.ParameterDict(
            {"a": torch.nn.Parameter(torch.zeros(3)), "b": torch.nn.Parameter(torch.zeros(1, 2))}
        )


class _Ours(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scales = nn.ParameterList([nn.Parameter(cr.ones(2)) for _ in range(3)])
        self.named = nn.ParameterDict(
            {"a": nn.Parameter(cr.zeros(3)), "b": nn.Parameter(cr.zeros(1, 2))}
        )


def test_parameter_containers_state_dict_matches_torch_and_loads_it() -> None:
    theirs, ours = _Torch(), _Ours()
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
    ]
    state = {k: v.numpy() + 1.5 for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)
    np.testing.assert_array_equal(ours.scales[-1].detach().numpy(), state["scales.2"])
    np.testing.assert_array_equal(ours.named["b"].detach().numpy(), state["named.b"])
    assert len(list(ours.parameters())) == 5


def test_parameter_containers_behave_as_lists_and_dicts() -> None:
    plist = nn.ParameterList()
    plist.append(cr.ones(2))  # a tensor becomes a Parameter
    plist.extend([cr.zeros(3)])
    plist += [nn.Parameter(cr.ones(1))]
    assert len(plist) == 3 and all(isinstance(p, nn.Parameter) for p in plist)
    assert plist[1].shape == (3,) and plist[-1].shape == (1,)
    plist[0] = cr.zeros(4)
    assert plist[0].shape == (4,)
    with pytest.raises(IndexError):
        plist[3]
    pdict = nn.ParameterDict({"w": cr.ones(2)})
    pdict["b"] = cr.zeros(2)
    pdict.update({"c": cr.ones(1)})
    assert list(pdict) == ["w", "b", "c"] and "b" in pdict and len(pdict) == 3
    assert pdict.pop("c").shape == (1,) and "c" not in pdict
    del pdict["b"]
    assert list(pdict.keys()) == ["w"]
    with pytest.raises(TypeError, match="holds tensors"):
        plist.append(3.0)


def test_an_optimizer_trains_parameters_in_containers() -> None:
    model = _Ours()
    opt = optim.SGD(model.parameters(), lr=0.5)
    loss = sum((p * p).sum() for p in model.scales) + (model.named["a"] - 1).pow(2).sum()
    loss.backward()
    opt.step()
    np.testing.assert_allclose(model.scales[0].detach().numpy(), [0.0, 0.0])
    np.testing.assert_allclose(model.named["a"].detach().numpy(), [1.0, 1.0, 1.0])
