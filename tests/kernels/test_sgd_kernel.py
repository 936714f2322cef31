"""SGD's kernel (chainrule.kernels.sgd): the compiled loop and the NumPy twin give bitwise
the same numbers for every option (momentum, dampening, Nesterov, weight decay, maximize),
in float32 and float64, the first step's buffer included; the twin allocates only that."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from chainrule.kernels.sgd import sgd_numpy, sgd_step
from tests.support.numba_paths import needs_numba, numba_path

# (momentum, dampening, nesterov, weight_decay, maximize); Nesterov needs τ = 0 and μ > 0
OPTIONS = [
    (mu, tau, nesterov, wd, maximize)
    for mu in (0.0, 0.9)
    for tau in ((0.0, 0.3) if mu else (0.0,))
    for nesterov in ((False, True) if mu and not tau else (False,))
    for wd in (0.0, 0.1)
    for maximize in (False, True)
]


def _trajectory(dtype: Any, options: tuple[Any, ...], shape: tuple[int, ...]) -> list[Any]:
    momentum, dampening, nesterov, weight_decay, maximize = options
    rng = np.random.default_rng(5)
    param = rng.standard_normal(shape).astype(dtype)
    scratch, spare = np.empty_like(param), np.empty_like(param)
    buf = None
    for step in range(6):
        grad = rng.standard_normal(shape).astype(dtype)
        grad.reshape(-1)[:: 3 + step] = 0.0
        buf = sgd_step(param, grad, buf, scratch, spare, 0.05, momentum, dampening,
                       weight_decay, nesterov, maximize)  # fmt: skip
    assert (buf is None) == (momentum == 0)
    return [param] if buf is None else [param, buf]


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", OPTIONS, ids=[str(o) for o in OPTIONS])
def test_the_compiled_loop_is_bitwise_the_numpy_twin(dtype: Any, options: Any) -> None:
    fused = _trajectory(dtype, options, (41, 13))  # odd sizes: the vector loop's tail
    with numba_path(False):
        plain = _trajectory(dtype, options, (41, 13))
    assert len(fused) == len(plain)
    for a, b in zip(fused, plain, strict=True):
        assert a.dtype == dtype and np.array_equal(a, b)


def test_the_numpy_twin_writes_into_the_scratch_and_keeps_the_buffer() -> None:
    param = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    scratch, spare = np.full_like(param, np.nan), np.full_like(param, np.nan)
    first = sgd_numpy(param, np.ones_like(param), None, scratch, spare, 0.1, 0.9, 0.0, 0.1,
                      True, True)  # fmt: skip
    assert first is not None and first is not spare and first is not scratch
    again = sgd_numpy(param, np.ones_like(param), first, scratch, spare, 0.1, 0.9, 0.0, 0.1,
                      True, True)  # fmt: skip
    assert again is first  # updated in place, as the optimizer's state
    assert not np.isnan(scratch).any() and not np.isnan(spare).any()
