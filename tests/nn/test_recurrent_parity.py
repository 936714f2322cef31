"""nn.RNN, nn.LSTM, nn.GRU and their cells against torch 2.13: outputs, final states,
gradients of the input and every parameter, state_dict names and order, seeded default
initialisation (chainrule's streams are torch's), reprs, unbatched inputs, errors."""

import numpy as np
import pytest
import torch

import chainrule
from chainrule.gradcheck import gradcheck

CONFIGS = [
    ("RNN", {}),
    ("RNN", {"nonlinearity": "relu", "num_layers": 2, "bidirectional": True}),
    ("RNN", {"batch_first": True, "bias": False}),
    ("LSTM", {}),
    ("LSTM", {"num_layers": 2, "bidirectional": True}),
    ("LSTM", {"proj_size": 2, "batch_first": True}),
    ("LSTM", {"num_layers": 2, "proj_size": 3, "bidirectional": True}),
    ("GRU", {}),
    ("GRU", {"num_layers": 3, "bias": False}),
    ("GRU", {"bidirectional": True, "batch_first": True}),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}" for name, kw in CONFIGS]


def _run(lib, name, kw, dtype, with_state, unbatched=False):
    lib.manual_seed(0)
    module = getattr(lib.nn, name)(3, 4, dtype=getattr(lib, dtype), **kw)
    shape = (5, 3) if unbatched else ((2, 5, 3) if kw.get("batch_first") else (5, 2, 3))
    x = lib.tensor(np.linspace(-1.5, 1, np.prod(shape)).reshape(shape).astype(dtype))
    x.requires_grad_(True)
    state = None
    if with_state:
        layers = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
        out_size = kw.get("proj_size") or 4
        batch = () if unbatched else (2,)
        h0 = lib.tensor(
            np.linspace(-0.5, 0.5, layers * 2 * out_size)[
                : layers * np.prod(batch or (1,)) * out_size
            ]
            .reshape(layers, *batch, out_size)
            .astype(dtype)
        )
        c0 = lib.tensor(
            np.linspace(0.3, -0.2, layers * np.prod(batch or (1,)) * 4)
            .reshape(layers, *batch, 4)
            .astype(dtype)
        )
        state = (h0, c0) if name == "LSTM" else h0
    out, final = module(x, state)
    finals = final if isinstance(final, tuple) else (final,)
    loss = out.pow(2).sum() + sum((f**3).sum() for f in finals)
    loss.backward()
    return {
        "out": out.detach().numpy(),
        "finals": [f.detach().numpy() for f in finals],
        "dx": x.grad.detach().numpy(),
        "dparams": [p.grad.detach().numpy() for p in module.parameters()],
        "params": [p.detach().numpy() for p in module.parameters()],
        "keys": list(module.state_dict()),
        "repr": repr(module),
    }


def _same(ours, theirs, rtol, atol):
    assert ours["keys"] == theirs["keys"]
    assert ours["repr"] == theirs["repr"]
    for p, q in zip(ours["params"], theirs["params"], strict=True):
        np.testing.assert_array_equal(p, q)  # torch's default init, drawn from torch's stream
    np.testing.assert_allclose(ours["out"], theirs["out"], rtol=rtol, atol=atol)
    for p, q in zip(ours["finals"], theirs["finals"], strict=True):
        np.testing.assert_allclose(p, q, rtol=rtol, atol=atol)
    np.testing.assert_allclose(ours["dx"], theirs["dx"], rtol=rtol, atol=atol)
    for p, q in zip(ours["dparams"], theirs["dparams"], strict=True):
        np.testing.assert_allclose(p, q, rtol=rtol, atol=atol)


@pytest.mark.parametrize(("name", "kw"), CONFIGS, ids=IDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "given-state"])
def test_recurrent_layers_as_torch(name, kw, dtype, with_state):
    tol = (1e-10, 1e-12) if dtype == "float64" else (1e-4, 1e-5)
    _same(
        _run(chainrule, name, kw, dtype, with_state), _run(torch, name, kw, dtype, with_state), *tol
    )


@pytest.mark.parametrize(
    ("name", "kw"), CONFIGS[:1] + CONFIGS[3:4] + CONFIGS[7:8], ids=["RNN", "LSTM", "GRU"]
)
@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "given-state"])
def test_unbatched_sequences_as_torch(name, kw, with_state):
    ours = _run(chainrule, name, kw, "float64", with_state, unbatched=True)
    _same(ours, _run(torch, name, kw, "float64", with_state, unbatched=True), 1e-10, 1e-12)


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("kw", [{}, {"bias": False}], ids=["bias", "no-bias"])
def test_cells_as_torch(name, batched, kw):
    results = {}
    for lib in (torch, chainrule):
        lib.manual_seed(1)
        cell = getattr(lib.nn, name)(3, 4, dtype=lib.float64, **kw)
        xs = np.linspace(-1, 1, 4 * 2 * 3).reshape(4, 2, 3)
        state = None
        for t in range(4):  # a hand-written loop over time, as users write with cells
            x = lib.tensor(xs[t] if batched else xs[t, 0])
            state = cell(x, state)
        finals = state if isinstance(state, tuple) else (state,)
        sum((f.tanh() * f).sum() for f in finals).backward()
        results[lib.__name__] = (
            [f.detach().numpy() for f in finals],
            [p.grad.numpy() for p in cell.parameters()],
            list(cell.state_dict()),
            repr(cell),
        )
    ours, theirs = results["chainrule"], results["torch"]
    assert ours[2:] == theirs[2:]
    for p, q in zip(ours[0] + ours[1], theirs[0] + theirs[1], strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-10, atol=1e-12)


def test_a_torch_state_dict_loads_and_gives_torch_outputs():
    torch.manual_seed(5)
    theirs = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    ours = chainrule.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    ours.load_state_dict({k: chainrule.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((6, 2, 3)).astype(np.float32)
    np.testing.assert_allclose(
        ours(chainrule.tensor(x))[0].detach().numpy(),
        theirs(torch.tensor(x))[0].detach().numpy(),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_gradients_match_central_differences(name):
    chainrule.manual_seed(2)
    module = getattr(chainrule.nn, name)(
        2, 3, num_layers=2, bidirectional=True, dtype=chainrule.float64
    )
    x = chainrule.tensor(np.random.default_rng(1).standard_normal((4, 1, 2)), requires_grad=True)
    weight = module.weight_hh_l1_reverse
    assert gradcheck(lambda inp, w: module(inp)[0].sum() + (w * 0).sum(), [x, weight])


def test_dropout_between_layers_only_in_training():
    chainrule.manual_seed(0)
    module = chainrule.nn.GRU(3, 4, num_layers=2, dropout=0.5, dtype=chainrule.float64)
    x = chainrule.tensor(np.ones((3, 2, 3)))
    module.eval()
    evaluated = module(x)[0].detach().numpy()
    chainrule.manual_seed(0)
    plain = chainrule.nn.GRU(3, 4, num_layers=2, dtype=chainrule.float64)
    np.testing.assert_array_equal(evaluated, plain(x)[0].detach().numpy())
    module.train()
    assert not np.allclose(module(x)[0].detach().numpy(), evaluated)


@pytest.mark.parametrize("lib", [torch, chainrule], ids=["torch", "chainrule"])
def test_errors(lib):
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        lib.nn.LSTM(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        lib.nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="Unknown nonlinearity"):
        lib.nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(
        (ValueError, RuntimeError), match="input.size\\(-1\\) must be equal to input_size"
    ):
        lib.nn.GRU(3, 4)(lib.ones(5, 2, 7))
