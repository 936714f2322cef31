"""A captured Linear written as the calls its kernels make (chainrule.capture.linear): the
eager step's numbers bit for bit, float32 and float64, short and long batches, with and
without bias, with and without numba; and the kernels' own calls whenever the step's
`fast` test fails (numba switched off after the recording, a bias given new memory)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule
from chainrule import nn, optim
from chainrule.kernels import numba_enabled, set_numba_enabled


@pytest.fixture(params=[True, False], ids=["numba", "numpy"])
def path(request: pytest.FixtureRequest) -> Any:
    before = numba_enabled()
    set_numba_enabled(request.param)
    yield numba_enabled()
    set_numba_enabled(before)


def _model(dtype: Any, activation: type[nn.Module]) -> nn.Sequential:
    chainrule.manual_seed(4)
    model = nn.Sequential(nn.Linear(5, 24), activation(), nn.Linear(24, 12, bias=False),
                          activation(), nn.Linear(12, 3))  # fmt: skip
    return model.to(chainrule.float64) if dtype == np.float64 else model


def _batches(dtype: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(5)
    # 4 rows: the short batch's (W xᵀ)ᵀ products; 16: x Wᵀ
    return [(rng.standard_normal((rows, 5)).astype(dtype), rng.integers(0, 3, rows))
            for rows in (16, 4, 16, 4, 16, 4, 16, 4)]  # fmt: skip


def _counting(step: Any, name: str) -> list[int]:
    """Count the calls of the program's `name` (every program of the step) from now on."""
    count = [0]
    for program in step.programs.values():
        namespace = program.write.namespace
        real = namespace.get(name)
        if real is None:
            continue

        def counted(*args: Any, real: Any = real) -> Any:
            count[0] += 1
            return real(*args)

        namespace[name] = counted
    return count


def _train(dtype: Any, activation: type[nn.Module],
           between: Callable[[int, nn.Module, Any], None] | None = None,
           model: Callable[[], nn.Module] | None = None,
           batches: list[tuple[np.ndarray, np.ndarray]] | None = None) -> Any:  # fmt: skip
    """Eager and captured twins over the same batches: every loss, parameter and gradient
    equal bit for bit. `between(number, model, step)` runs before each step, for the eager
    twin (step None) and the captured one. Returns the step."""
    make = model or (lambda: _model(dtype, activation))
    eager, captured = make(), make()
    eager_opt = optim.SGD(eager.parameters(), lr=0.05, momentum=0.5)
    captured_opt = optim.SGD(captured.parameters(), lr=0.05, momentum=0.5)
    step = chainrule.compile_step(captured, nn.CrossEntropyLoss(), captured_opt)
    for number, (xb, yb) in enumerate(batches or _batches(dtype)):
        if between is not None:
            between(number, eager, None)
            between(number, captured, step)
        eager_opt.zero_grad()
        loss = nn.CrossEntropyLoss()(eager(chainrule.tensor(xb)), chainrule.tensor(yb))
        loss.backward()
        eager_opt.step()
        assert step(xb, yb).detach().numpy().tobytes() == loss.detach().numpy().tobytes()
    for (name, a), b in zip(eager.named_parameters(), captured.parameters(), strict=True):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy()), name
        assert a.grad is not None and b.grad is not None
        assert np.array_equal(a.grad.detach().numpy(), b.grad.detach().numpy()), name
    return step


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", [nn.ReLU, nn.Tanh, nn.Sigmoid])
def test_the_written_out_linear_gives_the_eager_numbers(
    path: bool, dtype: Any, activation: type[nn.Module]
) -> None:
    step = _train(dtype, activation)
    assert len(step.programs) == 2
    for program in step.programs.values():
        code = program.code
        # the products written out (ndarray.dot into the buffers), the kernels as the
        # other branch, on either path
        assert ".dot(" in code and "fast = " in code and "numba = numba_enabled()" in code
        assert "linear_forward(" in code and "linear_backward(" in code


