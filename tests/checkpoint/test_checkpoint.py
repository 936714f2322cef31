"""Checkpoints: safetensors round trips, model configs, resuming training, atomic saves,
clear errors for damaged or foreign files, and PyTorch interchange."""

from __future__ import annotations

import json
import math
import os
import pickle
import stat
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch

import chainrule as cr
from chainrule import nn, optim
from chainrule.checkpoint import Checkpoint, CheckpointError, load, restore_optimizer, save
from chainrule.files import atomic_write_bytes, atomic_write_json, atomic_write_text
from chainrule.nn.config import model_from_config, model_to_config

# ---------------------------------------------------------------- helpers


def make_model(dtype: Any = cr.float32, seed: int = 0) -> nn.Sequential:
    """A small MLP with every kind of state (weights, BatchNorm buffers, an int counter)."""
    cr.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(4, 8, dtype=dtype),
        nn.ReLU(),
        nn.BatchNorm1d(8, dtype=dtype),
        nn.Dropout(0.25),
        nn.Linear(8, 3, dtype=dtype),
        nn.Tanh(),
    )


def batch(dtype: Any = np.float32, n: int = 6, seed: int = 1) -> cr.Tensor:
    return cr.tensor(np.random.default_rng(seed).standard_normal((n, 4)).astype(dtype))


def train_steps(model: nn.Module, optimizer: Any, steps: int, dtype: Any = np.float32) -> None:
    model.train()
    for t in range(steps):
        x = batch(dtype, seed=100 + t)
        optimizer.zero_grad()
        ((model(x) - 0.5) ** 2).mean().backward()
        optimizer.step()


def assert_same_state(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert list(a) == list(b)
    for key in a:
        x, y = np.asarray(a[key].detach().numpy()), np.asarray(b[key].detach().numpy())
        assert x.dtype == y.dtype, key
        assert x.shape == y.shape, key
        assert np.array_equal(x, y), key


def header_of(path: Path) -> dict[str, Any]:
    raw = path.read_bytes()
    length = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8 : 8 + length])


