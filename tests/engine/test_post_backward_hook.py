"""autograd.register_post_backward_hook: called once per successful backward, with the
leaves that received a gradient (DistributedDataParallel averages gradients from it)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import register_post_backward_hook
from chainrule.data import DataLoader, DistributedSampler, TensorDataset


def test_hook_sees_the_leaves_after_their_gradients_are_complete() -> None:
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0], requires_grad=True)
    unused = cr.tensor([5.0], requires_grad=True)
    calls = []
    handle = register_post_backward_hook(
        lambda leaves: calls.append(([id(t) for t in leaves], a.grad.numpy().copy()))
    )
    try:
        ((a * b).sum() + (a * a).sum()).backward()  # a is used twice: its grad adds up
        assert len(calls) == 1
        ids, grad_seen = calls[0]
        assert set(ids) == {id(a), id(b)} and id(unused) not in ids
        np.testing.assert_allclose(grad_seen, [3 + 2, 3 + 4])
        b.backward(cr.tensor([1.0]))  # backward on a leaf
        assert calls[-1][0] == [id(b)]
    finally:
        handle.remove()
    (a * b).sum().backward()
    assert len(calls) == 2


def test_hook_is_not_called_when_backward_fails() -> None:
    x = cr.tensor([1.0], requires_grad=True)
    y = (x * 2).sum()
    y.backward()
    calls = []
    handle = register_post_backward_hook(calls.append)
    try:
        with pytest.raises(RuntimeError, match="second time"):
            y.backward()
    finally:
        handle.remove()
    assert calls == []


def test_dataloader_takes_a_sampler() -> None:
    dataset = TensorDataset(cr.arange(10))
    loader = DataLoader(dataset, 2, sampler=DistributedSampler(dataset, 3, 1, shuffle=False))
    assert len(loader) == 2  # ceil(4 / 2): rank 1 of 3 gets 1, 4, 7 and the padding 0
    assert [b[0].numpy().tolist() for b in loader] == [[1, 4], [7, 0]]
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(dataset, 2, shuffle=True, sampler=[0, 1])
