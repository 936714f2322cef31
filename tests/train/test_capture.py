"""The captured training step gives exactly the eager step's results."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule
import chainrule.nn.functional as F
from chainrule import nn, optim


def _model(activation: type[nn.Module]) -> nn.Sequential:
    chainrule.manual_seed(0)
    return nn.Sequential(
        nn.Linear(3, 16), activation(), nn.Sequential(nn.Linear(16, 16), activation()),
        nn.Linear(16, 4),
    )  # fmt: skip


def _batches(classification: bool) -> list[tuple[chainrule.Tensor, chainrule.Tensor]]:
    rng = np.random.default_rng(1)
    X = rng.standard_normal((100, 3)).astype(np.float32)
    y = rng.integers(0, 4, 100) if classification else rng.standard_normal((100, 4))
    y = y.astype(np.int64 if classification else np.float32)
    return [(chainrule.tensor(X[i : i + 32]), chainrule.tensor(y[i : i + 32]))
            for i in range(0, 100, 32)]  # fmt: skip  # the last batch is smaller: re-recorded


@pytest.mark.parametrize(
    ("activation", "loss_fn", "classification", "optimizer"),
    [
        (nn.ReLU, nn.CrossEntropyLoss(), True, "sgd"),
        (nn.Tanh, nn.CrossEntropyLoss(label_smoothing=0.1), True, "adam"),
        (nn.GELU, nn.MSELoss(), False, "sgd"),
        (nn.LeakyReLU, nn.CrossEntropyLoss(reduction="sum"), True, "momentum"),
        # written out: tanh, sigmoid and the mean squared error
        (nn.Tanh, nn.CrossEntropyLoss(), True, "sgd"),
        (nn.Tanh, nn.MSELoss(), False, "adam"),
        (nn.Sigmoid, F.mse_loss, False, "sgd"),
        (nn.Sigmoid, nn.CrossEntropyLoss(), True, "momentum"),
    ],
)
def test_captured_step_equals_eager_step(
    activation: type[nn.Module], loss_fn: nn.Module, classification: bool, optimizer: str
) -> None:
    def make_optimizer(model: nn.Module) -> optim.Optimizer:
        if optimizer == "adam":
            return optim.Adam(model.parameters(), lr=0.01)
        return optim.SGD(
            model.parameters(), lr=0.05, momentum=0.9 if optimizer == "momentum" else 0
        )

    eager_model, captured_model = _model(activation), _model(activation)
    eager_opt, captured_opt = make_optimizer(eager_model), make_optimizer(captured_model)
    step = chainrule.compile_step(captured_model, loss_fn, captured_opt)
    for _ in range(3):
        for xb, yb in _batches(classification):
            eager_opt.zero_grad()
            eager_loss = loss_fn(eager_model(xb), yb)
            eager_loss.backward()
            eager_opt.step()
            assert step(xb, yb).item() == eager_loss.item()
    for a, b in zip(eager_model.parameters(), captured_model.parameters(), strict=True):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    assert len(step.programs) == 2  # batches of 32 and of 4


@settings(max_examples=300, deadline=None)
@given(
    hnp.arrays(
        st.sampled_from([np.float32, np.float64]),
        hnp.array_shapes(min_dims=1, max_dims=2, max_side=300),
        elements=st.floats(width=32, allow_nan=True, allow_infinity=True),
    )
)
def test_the_captured_mean_is_ndarray_mean_bit_for_bit(squares: np.ndarray) -> None:
    """capture/losses.py's MSE mean: the float sum divided by an intp count, cast back."""
    with np.errstate(all="ignore"):  # infinities and NaN are among the cases
        mean = squares.dtype.type(np.add.reduce(squares, None) / np.intp(squares.size))
        expected = squares.mean()
    assert np.asarray(mean).tobytes() == np.asarray(expected).tobytes()
    assert np.asarray(mean).dtype == expected.dtype


@pytest.mark.parametrize("dtype", [np.float16, np.float64])
def test_a_captured_mse_step_in_another_dtype_equals_the_eager_step(dtype: Any) -> None:
    def make() -> nn.Module:
        chainrule.manual_seed(2)
        model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))
        return model.to(getattr(chainrule, np.dtype(dtype).name))

    rng = np.random.default_rng(4)
    batches = [(chainrule.tensor(rng.standard_normal((16, 3)).astype(dtype)),
                chainrule.tensor(rng.standard_normal((16, 2)).astype(dtype)))
               for _ in range(3)]  # fmt: skip
    _run_both(make, nn.MSELoss(), _sgd, batches)


