"""torch.nn.utils (clip_grad_norm_, clip_grad_value_, get_total_norm, clip_grads_with_norm_,
parameters_to_vector, vector_to_parameters) against torch 2.13."""

import numpy as np
import pytest
import torch

import chainrule


def _model_with_grads(lib, scale):
    lib.manual_seed(3)  # chainrule's streams are torch's: the same weights on both sides
    model = lib.nn.Sequential(lib.nn.Linear(4, 5), lib.nn.Tanh(), lib.nn.Linear(5, 2))
    x = lib.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4))
    (model(x) * scale).pow(2).sum().backward()
    model[2].bias.grad = None  # a parameter without a gradient is skipped
    return model


def _grads(model):
    return [None if p.grad is None else p.grad.detach().numpy() for p in model.parameters()]


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf"), 0.0])
@pytest.mark.parametrize("max_norm", [0.1, 1e6])
def test_clip_grad_norm_as_torch(norm_type, max_norm):
    out = {}
    for lib in (torch, chainrule):
        model = _model_with_grads(lib, 10.0)
        total = lib.nn.utils.clip_grad_norm_(model.parameters(), max_norm, norm_type)
        out[lib.__name__] = (total.item(), _grads(model))
    np.testing.assert_allclose(out["chainrule"][0], out["torch"][0], rtol=1e-5)
    for ours, theirs in zip(out["chainrule"][1], out["torch"][1], strict=True):
        if theirs is None:
            assert ours is None
        else:
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)


def test_total_norm_and_scaling_in_two_steps_as_torch():
    out = {}
    for lib in (torch, chainrule):
        model = _model_with_grads(lib, 5.0)
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        total = lib.nn.utils.get_total_norm(grads, 2.0)
        lib.nn.utils.clip_grads_with_norm_(model.parameters(), 0.5, total)
        out[lib.__name__] = (total.item(), _grads(model))
    np.testing.assert_allclose(out["chainrule"][0], out["torch"][0], rtol=1e-5)
    np.testing.assert_allclose(out["chainrule"][1][0], out["torch"][1][0], rtol=1e-5)


@pytest.mark.parametrize("lib", [torch, chainrule], ids=["torch", "chainrule"])
def test_clip_grad_norm_edges(lib):
    w = lib.ones(3, requires_grad=True)
    assert lib.nn.utils.clip_grad_norm_([], 1.0).item() == 0.0
    assert lib.nn.utils.clip_grad_norm_(w, 1.0).item() == 0.0  # no gradient yet
    w.grad = lib.tensor([3.0, 4.0, 0.0])
    assert lib.nn.utils.clip_grad_norm_(w, 1.0).item() == pytest.approx(5.0)  # one tensor
    assert w.grad.tolist() == pytest.approx([0.6, 0.8, 0.0], rel=1e-5)
    w.grad = lib.tensor([float("inf"), 1.0, 0.0])
    with pytest.raises(RuntimeError, match="is non-finite, so it cannot be clipped"):
        lib.nn.utils.clip_grad_norm_(w, 1.0, error_if_nonfinite=True)


def test_clip_grad_value_as_torch():
    out = {}
    for lib in (torch, chainrule):
        model = _model_with_grads(lib, 10.0)
        assert lib.nn.utils.clip_grad_value_(model.parameters(), 0.5) is None
        out[lib.__name__] = _grads(model)
    for ours, theirs in zip(out["chainrule"], out["torch"], strict=True):
        if theirs is not None:  # float32 gradients may differ by an ulp before clipping
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)
            assert np.abs(ours).max() <= 0.5


def test_parameters_to_vector_and_back_as_torch():
    out = {}
    for lib in (torch, chainrule):
        model = _model_with_grads(lib, 1.0)
        vector = lib.nn.utils.parameters_to_vector(model.parameters())
        (vector**2).sum().backward()  # in the graph: every parameter gets 2θ more
        lib.nn.utils.vector_to_parameters(vector.detach() * 2, model.parameters())
        out[lib.__name__] = (
            vector.detach().numpy(),
            [p.detach().numpy() for p in model.parameters()],
            model[2].bias.grad.detach().numpy(),
        )
    np.testing.assert_array_equal(out["chainrule"][0], out["torch"][0])
    for ours, theirs in zip(out["chainrule"][1], out["torch"][1], strict=True):
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_allclose(out["chainrule"][2], out["torch"][2], rtol=1e-6)


@pytest.mark.parametrize("lib", [torch, chainrule], ids=["torch", "chainrule"])
def test_vector_to_parameters_refuses_a_non_tensor(lib):
    with pytest.raises(TypeError, match="expected .*Tensor, but got"):
        lib.nn.utils.vector_to_parameters([1.0, 2.0], [lib.ones(2)])