def raw_file(header: dict[str, Any] | bytes, data: bytes = b"", length: int | None = None) -> bytes:
    """Safetensors bytes from a header (dict, or raw bytes) and a data section."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    size = len(text) if length is None else length
    return size.to_bytes(8, "little") + text + data


def one_line_error_naming(path: Path, excinfo: pytest.ExceptionInfo[CheckpointError]) -> str:
    message = str(excinfo.value)
    assert path.name in message
    assert "\n" not in message
    assert excinfo.value.path == str(path)
    return message


# ---------------------------------------------------------------- model round trips


@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
def test_module_round_trip_is_bitwise(tmp_path: Path, dtype: Any) -> None:
    model = make_model(dtype)
    train_steps(model, optim.SGD(model.parameters(), lr=0.1), 2, np.dtype(dtype))
    path = tmp_path / "model.safetensors"
    save(model, path)

    fresh = make_model(dtype, seed=1)
    ckpt = load(path, model=fresh)
    assert ckpt.model is fresh
    assert ckpt.kind == "module"
    assert_same_state(fresh.state_dict(), model.state_dict())
    assert_same_state(ckpt.state_dict, model.state_dict())
    assert ckpt.state_dict["2.num_batches_tracked"].dtype == np.int64
    assert ckpt.state_dict["2.num_batches_tracked"].shape == ()
    # the file itself: the state_dict names, nothing else, as PyTorch would write them
    assert set(safetensors.numpy.load_file(str(path))) == set(model.state_dict())


@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
def test_model_rebuilt_from_config_gives_identical_outputs(tmp_path: Path, dtype: Any) -> None:
    model = make_model(dtype)
    train_steps(model, optim.SGD(model.parameters(), lr=0.1), 2, np.dtype(dtype))
    path = tmp_path / "model.safetensors"
    save(model, path)

    cr.manual_seed(123)
    before = cr.get_rng_state()
    ckpt = load(path)
    assert cr.equal(cr.get_rng_state(), before)  # rebuilding drew weights, the RNG stays
    assert ckpt.config == model_to_config(model)
    assert json.loads(header_of(path)["__metadata__"]["chainrule.config"]) == ckpt.config
    rebuilt = ckpt.model
    assert isinstance(rebuilt, nn.Sequential) and rebuilt is not model
    assert_same_state(rebuilt.state_dict(), model.state_dict())
    x = batch(np.dtype(dtype))
    model.eval()
    rebuilt.eval()
    assert np.array_equal(rebuilt(x).detach().numpy(), model(x).detach().numpy())


def test_embedding_model_round_trip(tmp_path: Path) -> None:
    cr.manual_seed(0)
    model = nn.Sequential(
        OrderedDict(
            embed=nn.Embedding(10, 3, padding_idx=0),
            flat=nn.Flatten(),
            head=nn.Sequential(nn.Linear(6, 5), nn.GELU("tanh"), nn.Identity()),
            out=nn.LogSoftmax(dim=-1),
        )
    )
    save(model, tmp_path / "m.safetensors")
    rebuilt = load(tmp_path / "m.safetensors").model
    assert rebuilt is not None
    assert list(rebuilt.state_dict()) == ["embed.weight", "head.0.weight", "head.0.bias"]
    tokens = cr.tensor([[1, 2], [0, 9]])
    assert np.array_equal(rebuilt(tokens).detach().numpy(), model(tokens).detach().numpy())


def test_custom_model_saves_weights_only(tmp_path: Path) -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x: cr.Tensor) -> cr.Tensor:
            return self.fc(x)

    model = Net()
    save(model, tmp_path / "net.safetensors")
    assert "chainrule.config" not in header_of(tmp_path / "net.safetensors")["__metadata__"]
    ckpt = load(tmp_path / "net.safetensors")
    assert ckpt.config is None and ckpt.model is None
    assert list(ckpt.state_dict) == ["fc.weight", "fc.bias"]
    other = Net()
    load(tmp_path / "net.safetensors", model=other)
    assert_same_state(other.state_dict(), model.state_dict())


def test_loading_into_the_wrong_model_names_the_file(tmp_path: Path) -> None:
    save(make_model(), tmp_path / "model.safetensors")
    with pytest.raises(RuntimeError, match=r"model\.safetensors.*size mismatch for 0\.weight"):
        load(tmp_path / "model.safetensors", model=nn.Sequential(nn.Linear(5, 8)))
    with pytest.raises(RuntimeError, match="Unexpected key"):
        load(tmp_path / "model.safetensors", model=nn.Sequential(nn.Linear(4, 8)))
    partial = nn.Sequential(nn.Linear(4, 8))
    load(tmp_path / "model.safetensors", model=partial, strict=False)


def test_state_dict_saves_under_its_own_keys(tmp_path: Path) -> None:
    weights = np.arange(6, dtype=np.float64).reshape(2, 3)
    state = {
        "w": cr.tensor(weights),
        "transposed": weights.T,  # not C-contiguous
        "big_endian": weights.astype(">f4"),
        "mask": np.array([True, False]),
        "count": np.array(7, dtype=np.int64),
    }
    path = tmp_path / "state.safetensors"
    save(state, path)
    assert set(safetensors.numpy.load_file(str(path))) == set(state)
    ckpt = load(path)
    assert ckpt.kind == "state_dict" and ckpt.model is None and list(ckpt) == list(state)
    assert list(ckpt.state_dict) == list(state)
    assert np.array_equal(ckpt.state_dict["transposed"].detach().numpy(), weights.T)
    assert ckpt.state_dict["big_endian"].dtype == np.float32
    assert np.array_equal(ckpt.state_dict["big_endian"].detach().numpy(), weights)
    assert ckpt.state_dict["mask"].dtype == np.bool_
    assert ckpt.state_dict["count"].shape == ()


def test_unsupported_dtype_and_object_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"'w'.*uint16"):
        save({"w": np.zeros(2, dtype=np.uint16)}, tmp_path / "a.safetensors")
    with pytest.raises(TypeError, match=r"'extra\.fn'.*function"):
        save({"epoch": 1, "extra": {"fn": lambda: 0}}, tmp_path / "b.safetensors")
    with pytest.raises(TypeError, match="a object is not a Module"):
        save(object(), tmp_path / "c.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_torch_style_save_load_returns_what_was_saved(tmp_path: Path) -> None:
    """torch.save(x) / torch.load(path): a state_dict, a dict with an optimizer state and
    an epoch, a tensor, a list of numbers come back as they were (still safetensors)."""
    import chainrule as torch_like

    model = make_model()
    optimizer = torch_like.optim.Adam(model.parameters(), lr=0.01)
    model(torch_like.randn(5, 4)).sum().backward()
    optimizer.step()
    torch_like.save(model.state_dict(), tmp_path / "m.pth")
    state = torch_like.load(tmp_path / "m.pth", weights_only=True, map_location="cpu")
    assert isinstance(state, dict) and list(state) == list(model.state_dict())
    fresh = make_model()
    fresh.load_state_dict(state)
    for a, b in zip(fresh.parameters(), model.parameters(), strict=True):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    torch_like.save(
        {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3},
        tmp_path / "c.pth",
    )
    loaded = torch_like.load(tmp_path / "c.pth", map_location=lambda storage, loc: storage)
    assert loaded["epoch"] == 3 and set(loaded) == {"model", "optimizer", "epoch"}
    other = torch_like.optim.Adam(fresh.parameters(), lr=0.5)
    other.load_state_dict(loaded["optimizer"])
    assert other.param_groups[0]["lr"] == 0.01
    torch_like.save(torch_like.tensor([1.5, 2.5]), tmp_path / "t.pt")
    assert torch_like.load(tmp_path / "t.pt").tolist() == [1.5, 2.5]
    torch_like.save([0.5, "x", (1, 2)], tmp_path / "l.pt")
    assert torch_like.load(tmp_path / "l.pt") == [0.5, "x", (1, 2)]
    with pytest.raises(ValueError, match="CPU only"):
        torch_like.load(tmp_path / "t.pt", map_location="cuda")
    assert (tmp_path / "m.pth").read_bytes()[8:9] == b"{"  # a safetensors header, no pickle


def test_metadata_round_trip_and_checks(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    save(make_model(), path, metadata={"author": "me", "dataset": "moons"})
    ckpt = load(path)
    assert ckpt.metadata == {"author": "me", "dataset": "moons"}
    assert ckpt.raw_metadata["chainrule.kind"] == "module"
    with pytest.raises(TypeError, match="strings"):
        save(make_model(), path, metadata={"epoch": 3})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="reserved"):
        save(make_model(), path, metadata={"chainrule.config": "{}"})


# ---------------------------------------------------------------- configs


def test_config_covers_every_builtin_layer_and_is_json() -> None:
    model = nn.Sequential(
        nn.Linear(3, 4, bias=False),
        nn.ReLU(),
        nn.LeakyReLU(0.2),
        nn.ELU(alpha=0.5),
        nn.GELU(approximate="tanh"),
        nn.SiLU(),
        nn.Sigmoid(),
        nn.Tanh(),
        nn.Softplus(beta=2.0, threshold=10.0),
        nn.Dropout(p=0.3),
        nn.BatchNorm1d(4, eps=1e-3, momentum=None, affine=False),
        nn.Sequential(OrderedDict(inner=nn.Identity(), soft=nn.Softmax(dim=1))),
        nn.Flatten(0, -1),
        nn.LogSoftmax(dim=0),
    )
    config = model_to_config(model)
    assert json.loads(json.dumps(config)) == config
    layers = config["layers"]
    assert layers[0] == {
        "name": "0",
        "class": "Linear",
        "args": {"in_features": 3, "out_features": 4, "bias": False, "dtype": "float32"},
    }
    assert layers[2]["args"]["negative_slope"] == 0.2
    assert layers[10]["args"]["momentum"] is None
    assert layers[11]["layers"][1] == {"name": "soft", "class": "Softmax", "args": {"dim": 1}}
    rebuilt = model_from_config(json.loads(json.dumps(config)))
    assert model_to_config(rebuilt) == config
    assert repr(rebuilt) == repr(model)


class Custom(nn.Module):
    def forward(self, x: cr.Tensor) -> cr.Tensor:
        return x


class MyLinear(nn.Linear):
    pass


@pytest.mark.parametrize(
    ("layer", "name"),
    [
        (Custom(), "Custom"),
        (MyLinear(2, 2), "MyLinear"),
        (nn.ModuleList([nn.ReLU()]), "ModuleList"),
        (nn.MSELoss(), "MSELoss"),
    ],
)
def test_unknown_layer_in_config_is_a_value_error_naming_it(layer: nn.Module, name: str) -> None:
    message = (
        f"cannot describe {name} as a config: only built-in layers inside Sequential are supported"
    )
    with pytest.raises(ValueError, match=message):
        model_to_config(nn.Sequential(nn.Linear(2, 2), nn.Sequential(layer)))


def test_layer_with_extra_state_is_not_describable() -> None:
    layer = nn.Linear(2, 2)
    layer.register_buffer("mask", cr.ones(2))
    with pytest.raises(ValueError, match=r"cannot describe Linear.*'mask'"):
        model_to_config(nn.Sequential(layer))


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"class": "Sequential", "layers": [{"class": "os.system"}]}, "'os.system'"),
        ({"class": "Conv2d", "args": {}}, "'Conv2d'"),
        ({"class": "Linear", "args": {"in_features": "2", "out_features": 3}}, "in_features"),
        ({"class": "Linear", "args": {"in_features": 2, "out_features": 3, "x": 1}}, "'x'"),
        ({"class": "Linear", "args": {"in_features": 2, "out_features": 3, "dtype": "O"}}, "dtype"),
        ({"class": "Linear", "args": {"in_features": 2}}, "Linear"),
        ({"class": "Dropout", "args": {"p": 2.0}}, "probability"),
        ({"class": "Sequential", "layers": {}}, "layers"),
        ({"class": "Linear", "config_version": 99}, "version 99"),
    ],
)
def test_model_from_config_rejects_bad_configs(config: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        model_from_config(config)


# ---------------------------------------------------------------- training checkpoints


def _make_optimizer(name: str, params: Any) -> Any:
    return {
        "Adam": lambda: optim.Adam(params, lr=0.01, amsgrad=True),
        "AdamW": lambda: optim.AdamW(params, lr=0.01),
        "SGD": lambda: optim.SGD(params, lr=0.05, momentum=0.9, nesterov=True),
        "RMSprop": lambda: optim.RMSprop(params, lr=0.01, momentum=0.5, centered=True),
        "Adagrad": lambda: optim.Adagrad(params, lr=0.05),
    }[name]()


@pytest.mark.parametrize("name", ["Adam", "AdamW", "SGD", "RMSprop", "Adagrad"])
def test_resumed_training_matches_uninterrupted_training(tmp_path: Path, name: str) -> None:
    model = make_model()
    optimizer = _make_optimizer(name, model.parameters())
    train_steps(model, optimizer, 3)  # Dropout draws from the default generator too
    path = tmp_path / "last.safetensors"
    history = {"loss": [0.9, 0.5, 0.4], "lr": [0.01] * 3}
    save(
        {
            "model": model,
            "optimizer": optimizer,
            "epoch": 3,
            "rng": cr.get_rng_state(),
            "history": history,
        },
        path,
    )
    train_steps(model, optimizer, 4)  # the uninterrupted run

    cr.manual_seed(999)  # a different process state: another init, another RNG position
    resumed = make_model(seed=7)
    resumed_optimizer = _make_optimizer(name, resumed.parameters())
    ckpt = load(path, model=resumed)
    restore_optimizer(ckpt, resumed_optimizer)
    cr.set_rng_state(ckpt.rng_state)
    assert ckpt.epoch == 3 and ckpt["history"] == history
    train_steps(resumed, resumed_optimizer, 4)

    assert_same_state(resumed.state_dict(), model.state_dict())
    assert resumed_optimizer.param_groups[0].keys() == optimizer.param_groups[0].keys()
    saved, now = resumed_optimizer.state_dict(), optimizer.state_dict()
    assert saved["param_groups"] == now["param_groups"]
    for index, values in now["state"].items():
        for key, value in values.items():
            if isinstance(value, np.ndarray):
                assert np.array_equal(saved["state"][index][key], value), (index, key)
            else:
                assert saved["state"][index][key] == value


def test_training_checkpoint_layout(tmp_path: Path) -> None:
    model = make_model()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    train_steps(model, optimizer, 2)
    path = tmp_path / "ckpt.safetensors"
    save({"model": model, "optimizer": optimizer, "epoch": 2}, path)
    header = header_of(path)
    metadata = header.pop("__metadata__")
    assert set(header) == {f"model.{k}" for k in model.state_dict()} | {
        f"optimizer.state.{i}.{name}" for i in range(6) for name in ("exp_avg", "exp_avg_sq")
    }
    assert metadata["chainrule.kind"] == "checkpoint"
    assert json.loads(metadata["chainrule.config"]) == model_to_config(model)
    contents = json.loads(metadata["chainrule.contents"])
    assert contents["epoch"] == 2
    assert contents["optimizer"]["__state_dict__"]["class"] == "Adam"

    ckpt = load(path)
    assert isinstance(ckpt, Checkpoint)
    assert list(ckpt) == ["model", "optimizer", "epoch"]
    state = ckpt.optimizer_state
    assert state is not None
    assert list(state["state"]) == list(range(6))  # int keys come back as ints
    assert state["state"][0]["step"] == 2 and isinstance(state["state"][0]["step"], int)
    assert state["param_groups"][0]["betas"] == (0.9, 0.999)  # tuples stay tuples
    assert ckpt.model is not None and ckpt.config == model_to_config(model)
    assert_same_state(ckpt.state_dict, model.state_dict())
    assert_same_state(ckpt["model"], model.state_dict())


def test_pytorch_style_dict_of_state_dicts(tmp_path: Path) -> None:
    """{'model': model.state_dict(), 'optimizer': optimizer.state_dict()} works as well."""
    model = make_model()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    train_steps(model, optimizer, 2)
    path = tmp_path / "ckpt.safetensors"
    save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 5}, path)
    ckpt = load(path)
    assert ckpt.config is None and ckpt.epoch == 5
    assert_same_state(ckpt.state_dict, model.state_dict())
    other = optim.Adam(make_model(seed=3).parameters())
    restore_optimizer(path, other)
    assert other.state_dict()["param_groups"] == optimizer.state_dict()["param_groups"]


def test_other_entries_round_trip(tmp_path: Path) -> None:
    scheduler_optimizer = optim.SGD(make_model().parameters(), lr=0.1)
    scheduler = optim.lr_scheduler.StepLR(scheduler_optimizer, step_size=2, gamma=0.5)
    for _ in range(3):
        scheduler_optimizer.step()
        scheduler.step()
    extra = {
        "name": "run-1",
        "none": None,
        "flags": [True, False],
        "floats": [math.inf, -math.inf, 1e-300, 0.1],
        "by_epoch": {1: 0.5, 2: 0.25},
        "pair": (1, "two", (3.0,)),
        "weird_keys": {"__tensor__": 1, "__items__": [2]},
        "big": 2**100,
        "np_scalar": np.float32(0.5),
        "curve": np.linspace(0, 1, 5),
        "tensor": cr.arange(3),
        "nested": {"deep": [{"a": np.eye(2)}]},
    }
    path = tmp_path / "ckpt.safetensors"
    save({"epoch": 0, "scheduler": scheduler, "extra": extra, "nan": math.nan}, path)
    metadata = header_of(path)["__metadata__"]
    json.loads(metadata["chainrule.contents"], parse_constant=pytest.fail)  # strict JSON

    ckpt = load(path)
    assert ckpt.model is None and ckpt.optimizer_state is None and len(ckpt.state_dict) == 0
    assert math.isnan(ckpt["nan"])
    got = ckpt["extra"]
    for key in ("name", "none", "flags", "floats", "by_epoch", "pair", "weird_keys", "big"):
        assert got[key] == extra[key], key
    assert got["np_scalar"] == 0.5
    assert isinstance(got["curve"], np.ndarray) and np.array_equal(got["curve"], extra["curve"])
    assert isinstance(got["tensor"], cr.Tensor) and got["tensor"].tolist() == [0, 1, 2]
    assert np.array_equal(got["nested"]["deep"][0]["a"], np.eye(2))
    assert "extra.nested.deep.0.a" in ckpt.tensors

    restored = optim.lr_scheduler.StepLR(
        optim.SGD(make_model().parameters(), lr=0.1), step_size=2, gamma=0.5
    )
    restored.load_state_dict(ckpt["scheduler"])
    assert restored.state_dict() == scheduler.state_dict()


def test_rng_state_round_trip(tmp_path: Path) -> None:
    cr.manual_seed(42)
    cr.randn(3)
    generator = cr.Generator().manual_seed(5)
    cr.rand(4, generator=generator)
    cr.randn(3, dtype=cr.float64, generator=generator)  # leaves a cached normal in the state
    save({"rng": cr.get_rng_state(), "gen": generator}, tmp_path / "rng.safetensors")
    expected = cr.randn(5).detach().numpy().copy()
    expected_gen = cr.randn(3, dtype=cr.float64, generator=generator).numpy()

    cr.manual_seed(0)
    ckpt = load(tmp_path / "rng.safetensors")
    cr.set_rng_state(ckpt.rng_state)
    assert np.array_equal(cr.randn(5).detach().numpy(), expected)
    other = cr.Generator()
    other.set_state(ckpt["gen"])
    assert np.array_equal(cr.randn(3, dtype=cr.float64, generator=other).numpy(), expected_gen)


def test_restore_optimizer_without_optimizer_state(tmp_path: Path) -> None:
    model = make_model()
    save(model, tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match="no optimizer state"):
        restore_optimizer(load(tmp_path / "model.safetensors"), optim.SGD(model.parameters()))


# ---------------------------------------------------------------- atomic saves


def test_crash_during_replace_keeps_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.safetensors"
    save(make_model(seed=0), path)
    before = path.read_bytes()

    def crash(*args: Any) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk on fire"):
        save(make_model(seed=1), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]
    load(path)


@pytest.mark.parametrize("error", [OSError("no space left"), KeyboardInterrupt()])
def test_crash_while_writing_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    path = tmp_path / "history.json"
    atomic_write_text(path, "old")

    def crash(fd: int) -> None:
        raise error

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(type(error)):
        atomic_write_bytes(path, b"new" * 1000)
    monkeypatch.undo()
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["history.json"]


def test_atomic_writes_replace_and_keep_permissions(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    atomic_write_json(path, {"acc": 0.5})
    assert json.loads(path.read_text()) == {"acc": 0.5}
    if sys.platform != "win32":
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~_umask()
        path.chmod(0o600)
        atomic_write_text(path, "x")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "x"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic_write_bytes(tmp_path / "missing" / "a.bin", b"")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---------------------------------------------------------------- damaged and foreign files


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.safetensors"
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        load(path)


@pytest.fixture
def valid_bytes(tmp_path: Path) -> bytes:
    save(make_model(), tmp_path / "good.safetensors")
    return (tmp_path / "good.safetensors").read_bytes()


def test_truncated_files(tmp_path: Path, valid_bytes: bytes) -> None:
    header_end = 8 + int.from_bytes(valid_bytes[:8], "little")
    cuts = [0, 3, 8, 9, 20, header_end - 1, header_end, header_end + 5, len(valid_bytes) - 1]
    for cut in cuts:
        path = tmp_path / f"cut{cut}.safetensors"
        path.write_bytes(valid_bytes[:cut])
        with pytest.raises(CheckpointError) as excinfo:
            load(path)
        message = one_line_error_naming(path, excinfo)
        assert "is not a chainrule checkpoint" in message
    path = tmp_path / "padded.safetensors"
    path.write_bytes(valid_bytes + b"\0" * 4)
    with pytest.raises(CheckpointError, match="4 unexpected bytes"):
        load(path)


def test_huge_header_length_message(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes((9999999).to_bytes(8, "little") + b"{" + b" " * 111)
    with pytest.raises(CheckpointError) as excinfo:
        load(path)
    assert str(excinfo.value) == (
        f"{path} is not a chainrule checkpoint: header length 9999999 exceeds file size 120"
    )
    path.write_bytes((2**64 - 1).to_bytes(8, "little"))
    with pytest.raises(CheckpointError, match="exceeds file size 8"):
        load(path)


def test_wrong_header_length(tmp_path: Path, valid_bytes: bytes) -> None:
    length = int.from_bytes(valid_bytes[:8], "little")
    for wrong in (length - 3, length + 3, 1):
        path = tmp_path / f"len{wrong}.safetensors"
        path.write_bytes(wrong.to_bytes(8, "little") + valid_bytes[8:])
        with pytest.raises(CheckpointError) as excinfo:
            load(path)
        one_line_error_naming(path, excinfo)


def _f32(n: int = 2) -> bytes:
    return np.arange(n, dtype=np.float32).tobytes()


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "empty"),
        (b"\x01\x00", "too short"),
        (raw_file(b""), "header length is 0"),
        (raw_file(b"{not json}"), "not a JSON object"),
        (raw_file(b"[1, 2]"), "not a JSON object"),
        (raw_file(b"\xff\xfe{}"), "not a JSON object"),
        (raw_file(b'{"a": NaN}'), "not a JSON object"),
        (raw_file(b'{"a": 1, "a": 2}'), "duplicate key"),
        (raw_file({"w": {"dtype": "F99", "shape": [2], "data_offsets": [0, 8]}}, _f32()), "F99"),
        (raw_file({"w": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}, _f32(1)), "BF16"),
        (raw_file({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, _f32()), "12"),
        (raw_file({"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, _f32()), "shape"),
        (raw_file({"w": {"dtype": "F32", "shape": [2], "data_offsets": [4, 0]}}, _f32()), "offs"),
        (raw_file({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, _f32()), "gap"),
        (raw_file({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, _f32()), "trunc"),
        (raw_file({"w": {"dtype": "F32", "shape": [2]}}, _f32()), "data_offsets"),
        (
            raw_file(
                {
                    "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                    "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]},
                },
                _f32(),
            ),
            "overlap",
        ),
        (raw_file({"__metadata__": {"k": 1}}), "__metadata__"),
        (raw_file({"__metadata__": {"chainrule.contents": "{oops"}}), "chainrule.contents"),
        (raw_file({"__metadata__": {"chainrule.config": "[1"}}), "chainrule.config"),
        (raw_file({"__metadata__": {"chainrule.format": "7"}}), "newer"),
        (raw_file({"__metadata__": {"chainrule.contents": '{"__tensor__": "w"}'}}), "'w'"),
        (raw_file({"__metadata__": {"chainrule.config": '{"class": "Evil"}'}}), "'Evil'"),
        (b"this is just some text, not a checkpoint", "exceeds file size 40"),
        (b"\x93NUMPY\x01\x00" + b" " * 40, ".npy"),
        (b"PK\x03\x04" + b"\0" * 60, "zip"),
    ],
)
def test_corrupt_files_raise_checkpoint_error(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "broken.safetensors"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=match) as excinfo:
        load(path)
    one_line_error_naming(path, excinfo)


class Exploit:
    """Unpickling this runs a shell command that creates a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_pickle_payload_is_never_unpickled(tmp_path: Path, protocol: int) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps({"weights": Exploit(marker)}, protocol=protocol))
    with pytest.raises(CheckpointError, match="pickle") as excinfo:
        load(path)
    one_line_error_naming(path, excinfo)
    assert not marker.exists()
    with pytest.raises(CheckpointError):
        load(path, model=make_model())
    assert not marker.exists()


