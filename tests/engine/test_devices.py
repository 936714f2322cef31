"""Device handling: PyTorch scripts that pick a device run on chainrule's CPU."""

from __future__ import annotations

import pytest
import torch

import chainrule
from chainrule import nn


def test_device_selection_idiom_runs() -> None:
    device = chainrule.device("cuda" if chainrule.cuda.is_available() else "cpu")
    model = nn.Linear(2, 3).to(device)
    x = chainrule.randn(4, 2).to(device)
    assert model(x).shape == (4, 3)
    assert str(x.device) == "cpu" and x.device == "cpu"
    assert x.to("cpu") is x and x.cpu() is x and model.cpu() is model


def test_to_accepts_device_and_dtype_together() -> None:
    x = chainrule.randn(2, 2)
    assert x.to("cpu", chainrule.float64).dtype == chainrule.float64
    assert x.to(dtype=chainrule.float64, device="cpu").dtype == chainrule.float64
    model = nn.Linear(2, 2).to("cpu", chainrule.float64)
    assert model.weight.dtype == chainrule.float64


@pytest.mark.parametrize("name", ["cuda", "cuda:0", "mps"])
def test_other_devices_are_a_clear_error(name: str) -> None:
    with pytest.raises(ValueError, match="CPU only"):
        chainrule.randn(2).to(name)
    with pytest.raises(ValueError, match="CPU only"):
        nn.Linear(2, 2).to(name)
    with pytest.raises(ValueError, match="CPU only"):
        chainrule.zeros(2, device=name)
    assert str(chainrule.device(name)) == str(torch.device(name))  # made, as on CPU-only torch
    assert repr(chainrule.device(name)) == repr(torch.device(name))
