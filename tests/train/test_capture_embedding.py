"""compile_step on models that look up their input: Embedding in a Sequential, and the
names model (chainrule.text.CharMLP, a module declaring `replayable = True`), whose
training step `chainrule.text.model.make_step` now captures. The replayed steps give the
eager steps' numbers bit for bit, with the compiled kernels and without."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import chainrule
import chainrule.nn.functional as F
from chainrule import kernels, nn, optim
from chainrule.text import CharMLP
from chainrule.text.model import make_step


@pytest.fixture(params=["numba", "numpy"])
def path(request: pytest.FixtureRequest) -> Iterator[str]:
    before = kernels.numba_enabled()
    kernels.set_numba_enabled(request.param == "numba")
    if request.param == "numba" and not kernels.numba_enabled():
        pytest.skip("numba (the fast extra) is not installed")
    yield request.param
    kernels.set_numba_enabled(before)


def _char_mlp(batch_norm: bool = False) -> CharMLP:
    chainrule.manual_seed(3)
    model = CharMLP(27, context=3, embedding=10, hidden=200, batch_norm=batch_norm)
    model.train()
    return model


def _batches(count: int = 6, rows: int = 64, dtype: Any = np.int64) -> list[Any]:
    rng = np.random.default_rng(4)
    out = []
    for number in range(count):
        n = rows if number != 3 else rows // 2  # a short batch: recorded once more
        out.append((rng.integers(0, 27, (n, 3)).astype(dtype), rng.integers(0, 27, n)))
    return out


def _eager_step(model: nn.Module, optimizer: optim.Optimizer) -> Any:
    def step(x: np.ndarray, y: np.ndarray, lr: float) -> float:
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return float(loss.item())

    return step


def _weights(model: nn.Module) -> dict[str, np.ndarray]:
    return {name: p.detach().numpy().copy() for name, p in model.named_parameters()}


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_make_step_captures_the_names_model_and_equals_eager(path, dtype):
    eager, captured = _char_mlp(), _char_mlp()
    eager_step = _eager_step(eager, optim.SGD(eager.parameters(), lr=0.1))
    step = make_step(captured, optim.SGD(captured.parameters(), lr=0.1))
    rates = [0.1, 0.1, 0.05, 0.1, 0.01, 0.01]  # the schedule changes lr between steps
    for _ in range(2):
        for (x, y), rate in zip(_batches(dtype=dtype), rates, strict=True):
            assert step(x, y, rate) == eager_step(x, y, rate)
    parameters = dict(captured.named_parameters())
    for name, value in _weights(eager).items():
        assert np.array_equal(_weights(captured)[name], value), name
        assert parameters[name].grad is not None
    assert not np.array_equal(
        _weights(eager)["embed.weight"], _weights(_char_mlp())["embed.weight"]
    )


def test_the_loss_sums_the_out_layers_bias_in_its_loop(path):
    model = _char_mlp()
    step = chainrule.compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()))
    x, y = _batches()[0]
    step(x, y)
    assert "d_out_bias = db4" in step.code and "(db = Σ G: above)" in step.code
    assert step.code.count("d_out_bias = column_sum(dh4, db4)") == 2  # the other branches


def test_the_program_looks_the_input_up_through_the_ops_kernels(path):
    model = _char_mlp()
    step = chainrule.compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()))
    x, y = _batches()[0]
    step(x, y)
    for kernel in ("embedding_lookup(", "embedding_backward(", "h1 = rows1"):
        assert kernel in step.code, kernel
    # with numba (tested at every step), the loops of kernels.embedding straight, the rows'
    # gradient as it is; the ops' kernels are the fallback
    loops = (
        "if numba and fast:",
        "gather_rows_loop(p_embed_weight, x, out0)",
        "scatter_rows_loop(dtable0, x, dh1)",
        "embedding_backward(dh1.reshape(",
    )
    for loop in loops:
        assert loop in step.code, loop
    assert "node" not in step.code and "np.add.at" not in step.code


def _replay_against_eager(change: Any) -> None:
    """Replayed steps against eager ones, `change(captured, eager)` applied after two."""
    eager, captured = _char_mlp(), _char_mlp()
    eager_step = _eager_step(eager, optim.SGD(eager.parameters(), lr=0.1))
    step = make_step(captured, optim.SGD(captured.parameters(), lr=0.1))
    for number, (x, y) in enumerate(_batches(8)):
        if number == 2:
            change(captured, eager)
        assert step(x, y, 0.1) == eager_step(x, y, 0.1), number
    for name, value in _weights(eager).items():
        assert np.array_equal(_weights(captured)[name], value), name


def test_a_table_replaced_after_the_recording_takes_the_ops_kernels(path):
    def replace(captured: CharMLP, eager: CharMLP) -> None:
        for model in (captured, eager):  # a new array (p.data = ...): `fast` fails
            model.embed.weight.data = chainrule.tensor(model.embed.weight.detach().numpy() * 0.5)

    _replay_against_eager(replace)


def test_numba_turned_off_after_the_recording(path):
    def off(captured: CharMLP, eager: CharMLP) -> None:
        kernels.set_numba_enabled(False)

    _replay_against_eager(off)


@pytest.mark.parametrize("bad", [27, -1, 1000])
def test_an_index_out_of_range_is_refused_as_eagerly(path, bad):
    model = _char_mlp()
    step = chainrule.compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()))
    x, y = _batches()[0]
    step(x, y)
    step(x, y)  # replayed
    wrong = x.copy()
    wrong[5, 1] = bad
    with pytest.raises(IndexError) as eager_error:
        model(wrong)
    with pytest.raises(IndexError) as captured_error:
        step(wrong, y)
    assert str(captured_error.value) == str(eager_error.value)


def test_embedding_in_a_sequential_with_padding_equals_eager(path):
    def build() -> nn.Sequential:
        chainrule.manual_seed(5)
        return nn.Sequential(nn.Embedding(12, 4, padding_idx=2), nn.Flatten(), nn.Tanh(),
                             nn.Linear(20, 3))  # fmt: skip

    eager, captured = build(), build()
    eager_opt = optim.SGD(eager.parameters(), lr=0.2, momentum=0.9)
    captured_opt = optim.SGD(captured.parameters(), lr=0.2, momentum=0.9)
    step = chainrule.compile_step(captured, nn.CrossEntropyLoss(), captured_opt)
    rng = np.random.default_rng(6)
    for _ in range(5):
        x, y = rng.integers(0, 12, (16, 5)), rng.integers(0, 3, 16)
        x[0, :] = 2  # the padding row is looked up and gets no gradient
        eager_opt.zero_grad()
        eager_loss = F.cross_entropy(eager(x), y)
        eager_loss.backward()
        eager_opt.step()
        assert np.array_equal(step(x, y).numpy(), eager_loss.detach().numpy())
    for a, b in zip(eager.parameters(), captured.parameters(), strict=True):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    assert not captured[0].weight.grad.numpy()[2].any()


def test_make_step_with_batch_norm_stays_eager():
    model = _char_mlp(batch_norm=True)
    step = make_step(model, optim.SGD(model.parameters(), lr=0.1))
    before = model.norm.running_mean.numpy().copy()
    x, y = _batches()[0]
    assert np.isfinite(step(x, y, 0.1))
    assert not np.array_equal(model.norm.running_mean.numpy(), before)  # statistics moved
    with pytest.raises(ValueError, match="cannot be replayed"):
        chainrule.compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()))


@pytest.mark.parametrize("kind", ["int32", "tensor"])
def test_classes_the_loops_do_not_take_go_to_the_eager_loss_and_still_sum_the_bias(path, kind):
    """int32 classes (or a Tensor of them) take the loss's last branch, the eager loss,
    where the out layer's bias gradient (summed by the loop otherwise) is column_sum's."""
    eager, captured = _char_mlp(), _char_mlp()
    eager_step = _eager_step(eager, optim.SGD(eager.parameters(), lr=0.1))
    step = make_step(captured, optim.SGD(captured.parameters(), lr=0.1))
    for number, (x, y) in enumerate(_batches(6)):
        classes = y.astype(np.int32) if kind == "int32" else chainrule.tensor(y)
        assert step(x, classes if number else y, 0.1) == eager_step(x, y, 0.1), number
    for name, value in _weights(eager).items():
        assert np.array_equal(_weights(captured)[name], value), name
