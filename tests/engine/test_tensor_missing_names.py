"""A torch.Tensor name chainrule lacks points to the coverage page through a descriptor per
name (chainrule.coverage.NotInChainrule), not a `__getattr__`: with one, CPython 3.11 does
not specialise attribute reads on tensors, which the engine makes hundreds of per step."""

from __future__ import annotations

import pytest

import chainrule
from chainrule import coverage, nn
from chainrule.coverage_names import TENSOR_NAMES

PAGE_ERROR = "chainrule does not implement torch.Tensor.stft; see docs/pytorch-coverage.md"


def test_tensors_have_no_getattr_hook() -> None:
    for cls in (chainrule.Tensor, nn.Parameter):
        assert not any("__getattr__" in vars(base) for base in cls.__mro__)


@pytest.mark.parametrize(
    "make", [lambda: chainrule.ones(2), lambda: nn.Parameter(chainrule.ones(2))]
)
def test_a_missing_torch_name_points_to_the_page(make) -> None:  # type: ignore[no-untyped-def]
    t = make()
    with pytest.raises(AttributeError, match=PAGE_ERROR):
        t.stft  # noqa: B018
    with pytest.raises(AttributeError, match=PAGE_ERROR):
        chainrule.Tensor.stft  # noqa: B018
    assert not hasattr(t, "stft") and not hasattr(type(t), "stft")
    assert "stft" not in dir(t) and "abs" in dir(t) and "_data" in dir(t)


def test_other_names_get_pythons_error() -> None:
    with pytest.raises(AttributeError, match="'Tensor' object has no attribute 'sahpe'"):
        chainrule.ones(1).sahpe  # noqa: B018
    assert not hasattr(chainrule.ones(1), "_fields")


def test_no_implemented_name_is_shadowed() -> None:
    """Every torch name is either chainrule's own (a method, property or slot of Tensor or
    a base) or a pointer to the page, and the pointers are exactly the names it lacks."""
    pointers = {n for n, v in vars(chainrule.Tensor).items() if type(v) is coverage.NotInChainrule}
    assert pointers <= set(TENSOR_NAMES)
    for name in TENSOR_NAMES:
        found = next(
            (vars(base)[name] for base in chainrule.Tensor.__mro__ if name in vars(base)), None
        )
        assert found is not None, name
        if type(found) is coverage.NotInChainrule:
            assert not any(name in vars(base) for base in chainrule.Tensor.__mro__[1:]), name
    assert "abs" not in pointers and "stft" in pointers
