"""Switching chainrule.kernels' paths inside a test: the compiled loops (numba, the `fast`
extra) or their NumPy twins (`set_numba_enabled(False)`, as CHAINRULE_NUMBA=0). The
`path` fixture (tests/kernels/conftest.py) runs a whole test on each."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from chainrule import kernels

needs_numba = pytest.mark.skipif(
    not kernels.numba_enabled(), reason="numba (the fast extra) is not installed"
)


@contextmanager
def numba_path(enabled: bool) -> Iterator[None]:
    """The compiled kernels on or off inside the block, then as they were."""
    before = kernels.numba_enabled()
    kernels.set_numba_enabled(enabled)
    try:
        yield
    finally:
        kernels.set_numba_enabled(before)