def test_torch_save_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    torch.save({"w": torch.zeros(2)}, path)
    with pytest.raises(CheckpointError, match="zip"):
        load(path)


def test_missing_safetensors_gives_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "safetensors", None)
    with pytest.raises(ImportError, match=r'pip install "chainrule\[checkpoints\]"'):
        save(make_model(), tmp_path / "model.safetensors")


# ---------------------------------------------------------------- PyTorch interchange


def _torch_model(dtype: torch.dtype) -> torch.nn.Sequential:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 8),
        torch.nn.ReLU(),
        torch.nn.BatchNorm1d(8),
        torch.nn.Dropout(0.25),
        torch.nn.Linear(8, 3),
        torch.nn.Tanh(),
    ).to(dtype)
    model.train()
    with torch.no_grad():
        model(torch.randn(16, 4, dtype=dtype))  # move the BatchNorm running statistics
    return model.eval()


@pytest.mark.parametrize(
    ("dtype", "torch_dtype"), [(cr.float32, torch.float32), (cr.float64, torch.float64)]
)
def test_pytorch_state_dict_loads_into_chainrule(
    tmp_path: Path, dtype: Any, torch_dtype: torch.dtype
) -> None:
    torch_model = _torch_model(torch_dtype)
    path = tmp_path / "torch.safetensors"
    safetensors.torch.save_file(torch_model.state_dict(), str(path))

    ckpt = load(path)
    assert ckpt.kind == "safetensors" and ckpt.model is None
    assert set(ckpt.state_dict) == set(torch_model.state_dict())
    model = make_model(dtype, seed=5)
    load(path, model=model)
    model.eval()
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.dtype(dtype))
    expected = torch_model(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(model(cr.tensor(x)).detach().numpy(), expected, rtol=1e-6, atol=1e-6)


def test_chainrule_checkpoint_loads_into_pytorch(tmp_path: Path) -> None:
    model = make_model()
    train_steps(model, optim.SGD(model.parameters(), lr=0.1), 2)
    model.eval()
    path = tmp_path / "model.safetensors"
    save(model, path)

    torch_model = _torch_model(torch.float32)
    torch_model.load_state_dict(safetensors.torch.load_file(str(path)), strict=True)
    assert int(torch_model[2].num_batches_tracked) == 2
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    expected = torch_model(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(model(cr.tensor(x)).detach().numpy(), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("key", "text", "problem"),
    [
        ("chainrule.contents", '{"epoch": NaN}', "NaN is not valid JSON"),
        ("chainrule.contents", '{"epoch": 1, "epoch": 2}', "duplicate key 'epoch'"),
        ("chainrule.contents", '{"lr": -Infinity}', "-Infinity is not valid JSON"),
        ("chainrule.config", '{"class": "Sequential", "class": "Linear"}', "duplicate key"),
    ],
)
def test_metadata_entries_are_parsed_strictly(
    tmp_path: Path, key: str, text: str, problem: str
) -> None:
    """Python's json.loads accepts NaN and keeps the last of two equal keys; a checkpoint's
    metadata is read like every other JSON chainrule reads (files.loads_strict): refused, in
    one line naming the file and the entry."""
    path = tmp_path / "bad.safetensors"
    metadata = {"chainrule.format": "1", "chainrule.kind": "checkpoint", key: text}
    if key == "chainrule.config":
        metadata["chainrule.contents"] = "{}"
    weights = {"w": np.zeros(2, dtype=np.float32)}
    path.write_bytes(safetensors.numpy.save(weights, metadata=metadata))
    with pytest.raises(CheckpointError) as caught:
        load(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path} is not a chainrule checkpoint: metadata {key!r}")
    assert problem in message
