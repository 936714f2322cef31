"""chainrule.kernels.blas: one BLAS thread for products too short to share."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest

import chainrule
from chainrule.kernels import blas

threadpoolctl = pytest.importorskip("threadpoolctl")


def _openblas_threads() -> int:
    """NumPy's OpenBLAS's thread count, as OpenBLAS itself reports it."""
    control = blas.thread_control()
    assert control is not None
    return int(control[0]())


needs_openblas = pytest.mark.skipif(
    blas.thread_control() is None, reason="NumPy's BLAS is not a pthreads OpenBLAS"
)


def test_the_window_of_one_thread() -> None:
    assert not blas.one_thread(8, 8, 8)  # OpenBLAS keeps these on one thread itself
    assert blas.one_thread(32, 256, 128)  # W2's middle layer: 1.0M multiply-adds
    assert blas.one_thread(64, 30, 200)  # the names model's hidden layer: 384k
    assert not blas.one_thread(128, 256, 128)  # W1's middle layer, 4.2M: all threads
    assert not blas.one_thread(32, 784, 256)  # W2's first layer, 6.4M: all threads


@needs_openblas
def test_one_thread_during_the_product_and_the_count_restored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[int] = []
    real = np.matmul

    def spy(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        seen.append(_openblas_threads())
        return real(a, b, out=out)

    rng = np.random.default_rng(0)
    a = rng.standard_normal((32, 256), dtype=np.float32)  # 1.0M multiply-adds: one thread
    b = rng.standard_normal((256, 128), dtype=np.float32)
    big = rng.standard_normal((784, 256), dtype=np.float32)
    with threadpoolctl.threadpool_limits(2):
        monkeypatch.setattr(blas.np, "matmul", spy)
        with threadpoolctl.threadpool_limits(1):  # what the one-thread product gives
            expected = real(a, b)  # (two threads may block k = 256 otherwise: Haswell's kernels)
        out = np.empty((32, 128), np.float32)
        result = blas.matmul(a, b, out=out)
        assert result is out and np.array_equal(result, expected)
        blas.matmul(rng.standard_normal((128, 784), dtype=np.float32), big)  # large: all
        blas.matmul(a[:8, :8], b[:8, :8])  # small: OpenBLAS's own single thread
        assert seen == [1, 2, 2]
        assert _openblas_threads() == 2
        blas.set_thread_choice(False)
        try:
            blas.matmul(a, b)
        finally:
            blas.set_thread_choice(True)
        assert seen[-1] == 2  # off: as NumPy runs it
    with threadpoolctl.threadpool_limits(1):  # a lower limit set by the user is kept
        blas.matmul(a, b)
        assert seen[-1] == 1 and _openblas_threads() == 1


@needs_openblas
def test_other_threads_leave_the_count_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenBLAS's pthreads pool is the process's: only the main thread switches it."""
    seen: list[int] = []
    real = np.matmul
    monkeypatch.setattr(
        blas.np, "matmul", lambda a, b, out=None: seen.append(_openblas_threads()) or real(a, b)
    )
    a = np.ones((64, 256), np.float32)  # 64 x 256 x 64: 1.0M multiply-adds, the window
    with threadpoolctl.threadpool_limits(2):
        worker = threading.Thread(target=blas.matmul, args=(a, a.T))
        worker.start()
        worker.join()
    assert seen == [2]


def test_products_agree_with_numpy_in_every_layout() -> None:
    """Equal to np.matmul at one thread (what the choice runs), for the layouts Linear
    uses: plain, transposed operands, a column-major result through a transposed out."""
    rng = np.random.default_rng(1)
    for m, k, n in [(32, 256, 128), (32, 784, 256), (128, 784, 256), (3, 5, 7), (64, 90, 70)]:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((n, k), dtype=np.float32).T  # a transposed view
        with threadpoolctl.threadpool_limits(1):
            expected = a @ b
        if blas.one_thread(m, k, n) and blas.thread_control() is not None:
            assert np.array_equal(blas.matmul(a, b), expected)  # what it runs: one thread
        np.testing.assert_allclose(blas.matmul(a, b), expected, rtol=1e-5, atol=1e-4)
        out = np.empty((n, m), np.float32)
        result = blas.matmul(b.T, a.T, out=out).T
        np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-4)


def test_without_threadpoolctl_products_run_as_numpy_runs_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails
    monkeypatch.setattr(blas, "_looked", False)
    monkeypatch.setattr(blas, "_functions", None)
    monkeypatch.setattr(blas, "_opened_looked", False)  # the library itself, looked up again
    monkeypatch.setattr(blas, "_opened", None)
    assert blas.thread_control() is None  # the library may be found (kernels.axpy), not its threads
    a = np.arange(128 * 256, dtype=np.float32).reshape(128, 256) / 1e4
    np.testing.assert_array_equal(blas.matmul(a, a.T), np.matmul(a, a.T))


def test_linear_gives_the_same_numbers_with_the_choice_on_and_off() -> None:
    """Eager Linear forward and backward (dx, dW through the choice) to float32 rounding;
    on a product of a short inner dimension, bitwise."""
    from chainrule import nn

    rng = np.random.default_rng(2)
    results = []
    for choice in (True, False):
        blas.set_thread_choice(choice)
        try:
            chainrule.manual_seed(0)
            layer = nn.Linear(256, 128)
            x = chainrule.tensor(rng.standard_normal((128, 256), dtype=np.float32))
            rng = np.random.default_rng(2)
            x.requires_grad_(True)
            layer(x).square().sum().backward()
            results.append([t.detach().numpy().copy() for t in (x.grad, layer.weight.grad)])
        finally:
            blas.set_thread_choice(True)
    for new, old in zip(*results, strict=True):
        np.testing.assert_allclose(new, old, rtol=1e-5, atol=1e-5)


def test_import_chainrule_does_not_load_threadpoolctl() -> None:
    code = "import sys, chainrule; print('threadpoolctl' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