@pytest.mark.parametrize("layer", [nn.Dropout(0.5), nn.BatchNorm1d(8)])
def test_layers_that_change_each_step_are_refused(layer: nn.Module) -> None:
    model = nn.Sequential(nn.Linear(2, 8), layer, nn.Linear(8, 2))
    with pytest.raises(ValueError, match="cannot be replayed"):
        chainrule.compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()))


def test_captured_step_trains() -> None:
    model = _model(nn.ReLU)
    step = chainrule.compile_step(model, F.cross_entropy, optim.Adam(model.parameters(), 0.01))
    first = last = None
    for _ in range(30):
        for xb, yb in _batches(True):
            last = step(xb, yb).item()
            first = last if first is None else first
    assert last is not None and first is not None and last < first


def _run_both(
    make_model: Any, loss_fn: Any, make_optimizer: Any, batches: list[Any], between: Any = None
) -> tuple[nn.Module, nn.Module, chainrule.CompiledStep]:
    """Train one model eagerly and a twin through compile_step; every loss must be equal."""
    eager_model, captured_model = make_model(), make_model()
    eager_opt, captured_opt = make_optimizer(eager_model), make_optimizer(captured_model)
    step = chainrule.compile_step(captured_model, loss_fn, captured_opt)
    for number, (xb, yb) in enumerate(batches):
        if between is not None:
            between(number, eager_opt, captured_opt)
        eager_opt.zero_grad()
        eager_loss = loss_fn(eager_model(xb), yb)
        eager_loss.backward()
        eager_opt.step()
        assert step(xb, yb).item() == eager_loss.item()
    for (name, a), b in zip(
        eager_model.named_parameters(), captured_model.parameters(), strict=True
    ):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy()), name
        if a.grad is not None or b.grad is not None:
            assert a.grad is not None and b.grad is not None
            assert np.array_equal(a.grad.detach().numpy(), b.grad.detach().numpy()), name
    return eager_model, captured_model, step


def _wide_model() -> nn.Sequential:
    chainrule.manual_seed(3)
    return nn.Sequential(nn.Linear(40, 64), nn.ReLU(), nn.Linear(64, 48), nn.ReLU(),
                         nn.Linear(48, 5))  # fmt: skip


def _sgd(model: nn.Module) -> optim.Optimizer:
    return optim.SGD(model.parameters(), lr=0.1)


def _wide_batches(n: int = 8, count: int = 6, labels: Any = None) -> list[Any]:
    rng = np.random.default_rng(4)
    return [(chainrule.tensor(rng.standard_normal((n, 40)).astype(np.float32)),
             chainrule.tensor(rng.integers(0, 5, n) if labels is None else labels))
            for _ in range(count)]  # fmt: skip


def test_short_batches_take_the_transposed_product_and_match_eager() -> None:
    # 8 rows against 64 and 48 outputs: ops.linalg.linear_forward computes (W xᵀ)ᵀ
    eager, _, step = _run_both(_wide_model, nn.CrossEntropyLoss(), _sgd, _wide_batches())
    (program,) = step.programs.values()
    kept = program.write.namespace
    for name in ("out0", "out2", "dx2"):  # the program's buffers have the eager layout
        assert kept[name].flags.f_contiguous and not kept[name].flags.c_contiguous, name
    assert eager[0](_wide_batches()[0][0]).detach().numpy().flags.f_contiguous


def test_the_program_is_readable_python() -> None:
    _, _, step = _run_both(_wide_model, nn.CrossEntropyLoss(), _sgd, _wide_batches())
    assert step.code.startswith("def run(x, y, update):")
    for piece in ("tensor['0.weight']._data", "h1 = linear_relu_forward(x, p_0_weight, p_0_bias",
                  "d_4_bias", "sgd_parameter(p_0_weight, d_0_weight, lr)"):  # fmt: skip
        assert piece in step.code


