"""Every kernel test runs on both paths: the compiled loop (when numba is installed) and its
NumPy twin, which must give the same numbers."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from chainrule import kernels

PATHS = ["numpy", "numba"]


@pytest.fixture(params=PATHS)
def path(request: pytest.FixtureRequest) -> Iterator[str]:
    """'numpy' or 'numba': the kernels' path for this test (numba skipped when absent)."""
    if request.param == "numba" and importlib.util.find_spec("numba") is None:
        pytest.skip("numba (the fast extra) is not installed")
    before = kernels.numba_enabled()
    kernels.set_numba_enabled(request.param == "numba")
    yield request.param
    kernels.set_numba_enabled(before)
