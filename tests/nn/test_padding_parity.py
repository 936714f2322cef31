"""F.pad against torch 2.13: every mode on 1-D to 5-D inputs, negative sizes (crops), the
gradient each padded element sends back, and torch's errors word for word."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
from chainrule.nn import functional as F

SHAPES = [(5,), (1, 5), (2, 4), (2, 3, 5), (1, 2, 3, 4), (2, 1, 3, 3, 4)]
SIZES = [
    (1, 2), (0, 0), (-1, 2), (2, -1), (-2, -1), (3, 3), (4, 0), (5, 5), (1, 1, 1, 1),
    (-1, 1, 2, 0), (1, 0, 0, 1, 1, 1), (1, 1, 1, 1, 1, 1, 1, 1), (1,),
]  # fmt: skip
MODES = ["constant", "reflect", "replicate", "circular"]


def _run(lib: Any, f: Any, array: np.ndarray, sizes: Any, mode: str) -> Any:
    """Shape, values and input gradient under a weighted sum (each output element its own
    weight, so a gradient sent to the wrong element shows), or the error."""
    x = lib.tensor(array, requires_grad=True)
    try:
        y = f.pad(x, sizes, mode=mode)
    except Exception as error:  # the error itself is compared
        return type(error).__name__, str(error)
    weights = np.arange(y.numel(), dtype=np.float64).reshape(tuple(y.shape))
    (y * lib.tensor(weights)).sum().backward()
    return tuple(y.shape), y.detach().numpy().tolist(), x.grad.numpy().tolist()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_pad_matches_torch(shape: tuple[int, ...], mode: str) -> None:
    array = np.random.default_rng(len(shape)).standard_normal(shape)
    outcomes = set()
    for sizes in SIZES:
        ours, theirs = _run(cr, F, array, sizes, mode), _run(torch, TF, array, sizes, mode)
        assert ours == theirs, (sizes, ours, theirs)
        outcomes.add(isinstance(ours[0], tuple))
    if len(shape) > 1:
        assert outcomes == {True, False}  # both padded results and errors were compared


def test_constant_value_and_integer_inputs() -> None:
    def body(lib: Any, f: Any) -> Any:
        ints = lib.arange(6).reshape(2, 3)
        return (
            f.pad(ints, (1, 1), value=2.7).tolist(),
            str(f.pad(ints, (1, 0)).dtype).replace("torch.", ""),
            f.pad(lib.ones(2, 2), (0, 1, 1, 0), value=-3.0).tolist(),
        )

    assert body(cr, F) == body(torch, TF)


@pytest.mark.parametrize(
    ("sizes", "kwargs", "error"),
    [
        ((1.5, 1), {}, TypeError),
        ((1, 1), {"mode": "wrap"}, NotImplementedError),
        ((1, 1), {"mode": "reflect", "value": 1.0}, RuntimeError),
    ],
)
def test_bad_arguments_fail_as_torch(sizes: Any, kwargs: dict[str, Any], error: type) -> None:
    with pytest.raises(error) as theirs:
        TF.pad(torch.ones(2, 3), sizes, **kwargs)
    with pytest.raises(error) as ours:
        F.pad(cr.ones(2, 3), sizes, **kwargs)
    assert str(ours.value) == str(theirs.value)
