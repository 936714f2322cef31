"""nn.TransformerEncoderLayer and nn.TransformerEncoder against torch 2.13: outputs and
gradients (input and every parameter), post-norm and norm_first, relu and gelu, masks,
batch_first, a final norm, seeded initialisation, state_dict names, train and eval."""

import numpy as np
import pytest
import torch

import chainrule

CASES = {
    "layer": ({}, False, False, False),
    "layer-norm-first-gelu-padding": (
        {"norm_first": True, "activation": "gelu"},
        False,
        True,
        False,
    ),
    "encoder-batch-first-masks": ({"batch_first": True}, True, True, True),
    "encoder-causal-mask": ({}, True, False, True),
    "layer-no-bias": ({"bias": False}, False, False, True),
}


def _run(lib, kw, stacked, padding, causal, train):
    lib.manual_seed(0)
    layer = lib.nn.TransformerEncoderLayer(8, 2, 16, dtype=lib.float64, **kw)
    model = layer
    if stacked:
        norm = lib.nn.LayerNorm(8, dtype=lib.float64)
        model = lib.nn.TransformerEncoder(layer, 2, norm=norm, enable_nested_tensor=False)
    model.train(train)
    if train:  # dropout's masks are drawn from the stream: compare without them
        for module in model.modules():
            if isinstance(module, lib.nn.Dropout):
                module.p = 0.0
        for module in model.modules():
            if isinstance(module, lib.nn.MultiheadAttention):
                module.dropout = 0.0
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((3, 5, 8) if kw.get("batch_first") else (5, 3, 8)))
    x.requires_grad_(True)
    options = {}
    if padding:
        pad = np.zeros((3, 5), bool)
        pad[0, 4] = pad[2, 1] = True
        options["src_key_padding_mask"] = lib.tensor(pad)
    if causal:
        options["mask" if stacked else "src_mask"] = lib.tensor(np.triu(np.ones((5, 5), bool), 1))
    y = model(x, **options)
    (y**2).sum().backward()
    return (
        y.detach().numpy(),
        x.grad.numpy(),
        [p.detach().numpy() for p in model.parameters()],
        [p.grad.numpy() for p in model.parameters()],
        list(model.state_dict()),
    )


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_encoder_as_torch(case, train):
    ours, theirs = (_run(lib, *CASES[case], train) for lib in (chainrule, torch))
    assert ours[4] == theirs[4]
    for a, b in zip(ours[2], theirs[2], strict=True):
        np.testing.assert_array_equal(a, b)  # torch's initialisation from torch's stream
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-9, atol=1e-10)
    for a, b in zip(ours[3], theirs[3], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)


def test_encoder_copies_are_independent():
    layer = chainrule.nn.TransformerEncoderLayer(8, 2, 16)
    encoder = chainrule.nn.TransformerEncoder(layer, 3)
    first, second = encoder.layers[0].linear1.weight, encoder.layers[1].linear1.weight
    assert first is not second and np.array_equal(first.detach().numpy(), second.detach().numpy())
    with chainrule.no_grad():
        first.add_(1.0)
    assert not np.array_equal(first.detach().numpy(), second.detach().numpy())


@pytest.mark.parametrize("lib", [torch, chainrule], ids=["torch", "chainrule"])
def test_unknown_activation(lib):
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not swish"):
        lib.nn.TransformerEncoderLayer(8, 2, activation="swish")
