"""Module machinery: registration, traversal, state_dict, modes, repr and containers,
compared with PyTorch wherever PyTorch defines the answer."""

from __future__ import annotations

import copy
import pickle
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn
from tests.support.modules import assert_close, copy_from_torch, rand, torch_state_as_numpy


class Net(nn.Module):
    """A parameter, a buffer, a layer and a nested Sequential, registered by assignment."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(cr.ones(3))
        self.register_buffer("offset", cr.zeros(3))
        self.hidden = nn.Linear(2, 3)
        self.block = nn.Sequential(nn.ReLU(), nn.Linear(3, 1, bias=False))
        self.note = "plain attributes are not registered"

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        return self.block(self.hidden(x) * self.scale + self.offset)


class TorchNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(3))
        self.register_buffer("offset", torch.zeros(3))
        self.hidden = torch.nn.Linear(2, 3)
        self.block = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(3, 1, bias=False))
        self.note = "plain attributes are not registered"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(self.hidden(x) * self.scale + self.offset)


def names(pairs: Any) -> list[str]:
    return [name for name, _ in pairs]


def classes(modules: Any) -> list[str]:
    return [type(m).__name__.removeprefix("Torch") for m in modules]


# ---------------------------------------------------------------- registration and traversal

# (what, function of a module that lists names or classes)
TRAVERSALS: list[tuple[str, Callable[[Any], list[str]]]] = [
    ("named_parameters", lambda m: names(m.named_parameters())),
    ("named_parameters(recurse=False)", lambda m: names(m.named_parameters(recurse=False))),
    ("named_parameters(prefix)", lambda m: names(m.named_parameters(prefix="net"))),
    ("parameter shapes", lambda m: [tuple(p.shape) for p in m.parameters()]),
    ("named_buffers", lambda m: names(m.named_buffers())),
    ("buffers", lambda m: [tuple(b.shape) for b in m.buffers()]),
    ("named_children", lambda m: names(m.named_children())),
    ("children", lambda m: classes(m.children())),
    ("named_modules", lambda m: names(m.named_modules())),
    ("modules", lambda m: classes(m.modules())),
    ("state_dict", lambda m: list(m.state_dict())),
]


@pytest.mark.parametrize(("what", "listing"), TRAVERSALS, ids=[t[0] for t in TRAVERSALS])
def test_traversal_matches_torch(what: str, listing: Callable[[Any], list[str]]) -> None:
    assert listing(Net()) == listing(TorchNet()), what


def test_registration_by_assignment() -> None:
    net = Net()
    assert set(net._parameters) == {"scale"}
    assert set(net._modules) == {"hidden", "block"}
    assert set(net._buffers) == {"offset"}
    assert net.note == "plain attributes are not registered"
    assert net.hidden.weight is dict(net.named_parameters())["hidden.weight"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())
    assert not net.offset.requires_grad


def test_reassigning_and_deleting_updates_registries() -> None:
    net = Net()
    net.hidden = nn.Linear(2, 3, bias=False)  # a new module replaces the old one, in place
    assert "hidden.bias" not in dict(net.named_parameters())
    assert names(net.named_children()) == ["hidden", "block"]
    net.scale = nn.Parameter(cr.zeros(3))
    assert names(net.named_parameters())[0] == "scale"
    net.scale = None  # a registered parameter may be set to None
    assert "scale" not in dict(net.named_parameters())
    del net.block
    assert names(net.named_children()) == ["hidden"]
    with pytest.raises(TypeError, match="scale"):
        net.scale = cr.ones(3)  # a plain tensor where a Parameter is registered
    with pytest.raises(TypeError, match="hidden"):
        net.hidden = 3


def test_shared_parameters_are_listed_once_like_torch() -> None:
    layer, torch_layer = nn.Linear(2, 2), torch.nn.Linear(2, 2)
    model, torch_model = nn.Sequential(layer, layer), torch.nn.Sequential(torch_layer, torch_layer)
    assert names(model.named_parameters()) == names(torch_model.named_parameters())
    assert list(model.state_dict()) == list(torch_model.state_dict())


def test_assigning_before_super_init_gives_clear_error() -> None:
    class Early(nn.Module):
        def __init__(self) -> None:
            self.layer = nn.Linear(2, 2)
            super().__init__()

    with pytest.raises(AttributeError, match=r"before Module.__init__\(\).*super\(\).__init__"):
        Early()


def test_plain_attribute_before_super_init_is_allowed_like_torch() -> None:
    class Sized(nn.Module):
        def __init__(self, n: int) -> None:
            self.n = n
            super().__init__()
            self.layer = nn.Linear(n, 1)

    assert Sized(3).n == 3


def test_missing_forward_and_missing_attribute() -> None:
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(cr.ones(1))
    with pytest.raises(AttributeError, match="nothing"):
        _ = Net().nothing


# ---------------------------------------------------------------- state_dict


def torch_zoo() -> torch.nn.Sequential:
    return torch.nn.Sequential(
        torch.nn.Embedding(10, 4),
        torch.nn.Linear(4, 8),
        torch.nn.ReLU(),
        torch.nn.BatchNorm1d(8),
        torch.nn.Linear(8, 3, bias=False),
        torch.nn.Sequential(torch.nn.Tanh(), torch.nn.BatchNorm1d(3, affine=False)),
    )


def chainrule_zoo() -> nn.Sequential:
    return nn.Sequential(
        nn.Embedding(10, 4),
        nn.Linear(4, 8),
        nn.ReLU(),
        nn.BatchNorm1d(8),
        nn.Linear(8, 3, bias=False),
        nn.Sequential(nn.Tanh(), nn.BatchNorm1d(3, affine=False)),
    )


def test_state_dict_keys_equal_torch() -> None:
    keys = list(chainrule_zoo().state_dict())
    assert keys == list(torch_zoo().state_dict())
    assert "3.running_mean" in keys and "3.num_batches_tracked" in keys


def test_state_dict_values_shapes_and_dtypes_equal_torch() -> None:
    ours, theirs = chainrule_zoo().state_dict(), torch_zoo().state_dict()
    for key, value in theirs.items():
        assert tuple(ours[key].shape) == tuple(value.shape), key
        assert ours[key].dtype.name == str(value.dtype).removeprefix("torch."), key
        assert not ours[key].requires_grad, key


def test_state_dict_shares_memory_and_keep_vars() -> None:
    model = nn.Linear(2, 2)
    state = model.state_dict()
    assert np.shares_memory(state["weight"].detach().numpy(), model.weight.detach().numpy())
    assert model.state_dict(keep_vars=True)["weight"] is model.weight


def _trained_torch_model() -> tuple[torch.nn.Sequential, np.ndarray]:
    """A float64 torch model whose BatchNorm running stats have moved, and an input."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 3)
    ).double()
    for step in range(3):
        model(torch.tensor(rand(16, 4, seed=step) * 2 + 1))
    return model.eval(), rand(5, 4, seed=9)


