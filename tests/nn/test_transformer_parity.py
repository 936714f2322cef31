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


def _seq2seq(lib, kw, train):
    lib.manual_seed(0)
    model = lib.nn.Transformer(8, 2, 2, 2, 16, dropout=0.0, dtype=lib.float64, **kw)
    model.train(train)
    rng = np.random.default_rng(1)
    first = kw.get("batch_first", False)
    src = lib.tensor(rng.standard_normal((3, 5, 8) if first else (5, 3, 8)), requires_grad=True)
    tgt = lib.tensor(rng.standard_normal((3, 4, 8) if first else (4, 3, 8)), requires_grad=True)
    causal = lib.nn.Transformer.generate_square_subsequent_mask(4, dtype=lib.float64)
    pad = np.zeros((3, 5), bool)
    pad[1, 3] = True
    out = model(
        src,
        tgt,
        tgt_mask=causal,
        src_key_padding_mask=lib.tensor(pad),
        memory_key_padding_mask=lib.tensor(pad),
    )
    (out**2).sum().backward()
    return (
        [t.detach().numpy() for t in (out, src.grad, tgt.grad, causal)],
        [p.detach().numpy() for p in model.parameters()],
        [p.grad.numpy() for p in model.parameters()],
        list(model.state_dict()),
    )


@pytest.mark.filterwarnings("ignore:enable_nested_tensor")  # torch's own note on its fast path
@pytest.mark.parametrize(
    "kw", [{}, {"norm_first": True, "batch_first": True, "activation": "gelu"}], ids=["post", "pre"]
)
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_encoder_decoder_transformer_as_torch(kw, train):
    ours, theirs = _seq2seq(chainrule, kw, train), _seq2seq(torch, kw, train)
    assert ours[3] == theirs[3]
    for a, b in zip(ours[1], theirs[1], strict=True):
        np.testing.assert_array_equal(a, b)  # xavier re-draw of every matrix, in torch's order
    for a, b in zip(ours[0] + ours[2], theirs[0] + theirs[2], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("lib", [torch, chainrule], ids=["torch", "chainrule"])
def test_transformer_shape_errors(lib):
    model = lib.nn.Transformer(8, 2, 1, 1, 16)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        model(lib.ones(5, 3, 8), lib.ones(4, 2, 8))
    with pytest.raises(RuntimeError, match="the feature number of src and tgt must be equal"):
        model(lib.ones(5, 3, 8), lib.ones(4, 3, 6))
