"""chainrule.kernels.fma: a·b + c rounded once, against exact fractions; the compiled
intrinsic, the emulation and BLAS's axpy give the same bits."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from chainrule import kernels
from chainrule.kernels import axpy, fma
from tests.support.exact_fma import exact_fma


def _floats(dtype: type, low: float, high: float) -> st.SearchStrategy[float]:
    """Finite values whose products and sums stay normal-sized (the module's range)."""
    width = 32 if dtype is np.float32 else 64
    low, high = float(dtype(low)), float(dtype(high))  # bounds the dtype can hold
    magnitude = st.floats(low, high, width=width) | st.floats(-high, -low, width=width)
    return magnitude | st.just(0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_emulation_is_the_exact_sum_rounded_once(dtype, data) -> None:
    size = data.draw(st.integers(1, 40))
    values = _floats(dtype, 1e-12, 1e12)
    a = data.draw(hnp.arrays(dtype, size, elements=values))
    c = data.draw(hnp.arrays(dtype, size, elements=values))
    b = dtype(data.draw(values))
    want = exact_fma(a, b, c)
    assert np.array_equal(fma.fma_emulated(a, b, c, np.empty_like(c)), want)
    c_kept = c.copy()
    assert np.array_equal(fma.fma_numpy(a, b, c, np.empty_like(c)), want)  # a third array
    assert np.array_equal(c, c_kept)
    assert np.array_equal(fma.fma_numpy(a, b, c, c), want)  # in place


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [5, 12, 20, 24, 40])
def test_double_rounding_cases_round_once(dtype, k) -> None:
    """a·b + c where the exact value is just past a halfway point of the dtype: rounding
    the product first (or the sum in float64 first, for float32) lands on the tie and
    picks the even neighbour, the wrong one."""
    one = dtype(1) + dtype(2.0**-k) if 2.0**-k >= np.finfo(dtype).eps else dtype(1.5)
    a = np.array([one, -one, one], dtype)
    b = (dtype(1) - dtype(2.0**-k)) * dtype(2.0 ** -(k + 1))
    c = np.array([one, -one, -one], dtype)
    want = exact_fma(a, b, c)
    assert np.array_equal(fma.fma_numpy(a, b, c, np.empty_like(c)), want)
    assert np.array_equal(fma.fma_emulated(a, b, c, np.empty_like(c)), want)
    assert np.array_equal(fma.fma_numpy(a, b, c, c), want)  # in place


def test_the_rounding_differs_from_two_roundings_on_ordinary_values() -> None:
    """The probe SGD's tests rely on: at lr 0.1, normal values, about one in ten differs."""
    rng = np.random.default_rng(0)
    g, p = rng.standard_normal((2, 4000)).astype(np.float32)
    once = fma.fma_emulated(g, np.float32(-0.1), p, np.empty_like(p))
    assert np.array_equal(once, exact_fma(g, np.float32(-0.1), p))
    assert 0.02 < np.mean(once != p - np.float32(0.1) * g) < 0.3


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_and_infinities_pass_through(dtype) -> None:
    a = np.array([np.nan, 1, np.inf, 1, -np.inf, 2], dtype)
    c = np.array([1, np.nan, 1, np.inf, 1, np.inf], dtype)
    b = dtype(-0.5)
    want = a * b + c  # no rounding question: NaN and ±inf
    got = fma.fma_emulated(a, b, c, np.empty_like(c))
    np.testing.assert_array_equal(got, want)


@pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="numba (fast extra)")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_compiled_intrinsic_is_the_emulation(dtype) -> None:
    import numba

    before = kernels.numba_enabled()
    kernels.set_numba_enabled(True)
    try:
        fma.prepare()
        fused = fma.fused

        @numba.njit
        def loop(a, b, c, out):  # type: ignore[no-untyped-def]
            for i in range(out.size):
                out[i] = fused(a[i], b, c[i])

        rng = np.random.default_rng(1)
        a = (rng.standard_normal(5000) * 10 ** rng.uniform(-5, 5, 5000)).astype(dtype)
        c = rng.standard_normal(5000).astype(dtype)
        b = dtype(-1 / 3)
        out = np.empty_like(c)
        loop(a, b, c, out)
        assert np.array_equal(out, fma.fma_emulated(a, b, c, np.empty_like(c)))
        assert np.array_equal(out[:300], exact_fma(a[:300], b, c[:300]))
    finally:
        kernels.set_numba_enabled(before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [1, 31, 2_000, 100_003])
def test_axpy_where_verified_is_the_emulation(dtype, size) -> None:
    rng = np.random.default_rng(size)
    x, y = rng.standard_normal(size).astype(dtype), rng.standard_normal(size).astype(dtype)
    want = fma.fma_emulated(x, dtype(-0.1), y, np.empty_like(y))
    if not axpy.axpy_ready(np.dtype(dtype)):
        pytest.skip("this BLAS's axpy is not fma-exact here (or is not OpenBLAS)")
    assert axpy.axpy(-0.1, x, y)
    assert np.array_equal(y, want)


def test_axpy_reads_a_read_only_source() -> None:
    """x is only read: a read-only gradient (its address taken another way) gives the
    same bits as a writeable one."""
    if not axpy.axpy_ready(np.dtype(np.float32)):
        pytest.skip("this BLAS's axpy is not fma-exact here (or is not OpenBLAS)")
    rng = np.random.default_rng(7)
    x, y = (
        rng.standard_normal(3_001).astype(np.float32),
        rng.standard_normal(3_001).astype(np.float32),
    )
    want = fma.fma_emulated(x, np.float32(-0.1), y, np.empty_like(y))
    x.flags.writeable = False
    assert axpy.axpy(-0.1, x, y)
    assert np.array_equal(y, want)


def test_axpy_refuses_what_it_cannot_take() -> None:
    x = np.ones(10, np.float32)
    assert not axpy.axpy(1.0, x, np.ones(10, np.float64))  # another dtype
    assert not axpy.axpy(1.0, x, np.ones(20, np.float32)[::2])  # strided
    assert not axpy.axpy(1.0, x, np.ones(11, np.float32))  # another size
    frozen = np.ones(10, np.float32)
    frozen.flags.writeable = False
    assert not axpy.axpy(1.0, x, frozen)
    assert not axpy.axpy(1.0, np.ones(10, np.float16), np.ones(10, np.float16))


def test_axpy_is_found_without_threadpoolctl(monkeypatch: pytest.MonkeyPatch) -> None:
    """A NumPy-only install still gets the one-call fma: the OpenBLAS that NumPy's wheels
    bundle, found by its file name (kernels.blas._bundled); its threads are left alone."""
    import glob
    import os
    import sys

    from chainrule.kernels import blas

    home = os.path.dirname(np.__file__)
    if not glob.glob(f"{home}.libs/libscipy_openblas*.so*"):
        pytest.skip("this NumPy does not bundle scipy-openblas")
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails
    monkeypatch.setattr(blas, "_opened_looked", False)
    monkeypatch.setattr(blas, "_opened", None)
    monkeypatch.setattr(blas, "_looked", False)
    monkeypatch.setattr(blas, "_functions", None)
    monkeypatch.setattr(axpy, "_routines", {})
    assert blas.openblas() is not None
    assert blas.thread_control() is None
    x, y = np.full(100, 3.0, np.float32), np.ones(100, np.float32)
    if axpy.axpy_ready(np.dtype(np.float32)):  # exact on this processor
        assert axpy.axpy(2.0, x, y)
        assert np.array_equal(y, np.full(100, 7.0, np.float32))