def test_load_state_dict_from_torch_gives_identical_outputs() -> None:
    torch_model, x = _trained_torch_model()
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    result = model.double().load_state_dict(torch_state_as_numpy(torch_model), strict=True)
    assert result.missing_keys == [] and result.unexpected_keys == []
    model.eval()
    assert_close(model(cr.tensor(x)), torch_model(torch.tensor(x)), "eval output")
    assert int(model[1].num_batches_tracked.item()) == 3


def test_load_state_dict_with_embedding_model() -> None:
    torch.manual_seed(1)
    torch_model = torch.nn.Sequential(
        torch.nn.Embedding(10, 4), torch.nn.Flatten(), torch.nn.Linear(12, 2)
    ).double()
    model = copy_from_torch(
        nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 2)).double(), torch_model
    )
    index = np.array([[1, 2, 3], [9, 9, 0]])
    assert_close(model(cr.tensor(index)), torch_model(torch.tensor(index)), "output")


def test_load_state_dict_between_chainrule_models_copies_values() -> None:
    source, target = Net(), Net()
    target.load_state_dict(source.state_dict())
    for (key, a), b in zip(source.state_dict().items(), target.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=key)
        assert not np.shares_memory(a.detach().numpy(), b.detach().numpy()), (
            key
        )  # copied, not aliased


def _partial_state() -> dict[str, np.ndarray]:
    state = {k: v.numpy().copy() for k, v in Net().state_dict().items()}
    del state["hidden.bias"]
    state["extra.weight"] = np.zeros(2)
    return state


def test_load_state_dict_non_strict_reports_missing_and_unexpected() -> None:
    net = Net()
    missing, unexpected = net.load_state_dict(_partial_state(), strict=False)
    assert missing == ["hidden.bias"]
    assert unexpected == ["extra.weight"]


def test_load_state_dict_strict_raises_naming_the_keys() -> None:
    with pytest.raises(RuntimeError, match="hidden.bias") as info:
        Net().load_state_dict(_partial_state(), strict=True)
    assert "extra.weight" in str(info.value)
    assert "Missing key" in str(info.value) and "Unexpected key" in str(info.value)


@pytest.mark.parametrize("strict", [True, False])
def test_load_state_dict_shape_mismatch_names_the_key(strict: bool) -> None:
    state = {k: v.numpy().copy() for k, v in Net().state_dict().items()}
    state["hidden.weight"] = np.zeros((4, 2))
    with pytest.raises(RuntimeError, match=r"hidden\.weight.*Size\(\[4, 2\]\).*Size\(\[3, 2\]\)"):
        Net().load_state_dict(state, strict=strict)


# ---------------------------------------------------------------- modes and helpers


