"""PyTorch weights both ways: a torch ``nn.Sequential``'s state_dict, saved with
``safetensors.torch.save_file``, loads into the same chainrule model under the same keys,
and a chainrule checkpoint loads into the torch model with ``load_state_dict``; outputs
agree to 1e-6, BatchNorm running statistics and Embedding tables included.

(tests/checkpoint/test_checkpoint.py covers the basic MLP + BatchNorm case; this file covers every
layer with state, nesting, round trips and training-mode statistics; docs/interop.md
documents the mapping.)
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.checkpoint import load, save

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")

TOL = 1e-6

# A model spec: a list of layers, each (class name, args, kwargs) or a nested spec (a list,
# or a dict name -> layer for named children); the same names exist in torch.nn and
# chainrule.nn with the same constructor signatures.
Spec = Any

MLP: Spec = [
    ("Linear", (6, 16), {}),
    ("BatchNorm1d", (16,), {}),
    ("ReLU", (), {}),
    ("Dropout", (0.3,), {}),
    ("Linear", (16, 12), {}),
    ("LeakyReLU", (0.1,), {}),
    ("Linear", (12, 12), {"bias": False}),
    ("ELU", (0.7,), {}),
    ("Linear", (12, 10), {}),
    ("GELU", (), {"approximate": "tanh"}),
    ("Linear", (10, 10), {}),
    ("GELU", (), {}),
    ("Linear", (10, 8), {}),
    ("SiLU", (), {}),
    ("Linear", (8, 8), {}),
    ("Softplus", (), {"beta": 2.0, "threshold": 5.0}),
    ("Linear", (8, 8), {}),
    ("Sigmoid", (), {}),
    ("Linear", (8, 8), {}),
    ("Tanh", (), {}),
    ("Identity", (), {}),
    ("Linear", (8, 4), {}),
    ("LogSoftmax", (), {"dim": 1}),
]

NESTED: Spec = {
    "encoder": [
        ("Linear", (6, 8), {}),
        ("BatchNorm1d", (8,), {"affine": False}),
        ("Tanh", (), {}),
    ],
    "middle": {
        "block": [("Linear", (8, 8), {}), ("BatchNorm1d", (8,), {"momentum": None})],
        "act": ("SiLU", (), {}),
    },
    "head": ("Linear", (8, 3), {}),
}

EMBEDDING: Spec = [
    ("Embedding", (20, 5), {"padding_idx": 0}),
    ("Flatten", (), {}),
    ("Linear", (15, 8), {}),
    ("BatchNorm1d", (8,), {"bias": False}),  # a scale but no shift (PyTorch >= 2.6)
    ("ReLU", (), {}),
    ("Linear", (8, 4), {}),
    ("Softmax", (), {"dim": -1}),
]

SEQUENCE_BN: Spec = [  # BatchNorm1d over (N, C, L)
    ("BatchNorm1d", (3,), {}),
    ("Flatten", (), {}),
    ("Linear", (12, 4), {}),
]


def build(spec: Spec, library: Any, dtype: Any) -> Any:
    """The model `spec` describes, from torch.nn or chainrule.nn."""
    if isinstance(spec, dict):
        children = OrderedDict((k, build(v, library, dtype)) for k, v in spec.items())
        return library.Sequential(children)
    if isinstance(spec, list):
        return library.Sequential(*(build(layer, library, dtype) for layer in spec))
    name, args, kwargs = spec
    layer_kwargs = dict(kwargs)
    if name in ("Linear", "BatchNorm1d", "Embedding"):
        layer_kwargs["dtype"] = dtype
    return getattr(library, name)(*args, **layer_kwargs)


def twins(spec: Spec, double: bool = False) -> tuple[Any, nn.Module]:
    torch.manual_seed(0)
    cr.manual_seed(1)  # different initial weights: loading must overwrite every one
    torch_model = build(spec, torch.nn, torch.float64 if double else torch.float32)
    return torch_model, build(spec, nn, cr.float64 if double else cr.float32)


def inputs(spec: Spec, n: int, seed: int, double: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if spec is EMBEDDING:
        return rng.integers(0, 20, (n, 3)).astype(np.int64)
    shape = (n, 3, 4) if spec is SEQUENCE_BN else (n, 6)
    return (rng.standard_normal(shape) * 2 + 0.3).astype(np.float64 if double else np.float32)


def torch_forward(model: Any, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def warm_up_torch(model: Any, spec: Spec, double: bool = False) -> Any:
    """A few train-mode forwards so BatchNorm running statistics are not (0, 1)."""
    model.train()
    for step in range(3):
        torch_forward(model, inputs(spec, 16, 100 + step, double))
    return model.eval()


def assert_same_state(torch_state: dict[str, Any], chainrule_state: dict[str, Any]) -> None:
    assert list(torch_state) == list(chainrule_state)  # same keys, same order
    for key, value in torch_state.items():
        ours = np.asarray(chainrule_state[key].detach().numpy())
        theirs = value.detach().numpy()
        assert ours.shape == theirs.shape, key
        assert ours.dtype == theirs.dtype, key
        np.testing.assert_array_equal(ours, theirs, err_msg=key)


SPECS = {"mlp": MLP, "nested": NESTED, "embedding": EMBEDDING, "sequence-bn": SEQUENCE_BN}


@pytest.mark.parametrize("double", [False, True], ids=["float32", "float64"])
@pytest.mark.parametrize("name", list(SPECS))
def test_torch_state_dict_loads_into_chainrule(tmp_path: Path, name: str, double: bool) -> None:
    spec = SPECS[name]
    torch_model, model = twins(spec, double)
    warm_up_torch(torch_model, spec, double)
    path = tmp_path / "torch.safetensors"
    safetensors_torch.save_file(torch_model.state_dict(), str(path))

    ckpt = load(path, model=model)
    assert ckpt.kind == "safetensors" and ckpt.model is model
    assert_same_state(torch_model.state_dict(), model.state_dict())
    model.eval()
    for n in (1, 5, 32):
        x = inputs(spec, n, seed=n, double=double)
        np.testing.assert_allclose(
            model(cr.tensor(x)).detach().numpy(), torch_forward(torch_model, x), rtol=TOL, atol=TOL
        )


@pytest.mark.parametrize("name", list(SPECS))
def test_chainrule_weights_load_into_torch(tmp_path: Path, name: str) -> None:
    spec = SPECS[name]
    torch_model, model = twins(spec)
    # train the chainrule model a little: weights and BatchNorm statistics all move
    optimizer = optim.Adam(model.parameters(), lr=0.05)
    model.train()
    for step in range(4):
        x = cr.tensor(inputs(spec, 16, 200 + step))
        optimizer.zero_grad()
        (model(x) ** 2).mean().backward()
        optimizer.step()
    model.eval()
    path = tmp_path / "chainrule.safetensors"
    save(model, path)

    state = safetensors_torch.load_file(str(path))
    result = torch_model.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    torch_model.eval()
    assert_same_state(torch_model.state_dict(), model.state_dict())
    for n in (1, 7, 32):
        x = inputs(spec, n, seed=n)
        np.testing.assert_allclose(
            model(cr.tensor(x)).detach().numpy(), torch_forward(torch_model, x), rtol=TOL, atol=TOL
        )


def test_counters_and_buffers_cross_over(tmp_path: Path) -> None:
    """num_batches_tracked is a 0-d int64 in both; running_var/mean keep their dtype."""
    torch_model, model = twins(NESTED)
    warm_up_torch(torch_model, NESTED)
    path = tmp_path / "torch.safetensors"
    safetensors_torch.save_file(torch_model.state_dict(), str(path))
    load(path, model=model)
    counter = model.state_dict()["middle.block.1.num_batches_tracked"]
    assert (
        counter.detach().numpy().dtype == np.int64
        and counter.detach().numpy().shape == ()
        and counter.item() == 3
    )
    assert model.state_dict()["encoder.1.running_var"].detach().numpy().dtype == np.float32
    # affine=False: no weight or bias in either
    assert "encoder.1.weight" not in model.state_dict()
    assert "encoder.1.weight" not in torch_model.state_dict()


def test_round_trip_torch_chainrule_torch_is_bitwise(tmp_path: Path) -> None:
    torch_model, model = twins(MLP)
    warm_up_torch(torch_model, MLP)
    first = tmp_path / "torch.safetensors"
    safetensors_torch.save_file(torch_model.state_dict(), str(first))
    load(first, model=model)
    second = tmp_path / "chainrule.safetensors"
    save(model, second)
    back = safetensors_torch.load_file(str(second))
    original = torch_model.state_dict()
    assert set(back) == set(original)  # safetensors files list tensors sorted by key
    for key, value in original.items():
        assert back[key].dtype == value.dtype, key
        assert torch.equal(back[key], value), key
    # and the chainrule file rebuilds the model on its own, same outputs
    rebuilt = load(second).model
    assert rebuilt is not None
    rebuilt.eval()
    x = inputs(MLP, 9, seed=3)
    np.testing.assert_allclose(
        rebuilt(cr.tensor(x)).detach().numpy(), torch_forward(torch_model, x), TOL, TOL
    )


def test_training_mode_batchnorm_updates_the_same_statistics(tmp_path: Path) -> None:
    """After loading, train-mode forwards move the running statistics identically."""
    spec: Spec = [
        ("Linear", (6, 5), {}),
        ("BatchNorm1d", (5,), {}),
        ("Tanh", (), {}),
        ("BatchNorm1d", (5,), {"momentum": None}),
    ]
    torch_model, model = twins(spec)
    path = tmp_path / "torch.safetensors"
    safetensors_torch.save_file(torch_model.state_dict(), str(path))
    load(path, model=model)
    torch_model.train()
    model.train()
    for step in range(3):
        x = inputs(spec, 12, seed=300 + step)
        np.testing.assert_allclose(
            model(cr.tensor(x)).detach().numpy(),
            torch_forward(torch_model, x),
            rtol=1e-5,
            atol=1e-5,
        )
    for key, value in torch_model.state_dict().items():
        np.testing.assert_allclose(
            np.asarray(model.state_dict()[key].detach().numpy()),
            value.numpy(),
            rtol=1e-5,
            atol=1e-6,
        )


def test_batchnorm_without_running_stats(tmp_path: Path) -> None:
    spec: Spec = [
        ("Linear", (6, 5), {}),
        ("BatchNorm1d", (5,), {"track_running_stats": False}),
        ("ReLU", (), {}),
    ]
    torch_model, model = twins(spec)
    path = tmp_path / "torch.safetensors"
    safetensors_torch.save_file(torch_model.state_dict(), str(path))
    load(path, model=model)
    assert set(model.state_dict()) == {"0.weight", "0.bias", "1.weight", "1.bias"}
    torch_model.eval()
    model.eval()
    x = inputs(spec, 8, seed=4)  # batch statistics in eval mode too, in both
    np.testing.assert_allclose(
        model(cr.tensor(x)).detach().numpy(), torch_forward(torch_model, x), 1e-5, 1e-5
    )


def test_embedding_table_and_padding_row(tmp_path: Path) -> None:
    torch_model, model = twins(EMBEDDING)
    path = tmp_path / "torch.safetensors"
    safetensors_torch.save_file(torch_model.state_dict(), str(path))
    load(path, model=model)
    table = model.state_dict()["0.weight"].detach().numpy()
    assert table.shape == (20, 5)
    np.testing.assert_array_equal(table, torch_model[0].weight.detach().numpy())
    np.testing.assert_array_equal(table[0], 0)  # the padding row, zero in both
    rows = cr.tensor(np.array([[0, 19, 7]]))
    np.testing.assert_array_equal(model[0](rows).detach().numpy()[0], table[[0, 19, 7]])


def test_wrong_architecture_is_refused(tmp_path: Path) -> None:
    torch_model, _ = twins(MLP)
    path = tmp_path / "torch.safetensors"
    safetensors_torch.save_file(torch_model.state_dict(), str(path))
    other = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 4))
    with pytest.raises(RuntimeError, match="torch.safetensors"):
        load(path, model=other)
    # strict=False loads what matches and leaves the rest
    partial = nn.Sequential(nn.Linear(6, 16))
    load(path, model=partial, strict=False)
    np.testing.assert_array_equal(
        partial[0].weight.detach().numpy(), torch_model[0].weight.detach().numpy()
    )
