"""F.scaled_dot_product_attention and nn.MultiheadAttention against torch 2.13: outputs,
attention weights, gradients of the query and of every parameter, masks of both kinds,
seeded initialisation, state_dict names, errors; central differences for the gradients."""

import numpy as np
import pytest
import torch

import chainrule
from chainrule.gradcheck import gradcheck

RNG = np.random.default_rng(7)
PAD = np.zeros((3, 5), bool)
PAD[0, 4] = PAD[2, 0] = True
FORBID = np.triu(np.ones((4, 5), bool), 2)  # True: leave out (this module's convention)

SDPA_CASES = {
    "plain": {},
    "scale": {"scale": 0.3},
    "causal": {"is_causal": True},
    "bool-mask": {"attn_mask": ~FORBID},  # True: take part (SDPA's convention)
    "float-mask": {"attn_mask": np.where(FORBID, -np.inf, 0.25)},
}


def _sdpa(lib, options, gqa=False):
    heads_kv = 1 if gqa else 2
    q = lib.tensor(RNG.standard_normal((3, 2, 4, 6)), requires_grad=True)
    k = lib.tensor(RNG.standard_normal((3, heads_kv, 5, 6)), requires_grad=True)
    v = lib.tensor(RNG.standard_normal((3, heads_kv, 5, 7)), requires_grad=True)
    given = {n: lib.tensor(o) if isinstance(o, np.ndarray) else o for n, o in options.items()}
    if options.get("is_causal"):  # causal needs L == S here
        k, v = k[..., :4, :].detach().requires_grad_(), v[..., :4, :].detach().requires_grad_()
    out = lib.nn.functional.scaled_dot_product_attention(q, k, v, enable_gqa=gqa, **given)
    (out * out).sum().backward()
    return [t.detach().numpy() for t in (out, q.grad, k.grad, v.grad)]


@pytest.mark.parametrize("case", list(SDPA_CASES) + ["gqa"])
def test_scaled_dot_product_attention_as_torch(case):
    options = SDPA_CASES.get(case, {})
    state = RNG.bit_generator.state
    ours = _sdpa(chainrule, options, gqa=case == "gqa")
    RNG.bit_generator.state = state  # the same inputs for torch
    theirs = _sdpa(torch, options, gqa=case == "gqa")
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


MHA_CASES = {
    "plain": ({}, {}),
    "padding": ({}, {"key_padding_mask": PAD}),
    "bool-mask": ({}, {"attn_mask": FORBID}),
    "float-mask": ({}, {"attn_mask": np.where(FORBID, -1e9, 0.0)}),
    "bias-kv-zero-attn": (
        {"add_bias_kv": True, "add_zero_attn": True},
        {"key_padding_mask": PAD, "attn_mask": FORBID},
    ),
    "kdim-vdim": ({"kdim": 6, "vdim": 7}, {"need_weights": False}),
    "no-bias-per-head": ({"bias": False}, {"average_attn_weights": False}),
    "causal-hint": ({}, {"attn_mask": FORBID, "is_causal": True}),
}


def _mha(lib, kw, options, dtype="float64", batch_first=False, unbatched=False):
    lib.manual_seed(0)
    module = lib.nn.MultiheadAttention(
        8, 2, batch_first=batch_first, dtype=getattr(lib, dtype), **kw
    )
    rng = np.random.default_rng(0)

    def shaped(length, width):
        shape = (
            (length, width)
            if unbatched
            else ((3, length, width) if batch_first else (length, 3, width))
        )
        return rng.standard_normal(shape).astype(dtype)

    q = lib.tensor(shaped(4, 8), requires_grad=True)
    k, v = lib.tensor(shaped(5, kw.get("kdim", 8))), lib.tensor(shaped(5, kw.get("vdim", 8)))
    given = {
        n: lib.tensor(o if o.dtype == bool else o.astype(dtype)) if isinstance(o, np.ndarray) else o
        for n, o in options.items()
    }
    if unbatched and "key_padding_mask" in given:
        given["key_padding_mask"] = given["key_padding_mask"][0]
    out, weights = module(q, k, v, **given)
    (out.pow(2).sum() + (0 if weights is None else (weights**2).sum())).backward()
    return {
        "out": out.detach().numpy(),
        "weights": None if weights is None else weights.detach().numpy(),
        "dq": q.grad.detach().numpy(),
        "params": [p.detach().numpy() for p in module.parameters()],
        "grads": [p.grad.detach().numpy() for p in module.parameters()],
        "keys": list(module.state_dict()),
    }


def _same(ours, theirs, rtol, atol):
    assert ours["keys"] == theirs["keys"]
    for a, b in zip(ours["params"], theirs["params"], strict=True):
        np.testing.assert_array_equal(a, b)  # torch's initialisation from torch's stream
    for name in ("out", "weights", "dq"):
        if theirs[name] is None:
            assert ours[name] is None
        else:
            np.testing.assert_allclose(ours[name], theirs[name], rtol=rtol, atol=atol)
    for a, b in zip(ours["grads"], theirs["grads"], strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


@pytest.mark.parametrize("case", MHA_CASES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_multihead_attention_as_torch(case, dtype):
    kw, options = MHA_CASES[case]
    tol = (1e-10, 1e-12) if dtype == "float64" else (1e-4, 1e-5)
    _same(_mha(chainrule, kw, options, dtype), _mha(torch, kw, options, dtype), *tol)


@pytest.mark.parametrize("layout", ["batch_first", "unbatched"])
@pytest.mark.parametrize("case", ["plain", "padding"])
def test_multihead_attention_layouts_as_torch(layout, case):
    kw, options = MHA_CASES[case]
    flags = {"batch_first": layout == "batch_first", "unbatched": layout == "unbatched"}
    _same(_mha(chainrule, kw, options, **flags), _mha(torch, kw, options, **flags), 1e-10, 1e-12)


def test_a_torch_state_dict_loads():
    torch.manual_seed(4)
    theirs = torch.nn.MultiheadAttention(8, 4, add_bias_kv=True)
    ours = chainrule.nn.MultiheadAttention(8, 4, add_bias_kv=True)
    ours.load_state_dict({k: chainrule.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((5, 2, 8)).astype(np.float32)
    a = ours(*(chainrule.tensor(x),) * 3)[0].detach().numpy()
    b = theirs(*(torch.tensor(x),) * 3)[0].detach().numpy()
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_gradients_match_central_differences():
    chainrule.manual_seed(3)
    module = chainrule.nn.MultiheadAttention(4, 2, add_bias_kv=True, dtype=chainrule.float64)
    x = chainrule.tensor(np.random.default_rng(2).standard_normal((3, 2, 4)), requires_grad=True)
    mask = chainrule.tensor(np.triu(np.ones((3, 3), bool), 1))
    weight = module.in_proj_weight
    assert gradcheck(
        lambda q, w: module(q, q, q, attn_mask=mask)[0].sum() + (w * 0).sum(), [x, weight]
    )


@pytest.mark.parametrize("lib", [torch, chainrule], ids=["torch", "chainrule"])
def test_errors(lib):
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        lib.nn.MultiheadAttention(6, 4)
    x = lib.ones(3, 2, 8)
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        lib.nn.MultiheadAttention(8, 2)(x, x, x, is_causal=True)