def test_targets_the_written_out_loss_does_not_take_go_through_the_eager_loss() -> None:
    # ignore_index rows and int32 classes: the program hands them to the eager loss
    labels = np.array([0, -100, 4, 1, 2, -100, 3, 0])
    batches = _wide_batches(labels=labels) + _wide_batches(labels=labels.clip(0).astype(np.int32))
    _run_both(_wide_model, nn.CrossEntropyLoss(), _sgd, batches)


def test_a_class_out_of_range_is_the_eager_losss_error() -> None:
    model = _wide_model()
    step = chainrule.compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()))
    (xb, yb), *_ = _wide_batches()
    step(xb, yb)
    with pytest.raises(IndexError, match="out of bounds for 5 classes"):
        step(xb, np.full(8, 7))


def test_parameters_outside_the_optimizer_accumulate_as_in_eager_mode() -> None:
    def first_layer_only(model: nn.Module) -> optim.Optimizer:
        return optim.SGD(model[0].parameters(), lr=0.1)  # the rest never zeroed: grads add up

    _run_both(_wide_model, nn.CrossEntropyLoss(), first_layer_only, _wide_batches())


def test_changing_the_optimizer_mid_training_is_followed() -> None:
    def switch(number: int, *optimizers: optim.Optimizer) -> None:
        for optimizer in optimizers:
            optimizer.param_groups[0]["lr"] = 0.1 / (1 + number)  # as a scheduler does
            optimizer.param_groups[0]["momentum"] = 0.9 if number >= 3 else 0.0

    _run_both(_wide_model, nn.CrossEntropyLoss(), _sgd, _wide_batches(), between=switch)


def test_docs_speed_shows_what_the_example_prints(capsys: pytest.CaptureFixture[str]) -> None:
    """docs/speed.md's example runs and prints the losses and the program the page shows."""
    import re
    from pathlib import Path

    page = (Path(__file__).parents[2] / "docs" / "speed.md").read_text(encoding="utf-8")
    example, program = re.findall(r"```python\n(.*?)```", page, re.S)[:2]
    exec(compile(example, "docs/speed.md", "exec"), {})  # noqa: S102 - our own page
    printed = capsys.readouterr().out
    losses = re.search(r"prints the losses, `(.*?)`", page)
    assert losses is not None and printed.startswith(losses.group(1) + "\n")
    assert printed.rstrip("\n").endswith(program.rstrip("\n"))


def _regression_batches(count: int = 5, dtype: Any = np.float32) -> list[Any]:
    rng = np.random.default_rng(5)
    return [(chainrule.tensor(rng.standard_normal((8, 40)).astype(np.float32)),
             chainrule.tensor(rng.standard_normal((8, 5)).astype(dtype)))
            for _ in range(count)]  # fmt: skip


def _tanh_sigmoid_model() -> nn.Sequential:
    chainrule.manual_seed(6)
    return nn.Sequential(nn.Linear(40, 64), nn.Tanh(), nn.Linear(64, 48), nn.Sigmoid(),
                         nn.Linear(48, 5))  # fmt: skip


def test_tanh_sigmoid_and_mse_are_written_out_and_match_eager() -> None:
    _, _, step = _run_both(_tanh_sigmoid_model, nn.MSELoss(), _sgd, _regression_batches())
    # sigmoid's backward with the bias gradient of the Linear below it (ops.fused)
    for line in ("tanh_forward(", "sigmoid_bias_backward(", "np.multiply(diff, diff, out=squares)"):
        assert line in step.code
    assert "node" not in step.code  # no op runs through its own forward/backward


def test_sigmoid_of_large_inputs_matches_eager() -> None:
    def make() -> nn.Sequential:
        model = _tanh_sigmoid_model()
        model[2].weight.detach().numpy()[...] *= 40  # saturate: e^-|x| underflows to 0
        return model

    _run_both(make, nn.MSELoss(), _sgd, _regression_batches())


def test_mse_targets_of_another_dtype_or_shape_go_to_the_eager_loss() -> None:
    # float64 targets: the eager loss casts them to the output's dtype, so the same numbers
    _run_both(_tanh_sigmoid_model, nn.MSELoss(), _sgd, _regression_batches(dtype=np.float64))
    model = _tanh_sigmoid_model()
    step = chainrule.compile_step(model, nn.MSELoss(), _sgd(model))
    xb, yb = _regression_batches(1)[0]
    step(xb, yb)
    with pytest.raises(ValueError, match="target shape"):
        step(xb, yb[:, :2])  # the eager loss's message
