"""The two-thread update (chainrule.kernels.halves): every chunk runs once, from the helper
thread too; errors reach the caller; the user's one-thread choices keep it serial; the kind
of pass measured faster at a call site is the one kept. And Adam's loop shared over two
threads gives bitwise the serial loop's and the NumPy twin's numbers for every option,
float32 and float64."""

from __future__ import annotations

import itertools
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from chainrule.kernels import adam as adam_kernel
from chainrule.kernels import halves
from tests.support.numba_paths import needs_numba, numba_path


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    """Two update threads, no back-off running, before and after each test."""
    before = halves.update_threads()
    halves.set_update_threads(2)
    halves._records.clear()
    yield
    halves.set_update_threads(before)
    halves._records.clear()


def _two_cpus() -> bool:
    return halves.update_threads() == 2


needs_two = pytest.mark.skipif(not _two_cpus(), reason="the process may use one CPU only")


def test_cut_covers_the_range_in_whole_lines() -> None:
    for size, count in [(0, 2), (5, 4), (131_072, 4), (131_109, 4), (235_146, 3), (17, 2)]:
        ranges = halves.cut(size, count)
        assert len(ranges) == count
        assert ranges[0][0] == 0 and ranges[-1][1] == size
        assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
        assert all(start % 16 == 0 for start, _ in ranges if start < size)
        sizes = [stop - start for start, stop in ranges]
        assert max(sizes) - min(sizes) <= 16 or size < 16 * count


def _recording(count: int, wait_for_helper: bool) -> tuple[Callable[[int], None], list[Any]]:
    """A chunk function recording (chunk, thread); with `wait_for_helper` the caller's
    first chunk waits (at most 10 s) until the helper has run one, so it takes part."""
    ran: list[Any] = []
    helped = threading.Event()
    main = threading.get_ident()

    def run(index: int) -> None:
        if wait_for_helper and threading.get_ident() == main and index == 0:
            helped.wait(10)
        ran.append((index, threading.get_ident()))
        if threading.get_ident() != main:
            helped.set()

    return run, ran


@needs_two
def test_every_chunk_runs_once_and_the_helper_takes_part() -> None:
    for count in (2, 4, 7):
        run, ran = _recording(count, wait_for_helper=True)
        halves._shared_pass(run, count)
        assert sorted(index for index, _ in ran) == list(range(count))
        helpers = {thread for _, thread in ran} - {threading.get_ident()}
        assert len(helpers) == 1  # the one kept helper thread
        # the helper took chunks from the back: a run of the last ones
        taken = sorted(index for index, thread in ran if thread in helpers)
        assert taken == list(range(count - len(taken), count))


@needs_two
def test_an_error_in_the_helpers_chunk_reaches_the_caller() -> None:
    main = threading.get_ident()

    def run(index: int) -> None:
        if threading.get_ident() != main:
            raise ArithmeticError(f"chunk {index}")
        threading.Event().wait(0.2)  # give the helper the time to take the last chunk

    with pytest.raises(ArithmeticError, match="chunk 3"):
        halves._shared_pass(run, 4)
    run, ran = _recording(3, wait_for_helper=True)  # the helper still serves
    halves._shared_pass(run, 3)
    assert sorted(index for index, _ in ran) == [0, 1, 2]


def test_one_update_thread_keeps_every_chunk_on_the_caller() -> None:
    halves.set_update_threads(1)
    run, ran = _recording(4, wait_for_helper=False)
    halves.share(run, 4)
    assert ran == [(i, threading.get_ident()) for i in range(4)]
    with pytest.raises(ValueError, match="1 or 2"):
        halves.set_update_threads(3)


def test_blas_limited_to_one_thread_keeps_the_update_serial() -> None:
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from chainrule.kernels import blas

    if blas.thread_control() is None:
        pytest.skip("OpenBLAS's thread count cannot be read here")
    with threadpoolctl.threadpool_limits(1, "blas"):
        assert not halves.threads_allowed()
        run, ran = _recording(4, wait_for_helper=False)
        halves.share(run, 4)
    assert {thread for _, thread in ran} == {threading.get_ident()}


def test_a_caller_off_the_main_thread_runs_serially() -> None:
    seen: list[Any] = []

    def elsewhere() -> None:
        run, ran = _recording(4, wait_for_helper=False)
        seen.append(halves.threads_allowed())
        halves.share(run, 4)
        seen.append({thread for _, thread in ran} == {threading.get_ident()})

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert seen == [False, True]