def _counter(counts: dict[str, list[int]]) -> Callable[[int, nn.Module, Any], None]:
    """A `between` that counts, from step 2 on (both shapes recorded), the calls of the
    bias loop and of the kernel linear_forward in the captured programs."""

    def start(number: int, model: nn.Module, step: Any) -> None:
        if number == 2 and step is not None:
            counts["loop"] = _counting(step, "add_bias_loop")
            counts["kernel"] = _counting(step, "linear_forward")

    return start


def test_numba_switched_off_after_the_recording_adds_the_bias_by_numpy() -> None:
    before = numba_enabled()
    set_numba_enabled(True)
    if not numba_enabled():
        pytest.skip("numba is not installed")
    counts: dict[str, list[int]] = {}
    count = _counter(counts)

    def switch(number: int, model: nn.Module, step: Any) -> None:
        count(number, model, step)
        if number == 5:
            set_numba_enabled(False)

    try:
        _train(np.float32, nn.Tanh, between=switch)
    finally:
        set_numba_enabled(before)
    # two biased layers: their bias loops at steps 2-4, then NumPy's add (still no call of
    # the kernel: nothing else changed)
    assert counts["loop"][0] == 2 * 3 and counts["kernel"][0] == 0


def test_a_bias_given_new_memory_calls_the_kernels(path: bool) -> None:
    counts: dict[str, list[int]] = {}
    count = _counter(counts)

    def replace(number: int, model: nn.Module, step: Any) -> None:
        count(number, model, step)
        if number == 4:
            model[4].bias.data = model[4].bias.detach().clone() * 0.5

    _train(np.float32, nn.Tanh, between=replace)
    # steps 2-3 written out (two biased layers: their loops with numba), then the kernel
    # for all three layers at steps 4-7 (one `fast` test a step)
    assert counts["loop"][0] == (2 * 2 if path else 0) and counts["kernel"][0] == 3 * 4


@pytest.mark.parametrize("threads", [1, None])
def test_products_in_the_thread_window_give_the_eager_numbers(path: bool, threads: Any) -> None:
    """64 x 30 x 200 multiply-adds (the names model's): `kernels.blas.matmul` lowers the
    BLAS threads for them, or with one thread already the program calls ndarray.dot."""
    from threadpoolctl import threadpool_limits

    def model() -> nn.Module:
        chainrule.manual_seed(6)
        return nn.Sequential(nn.Linear(30, 200), nn.Tanh(), nn.Linear(200, 27))

    rng = np.random.default_rng(7)
    batches = [(rng.standard_normal((64, 30)).astype(np.float32), rng.integers(0, 27, 64))
               for _ in range(4)]  # fmt: skip
    with threadpool_limits(threads):
        step = _train(np.float32, nn.Tanh, model=model, batches=batches)
    assert "single = not lowers_threads()" in step.code


def test_products_shared_between_blas_threads_give_the_eager_numbers(path: bool) -> None:
    """W1's shapes: 128x784x256 and 32x784x256 products keep both BLAS threads (the eager
    kernels make them with np.matmul, the program's forward with ndarray.dot: the same
    gemm; its backward products of these sizes with np.matmul, as the kernels), the
    32x256x128 one is in the one-thread window."""

    def model() -> nn.Module:
        chainrule.manual_seed(1)
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                             nn.Linear(128, 10))  # fmt: skip

    rng = np.random.default_rng(2)
    batches = [(rng.standard_normal((rows, 784)).astype(np.float32), rng.integers(0, 10, rows))
               for rows in (128, 128, 128, 32, 32, 32)]  # fmt: skip
    step = _train(np.float32, nn.ReLU, model=model, batches=batches)
    for program in step.programs.values():
        # dW of the first layer, dx and dW of the second: the kernel's np.matmul calls
        assert program.code.count("np.matmul(") >= 3 and "dh0.T.dot(" not in program.code
        assert "p_0_weight.dot(x.T" in program.code  # the forward keeps dot
