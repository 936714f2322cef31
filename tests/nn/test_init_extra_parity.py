"""nn.init's trunc_normal_, orthogonal_, sparse_ and torch's deprecated un-suffixed names
against torch 2.13: the same values after the same seed, and the stream left at the same
place (a draw after the fill agrees too)."""

import warnings

import numpy as np
import pytest
import torch

import chainrule

TRUNC = [
    ((50, 40), {}),  # most mass inside: normal draws, redrawn outside
    ((7,), {"mean": 0.5, "std": 0.3, "a": 0.0, "b": 1.0}),
    ((30, 30), {"a": 2.0, "b": 3.0}),  # a thin tail: uniform candidates by rejection
    ((64, 64), {"std": 0.02, "a": -0.04, "b": 0.04}),
]


def _fill(lib, name, shape, dtype, kw, seed=3):
    lib.manual_seed(seed)
    t = lib.empty(*shape, dtype=getattr(lib, dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        getattr(lib.nn.init, name)(t, **kw)
    return t.detach().numpy(), lib.rand(4).tolist()


@pytest.mark.parametrize(("shape", "kw"), TRUNC, ids=["normal-path", "unit", "tail", "narrow"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_trunc_normal_as_torch(shape, kw, dtype):
    ours, theirs = (_fill(lib, "trunc_normal_", shape, dtype, kw) for lib in (chainrule, torch))
    np.testing.assert_array_equal(ours[0], theirs[0])
    assert ours[1] == theirs[1]
    low, high = kw.get("a", -2.0), kw.get("b", 2.0)
    assert ours[0].min() >= low and ours[0].max() <= high


@pytest.mark.parametrize("shape", [(6, 4), (4, 9), (3, 2, 4), (5, 5)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_orthogonal_as_torch(shape, dtype):
    ours, theirs = (
        _fill(lib, "orthogonal_", shape, dtype, {"gain": 1.5}) for lib in (chainrule, torch)
    )
    tol = 1e-5 if dtype == "float32" else 1e-12  # both factor the same draws with LAPACK's QR
    np.testing.assert_allclose(ours[0], theirs[0], rtol=tol, atol=tol)
    assert ours[1] == theirs[1]
    flat = ours[0].reshape(shape[0], -1) / 1.5
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(gram, np.eye(len(gram)), atol=tol * 10)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sparse_as_torch(dtype):
    ours, theirs = (
        _fill(lib, "sparse_", (10, 6), dtype, {"sparsity": 0.3}) for lib in (chainrule, torch)
    )
    np.testing.assert_array_equal(ours[0], theirs[0])
    assert ours[1] == theirs[1]
    assert ((ours[0] == 0).sum(axis=0) == 3).all()


@pytest.mark.parametrize(
    ("old", "kw"),
    [("uniform", {}), ("normal", {}), ("constant", {"val": 0.5}), ("eye", {}),
     ("xavier_uniform", {}), ("xavier_normal", {}), ("kaiming_uniform", {}),
     ("kaiming_normal", {}), ("orthogonal", {}), ("sparse", {"sparsity": 0.5})],
)  # fmt: skip
def test_deprecated_names_warn_and_fill_as_torch(old, kw):
    for lib in (torch, chainrule):
        with pytest.warns(FutureWarning, match=f"nn.init.{old}` is now deprecated in favor of"):
            getattr(lib.nn.init, old)(lib.empty(3, 4), **kw)
    ours, theirs = (_fill(lib, old, (3, 4), "float32", kw) for lib in (chainrule, torch))
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6, atol=1e-7)
    assert ours[1] == theirs[1]


@pytest.mark.parametrize("lib", [torch, chainrule], ids=["torch", "chainrule"])
def test_shape_errors(lib):
    with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions are supported"):
        lib.nn.init.orthogonal_(lib.empty(3))
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        lib.nn.init.sparse_(lib.empty(2, 3, 4), 0.5)