@needs_two
@pytest.mark.parametrize("costs", [(2.0, 1.0), (1.0, 2.0), (1.0, 1.0)], ids=str)
def test_the_kind_measured_faster_is_kept(costs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """(serial, shared) seconds a pass on a fake clock: after both are measured, the faster
    kind runs but for a probe of the other now and then (every 8th pass while they are
    close; the interval doubles while a probe loses by 1.3x or more); a tie stays
    serial."""
    now = [0.0]
    monkeypatch.setattr(halves, "_clock", lambda: now[0])
    kinds: list[str] = []

    def pass_of(kind: str, cost: float) -> Callable[..., None]:
        def run(run: Any, count: int) -> None:
            kinds.append(kind)
            now[0] += cost

        return run

    monkeypatch.setattr(halves, "_serial_pass", pass_of("serial", costs[0]))
    monkeypatch.setattr(halves, "_shared_pass", pass_of("shared", costs[1]))
    for _ in range(70):
        halves.share(lambda index: None, 4, key="site")
    later = kinds[6:]  # after three of each
    faster = "shared" if costs[1] < 0.95 * costs[0] else "serial"
    probes = [i for i, kind in enumerate(later) if kind != faster]
    if max(costs) >= 1.3 * min(costs):  # each losing probe doubles the wait for the next
        assert [b - a for a, b in itertools.pairwise(probes)] == [8, 16, 32][: len(probes) - 1]
    else:  # close: a probe every 8th pass
        assert len(probes) == len(later) // 8


def _forced_share(run: Callable[[int], None], count: int, key: Any = None) -> None:
    """Odd chunks on another thread, at the same time as the even ones on this one: the
    kernels' chunking must not depend on who runs a chunk or in which order."""
    odd = threading.Thread(target=lambda: [run(i) for i in range(count - 1, 0, -1) if i % 2])
    odd.start()
    for index in range(0, count, 2):
        run(index)
    odd.join()


SIZE = halves.SHARE_MIN + 37  # shared, with a tail that is not a whole vector
ADAM_OPTIONS = list(itertools.product((0.0, 0.1), (False, True), (False, True), (False, True)))


def _adam_run(dtype: Any, options: tuple[Any, ...], steps: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    param = rng.standard_normal((SIZE,)).astype(dtype)
    state = [np.zeros_like(param) for _ in range(3)]
    for step in range(1, steps + 1):
        grad = rng.standard_normal(SIZE).astype(dtype)
        grad[:: 5 + step] = 0.0
        if step == 2:
            grad *= 1e3  # AMSGrad's maximum kept for the next step
        adam_kernel.adam_step(param, grad, *state, np.empty_like(param), np.empty_like(param),
                              step, 0.02, 0.9, 0.99, 1e-6, *options)  # fmt: skip
    return [param, *state]


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", ADAM_OPTIONS, ids=[str(o) for o in ADAM_OPTIONS])
def test_shared_adam_is_bitwise_the_serial_loop_and_the_twin(
    dtype: Any, options: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = _adam_run(dtype, options)  # the real helper, whatever share it takes
    with monkeypatch.context() as patch:
        patch.setattr(adam_kernel, "share", _forced_share)
        forced = _adam_run(dtype, options)
    halves.set_update_threads(1)
    serial = _adam_run(dtype, options)
    with numba_path(False):
        twin = _adam_run(dtype, options)
    for arrays in (shared, forced, twin):
        for a, b in zip(arrays, serial, strict=True):
            assert a.dtype == dtype and np.array_equal(a, b)


@pytest.mark.parametrize(("text", "threads"), [("1", 1), ("5", 2), ("", 2), ("two", 2)])
def test_the_environment_variable_is_read_and_a_bad_value_said(
    text: str, threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAINRULE_UPDATE_THREADS", text)
    monkeypatch.setattr(halves, "_choice", None)
    monkeypatch.setattr(halves, "_cpus", lambda: {0, 1})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert halves.update_threads() == threads
    said = [str(w.message) for w in caught if w.category is RuntimeWarning]
    assert said == (["CHAINRULE_UPDATE_THREADS='two' is not a number: using 2 (set 1 for "
                     "updates on the calling thread only)"] if text == "two" else [])  # fmt: skip