def test_train_and_eval_reach_every_module() -> None:
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.train(False)
    assert not net.block[1].training


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none: bool) -> None:
    net = Net()
    net(cr.randn(4, 2)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=set_to_none)
    for p in net.parameters():
        if set_to_none:
            assert p.grad is None
        else:
            assert p.grad is not None and not p.grad.numpy().any()


def test_zero_grad_default_sets_to_none_like_torch() -> None:
    net = Net()
    net(cr.randn(4, 2)).sum().backward()
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_apply_visits_children_first_like_torch() -> None:
    visited: list[str] = []
    torch_visited: list[str] = []
    assert Net().apply(lambda m: visited.append(type(m).__name__)) is not None
    TorchNet().apply(lambda m: torch_visited.append(type(m).__name__))
    assert visited == [name.removeprefix("Torch") for name in torch_visited]
    assert visited[-1] == "Net"


def test_apply_initialises_weights() -> None:
    def init(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.constant_(module.weight, 0.5)

    net = Net().apply(init)
    assert (net.hidden.weight.detach().numpy() == 0.5).all() and (
        net.block[1].weight.detach().numpy() == 0.5
    ).all()


def test_requires_grad_false_freezes_parameters() -> None:
    net = Net()
    assert net.requires_grad_(False) is net
    assert not any(p.requires_grad for p in net.parameters())
    x = cr.randn(4, 2, requires_grad=True)
    net(x).sum().backward()
    assert x.grad is not None
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_()
    assert all(p.requires_grad for p in net.parameters())


def test_double_and_float_convert_parameters_and_buffers() -> None:
    net = Net().double()
    assert all(t.dtype == np.float64 for t in net.state_dict().values())
    bn = nn.BatchNorm1d(2).double()
    assert bn.num_batches_tracked.dtype == np.int64  # integers stay integers
    assert all(p.dtype == np.float32 for p in net.float().parameters())


def test_deepcopy_and_pickle_are_independent() -> None:
    net = Net()
    for clone in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert list(clone.state_dict()) == list(net.state_dict())
        assert not np.shares_memory(
            clone.hidden.weight.detach().numpy(), net.hidden.weight.detach().numpy()
        )
        x = cr.randn(3, 2)
        np.testing.assert_array_equal(clone(x).detach().numpy(), net(x).detach().numpy())


# ---------------------------------------------------------------- repr

# (chainrule module, torch module) built from the same arguments
REPR_CASES: list[tuple[str, Callable[[Any], Any]]] = [
    ("Linear", lambda n: n.Linear(3, 4)),
    ("Linear no bias", lambda n: n.Linear(3, 4, bias=False)),
    ("ReLU", lambda n: n.ReLU()),
    ("ReLU inplace", lambda n: n.ReLU(inplace=True)),
    ("Tanh", lambda n: n.Tanh()),
    ("Sigmoid", lambda n: n.Sigmoid()),
    ("LeakyReLU", lambda n: n.LeakyReLU(0.1)),
    ("LeakyReLU default", lambda n: n.LeakyReLU()),
    ("ELU", lambda n: n.ELU(0.5)),
    ("ELU default", lambda n: n.ELU()),
    ("Softmax", lambda n: n.Softmax(dim=1)),
    ("Softmax no dim", lambda n: n.Softmax()),
    ("LogSoftmax", lambda n: n.LogSoftmax(dim=-1)),
    ("Dropout", lambda n: n.Dropout()),
    ("Dropout p", lambda n: n.Dropout(0.2)),
    ("BatchNorm1d", lambda n: n.BatchNorm1d(4)),
    ("BatchNorm1d options", lambda n: n.BatchNorm1d(4, eps=1e-3, momentum=None, affine=False)),
    ("BatchNorm1d no stats", lambda n: n.BatchNorm1d(4, track_running_stats=False)),
    ("Flatten", lambda n: n.Flatten()),
    ("Flatten dims", lambda n: n.Flatten(0, 2)),
    ("Embedding", lambda n: n.Embedding(10, 3)),
    ("Embedding padding", lambda n: n.Embedding(10, 3, padding_idx=0)),
    ("Identity", lambda n: n.Identity()),
    ("GELU", lambda n: n.GELU()),
    ("GELU tanh", lambda n: n.GELU(approximate="tanh")),
    ("SiLU", lambda n: n.SiLU()),
    ("Softplus", lambda n: n.Softplus(beta=2.0, threshold=10.0)),
    ("MSELoss", lambda n: n.MSELoss()),
    ("CrossEntropyLoss sum", lambda n: n.CrossEntropyLoss(reduction="sum")),
    ("BCEWithLogitsLoss", lambda n: n.BCEWithLogitsLoss()),
    ("HuberLoss", lambda n: n.HuberLoss(delta=0.5)),
    ("empty Sequential", lambda n: n.Sequential()),
    ("empty ModuleList", lambda n: n.ModuleList()),
    (
        "Sequential of everything",
        lambda n: n.Sequential(
            n.Linear(3, 4),
            n.ReLU(),
            n.Tanh(),
            n.Sigmoid(),
            n.LeakyReLU(0.1),
            n.ELU(0.5),
            n.Softmax(dim=1),
            n.Dropout(),
            n.BatchNorm1d(4),
            n.Flatten(),
            n.Embedding(10, 3),
            n.Identity(),
        ),
    ),
    (
        "nested containers",
        lambda n: n.Sequential(
            OrderedDict(
                [
                    ("encoder", n.Sequential(n.Linear(2, 8), n.ReLU(), n.Dropout(0.1))),
                    ("heads", n.ModuleList([n.Linear(8, 1), n.Linear(8, 1), n.Tanh()])),
                    ("named", n.ModuleDict({"act": n.Sigmoid(), "out": n.Linear(1, 1)})),
                ]
            )
        ),
    ),
]


@pytest.mark.parametrize(("what", "build"), REPR_CASES, ids=[c[0] for c in REPR_CASES])
def test_repr_equals_torch(what: str, build: Callable[[Any], Any]) -> None:
    assert repr(build(nn)) == repr(build(torch.nn)), what


def test_repr_of_custom_module_equals_torch() -> None:
    assert repr(Net()) == repr(TorchNet()).replace("TorchNet", "Net")


# ---------------------------------------------------------------- containers


def test_sequential_indexing_slicing_len_iteration_append() -> None:
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    model = nn.Sequential(*layers)
    assert len(model) == 3
    assert model[0] is layers[0] and model[-1] is layers[2]
    assert list(model) == layers
    head = model[:2]
    assert isinstance(head, nn.Sequential) and list(head) == layers[:2]
    tail = model[1:]
    assert names(tail.named_children()) == ["1", "2"]  # slices keep the names, as torch
    torch_model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    assert list(tail.state_dict()) == list(torch_model[1:].state_dict())
    x = cr.randn(4, 2)
    np.testing.assert_allclose(model(x).detach().numpy(), model[2](model[:2](x)).detach().numpy())
    assert model.append(nn.Sigmoid()) is model
    assert len(model) == 4 and isinstance(model[3], nn.Sigmoid)
    assert ((model(x).detach().numpy() > 0) & (model(x).detach().numpy() < 1)).all()
    with pytest.raises(IndexError):
        model[4]
    with pytest.raises(IndexError):
        model[-5]


def test_sequential_from_ordered_dict_and_setitem() -> None:
    model = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert names(model.named_children()) == ["fc", "act"]
    assert model.fc is model[0]
    model[1] = nn.Tanh()
    assert isinstance(model.act, nn.Tanh)
    with pytest.raises(TypeError, match="argument 1"):
        nn.Sequential(nn.ReLU(), lambda x: x)


def test_sequential_registers_parameters() -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert names(model.named_parameters()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_module_list() -> None:
    heads = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    torch_heads = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)])
    assert len(heads) == 3
    assert list(heads.state_dict()) == list(torch_heads.state_dict())
    assert heads[-1] is list(heads)[2]
    heads.append(nn.ReLU())
    heads.extend([nn.Tanh(), nn.Sigmoid()])
    assert classes(heads)[3:] == ["ReLU", "Tanh", "Sigmoid"]
    part = heads[1:3]
    assert isinstance(part, nn.ModuleList) and names(part.named_children()) == ["0", "1"]
    heads[0] = nn.Identity()
    assert isinstance(heads[0], nn.Identity)

    class Owner(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])

    assert names(Owner().named_parameters()) == [
        "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"
    ]  # fmt: skip


def test_module_dict() -> None:
    layers = nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.ReLU()})
    torch_layers = torch.nn.ModuleDict({"a": torch.nn.Linear(2, 2), "b": torch.nn.ReLU()})
    assert list(layers.state_dict()) == list(torch_layers.state_dict())
    assert len(layers) == 2 and list(layers) == ["a", "b"] and list(layers.keys()) == ["a", "b"]
    assert "a" in layers and "c" not in layers
    layers["c"] = nn.Tanh()
    assert isinstance(layers["c"], nn.Tanh)
    assert [k for k, _ in layers.items()] == ["a", "b", "c"]
    assert classes(layers.values()) == ["Linear", "ReLU", "Tanh"]
    assert isinstance(layers.pop("b"), nn.ReLU) and list(layers) == ["a", "c"]


def test_load_state_dict_accepts_torch_tensors_directly() -> None:
    torch_model, x = _trained_torch_model()
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    model.double().load_state_dict(torch_model.state_dict())
    assert_close(model.eval()(cr.tensor(x)), torch_model(torch.tensor(x)), "eval output")
