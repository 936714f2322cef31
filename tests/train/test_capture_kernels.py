"""The captured program and the eager ops share one source of each formula: the kernel
functions in chainrule.ops (linear_*, relu_*, tanh_*, sigmoid_*, cross_entropy_*). Patching a
kernel changes both paths alike; the program's text calls the kernels and spells out none of
their formulas; a kernel into buffers gives the numbers it gives into new arrays."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule
from chainrule import nn, optim
from chainrule.ops import elementwise, linalg
from chainrule.ops import loss as loss_ops

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def _model(activation: str) -> nn.Sequential:
    chainrule.manual_seed(7)
    layer = ACTIVATIONS[activation]
    return nn.Sequential(nn.Linear(6, 24), layer(), nn.Linear(24, 12), layer(), nn.Linear(12, 3))


def _batches() -> list[tuple[chainrule.Tensor, chainrule.Tensor]]:
    rng = np.random.default_rng(8)
    return [(chainrule.tensor(rng.standard_normal((n, 6)).astype(np.float32)),
             chainrule.tensor(rng.integers(0, 3, n)))
            for n in (4, 16, 4, 16, 4)]  # fmt: skip  # 4 rows: the transposed products


def _train(activation: str, captured: bool) -> list[np.ndarray]:
    """Losses and final weights of a few SGD steps, eager or through compile_step."""
    model = _model(activation)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    loss_fn = nn.CrossEntropyLoss()
    step = chainrule.compile_step(model, loss_fn, optimizer)
    seen = []
    for _ in range(2):  # the second pass replays both programs
        for xb, yb in _batches():
            if captured:
                loss = step(xb, yb)
            else:
                optimizer.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                optimizer.step()
            seen.append(loss.detach().numpy())
    return seen + [p.detach().numpy().copy() for p in model.parameters()]


def _equal(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def _scaled(kernel: Callable[..., Any], factor: float) -> Callable[..., Any]:
    """The kernel with every array it returns multiplied by factor (in place: into its
    buffer when it has one), and a count of its calls."""

    def patched(*args: Any) -> Any:
        patched.calls += 1  # type: ignore[attr-defined]
        result = kernel(*args)
        parts = result if isinstance(result, tuple) else (result,)
        for part in parts:
            if isinstance(part, np.ndarray) and part.dtype.kind == "f":
                part *= factor
        return result

    patched.calls = 0  # type: ignore[attr-defined]
    return patched


KERNELS = [
    (linalg, "linear_forward", "relu"),
    (linalg, "linear_backward", "relu"),
    (elementwise, "relu_backward", "relu"),
    (elementwise, "tanh_forward", "tanh"),
    (elementwise, "tanh_backward", "tanh"),
    (elementwise, "sigmoid_forward", "sigmoid"),
    (elementwise, "sigmoid_backward", "sigmoid"),
    (loss_ops, "cross_entropy_backward", "tanh"),
]


@pytest.mark.parametrize(("module", "name", "activation"), KERNELS)
def test_a_patched_kernel_changes_the_eager_and_the_captured_step_alike(
    monkeypatch: pytest.MonkeyPatch, module: Any, name: str, activation: str
) -> None:
    plain = _train(activation, captured=False)
    assert _equal(plain, _train(activation, captured=True))
    patched = _scaled(getattr(module, name), 0.5)
    monkeypatch.setattr(module, name, patched)
    eager = _train(activation, captured=False)
    eager_calls = patched.calls  # type: ignore[attr-defined]
    captured = _train(activation, captured=True)
    assert not _equal(plain, eager)  # the patch reaches the eager op ...
    assert _equal(eager, captured)  # ... and the program, which calls the same function
    # every replayed step called it as often as an eager step (not only the recorded ones)
    assert patched.calls - eager_calls == eager_calls  # type: ignore[attr-defined]


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_the_program_calls_the_kernels_and_writes_none_of_their_formulas(activation: str) -> None:
    model = _model(activation)
    step = chainrule.compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()))
    for xb, yb in _batches()[:2]:
        step(xb, yb)
    code = step.code
    # a Linear and the activation after it are one ops.fused call each way (the composition
    # of the two ops' kernels), the last Linear calls linear_forward/backward itself, where
    # the step's tests fail (capture.linear writes the calls they make otherwise)
    forward = "linear_relu_forward(" if activation == "relu" else f"{activation}_forward("
    for kernel in ("linear_forward(", "linear_backward(", forward,
                   f"{activation}_bias_backward(", "cross_entropy_forward_backward("):  # fmt: skip
        assert kernel in code, kernel
    # the formulas live in ops/ and kernels/: no max, tanh, exp, log or reduction in the
    # text; a Linear is written as the calls its kernels make for its shapes (capture.linear:
    # the product and the bias loop, the kernels themselves when a step's `fast` test fails)
    for formula in ("np.maximum", "np.tanh", "np.exp", "np.log", "np.greater",
                    "np.add.reduce", "np.subtract", "np.divide", "node"):  # fmt: skip
        assert formula not in code, formula
    products = [line.strip() for line in code.splitlines() if "dot(" in line or "matmul" in line]
    assert products and all(re.fullmatch(r"(\w+ = )?[\w.]+\.dot\([\w., ]+\)", line)
                            for line in products), products  # fmt: skip


def _close_to_new_arrays(kernel: Callable[..., Any], args: tuple[Any, ...],
                         buffers: tuple[np.ndarray, ...]) -> None:  # fmt: skip
    """kernel(*args) into new arrays and into `buffers` give the same bits; the result
    with buffers is the first buffer (nothing allocated for it)."""
    fresh = kernel(*args)
    into = kernel(*args, *buffers)
    assert np.shares_memory(into, buffers[0]) and into.shape == buffers[0].shape
    assert np.array_equal(np.asarray(fresh), into) and np.asarray(fresh).dtype == into.dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_elementwise_kernels_into_buffers_equal_new_arrays(dtype: Any) -> None:
    rng = np.random.default_rng(9)
    x = (rng.standard_normal((5, 7)) * 30).astype(dtype)  # sigmoid saturates both ways
    grad = rng.standard_normal((5, 7)).astype(dtype)
    like, mask = np.empty_like(x), np.empty(x.shape, bool)
    _close_to_new_arrays(elementwise.relu_forward, (x,), (like,))
    _close_to_new_arrays(elementwise.tanh_forward, (x,), (like,))
    sig = elementwise.sigmoid_forward(x)
    assert np.array_equal(sig, np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x))))
    _close_to_new_arrays(elementwise.sigmoid_forward, (x,), (like, x.copy(), x.copy(), mask))
    out = np.tanh(x)
    _close_to_new_arrays(elementwise.relu_backward, (grad, np.maximum(x, 0)), (like, mask))
    _close_to_new_arrays(elementwise.tanh_backward, (grad, out), (like,))
    _close_to_new_arrays(elementwise.sigmoid_backward, (grad, sig), (like, x.copy()))
    # the formulas themselves: G·[out > 0], G·(1 - tanh²), G·σ·(1 - σ)
    assert np.array_equal(elementwise.relu_backward(grad, np.maximum(x, 0)), grad * (x > 0))
    assert np.array_equal(elementwise.tanh_backward(grad, out), grad * (1 - out * out))
    assert np.array_equal(elementwise.sigmoid_backward(grad, sig), grad * sig * (1 - sig))


def test_elementwise_kernels_take_0d_arrays() -> None:
    x = np.array(-0.5)
    assert elementwise.sigmoid_forward(x).shape == () and elementwise.sigmoid_forward(x) > 0
    assert float(elementwise.tanh_backward(np.array(2.0), np.tanh(x))) == 2 * (1 - np.tanh(x) ** 2)


@pytest.mark.parametrize("rows", [3, 40])  # 3 rows: the short-batch layout (W xᵀ)ᵀ
def test_linear_kernels_into_buffers_equal_new_arrays(rows: int) -> None:
    rng = np.random.default_rng(10)
    x = rng.standard_normal((rows, 9)).astype(np.float32)
    weight = rng.standard_normal((8, 9)).astype(np.float32)
    bias = rng.standard_normal(8).astype(np.float32)
    short = linalg.few_rows_first(x, weight.T)
    assert short == (rows == 3)
    y = linalg.linear_forward(x, weight, bias)
    np.testing.assert_allclose(y, x @ weight.T + bias, rtol=1e-5)
    assert y.flags.f_contiguous == short  # the layout of the short batch's product
    out = np.empty((8, rows), np.float32).T if short else np.empty((rows, 8), np.float32)
    _close_to_new_arrays(linalg.linear_forward, (x, weight, bias), (out,))
    grad = rng.standard_normal((rows, 8)).astype(np.float32)
    needs = (True, True, True)
    fresh = linalg.linear_backward(grad, x, weight, needs)
    dx = np.empty((9, rows), np.float32).T if short else np.empty((rows, 9), np.float32)
    buffers = (dx, np.empty_like(weight), np.empty_like(bias))
    into = linalg.linear_backward(grad, x, weight, needs, *buffers)
    for a, b, buffer in zip(fresh, into, buffers, strict=True):
        assert a is not None and b is not None and np.array_equal(a, b)
        assert np.shares_memory(b, buffer) and b.flags.f_contiguous == buffer.flags.f_contiguous
    np.testing.assert_allclose(fresh[0], grad @ weight, rtol=1e-5)  # dx = G W
    np.testing.assert_allclose(fresh[1], grad.T @ x, rtol=1e-5)  # dW = Gᵀ x
    np.testing.assert_allclose(fresh[2], grad.sum(0), rtol=1e-5)  # db = Σ G
    assert linalg.linear_backward(grad, x, weight, (False, True))[0] is None


def test_cross_entropy_kernels_into_buffers_equal_new_arrays() -> None:
    rng = np.random.default_rng(11)
    logits = (rng.standard_normal((6, 4)) * 50).astype(np.float32)  # e^z would overflow
    target, rows = rng.integers(0, 4, 6), np.arange(6)
    losses, softmax = loss_ops.cross_entropy_forward(logits, target, rows)
    buffers = (np.empty((6, 1), np.float32), np.empty_like(logits), np.empty_like(logits))
    losses_into, softmax_into = loss_ops.cross_entropy_forward(logits, target, rows, *buffers)
    assert np.array_equal(losses, losses_into) and np.array_equal(softmax, softmax_into)
    assert softmax_into is buffers[2] and np.isfinite(losses).all()
    log_softmax = logits - logits.max(1, keepdims=True)
    log_softmax -= np.log(np.exp(log_softmax).sum(1, keepdims=True))
    np.testing.assert_allclose(losses, -log_softmax[rows, target], rtol=1e-5, atol=1e-5)
    scale = np.float32(1 / 6)
    onehot = np.eye(4, dtype=np.float32)[target]
    d_logits = loss_ops.cross_entropy_backward(softmax, rows, target, scale)
    np.testing.assert_allclose(d_logits, (softmax - onehot) * scale, rtol=1e-6, atol=1e-7)
    out = np.empty_like(logits)
    assert loss_ops.cross_entropy_backward(softmax, rows, target, scale, out) is out
    assert np.array_equal(out, d_logits)
