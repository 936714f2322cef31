"""Shared test helpers: build float64 inputs, compare chainrule with PyTorch, run gradcheck.

`assert_parity(chainrule_fn, torch_fn, inputs)` runs both frameworks on the same float64
values and compares the forward values (and dtypes) and the gradient of every input, taken
as the backward of (out * fixed random projection).sum(). `check_gradcheck(fn, inputs)`
compares chainrule's gradients with central finite differences.

An input is either a shape (random values from a seeded RNG, see `make_array`) or an
ndarray used as is (for ties, kinks and other hand-picked values).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

import chainrule as cr

Shape = tuple[int, ...]
InputSpec = Shape | np.ndarray


def make_array(
    shape: Shape, rng: np.random.Generator, domain: str = "real", avoid_zero: bool = False
) -> np.ndarray:
    """Random float64 values for `shape`.

    domain: 'real' (standard normal), 'positive' (uniform on [0.5, 2], for log, sqrt, /,
    ** with tensor exponents) or 'unit' (uniform on [0.05, 0.95], for probabilities).
    avoid_zero pushes values at least 0.1 away from 0 (the kink of relu, abs, ...).
    """
    if domain == "positive":
        return rng.uniform(0.5, 2.0, size=shape)
    if domain == "unit":
        return rng.uniform(0.05, 0.95, size=shape)
    values = rng.standard_normal(shape)
    if avoid_zero:
        values = np.where(values >= 0, values + 0.1, values - 0.1)
    return values


def make_arrays(
    inputs: Sequence[InputSpec], seed: int = 0, domain: str = "real", avoid_zero: bool = False
) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [
        np.array(spec, dtype=np.float64)
        if isinstance(spec, np.ndarray)
        else make_array(tuple(spec), rng, domain, avoid_zero)
        for spec in inputs
    ]


def _flatten(output: Any) -> list[Any]:
    """A single tensor, or the tensors of a tuple / namedtuple such as max(dim)'s."""
    return list(output) if isinstance(output, (tuple, list)) else [output]


def _torch_dtype_name(t: torch.Tensor) -> str:
    return str(t.dtype).removeprefix("torch.")


def assert_parity(
    chainrule_fn: Callable[..., Any],
    torch_fn: Callable[..., Any] | None,
    inputs: Sequence[InputSpec],
    *,
    domain: str = "real",
    avoid_zero: bool = False,
    seed: int = 0,
    atol: float = 1e-6,
    rtol: float = 1e-6,
    check_dtype: bool = True,
) -> tuple[list[Any], list[Any]]:
    """Forward values, dtypes and gradients of every input agree with PyTorch.

    torch_fn=None means the same callable works in both frameworks (e.g. `lambda a, b: a * b`).
    Returns both frameworks' outputs for extra checks.
    """
    torch_fn = chainrule_fn if torch_fn is None else torch_fn
    arrays = make_arrays(inputs, seed, domain, avoid_zero)
    cr_inputs = [cr.tensor(a, requires_grad=True) for a in arrays]
    pt_inputs = [torch.tensor(a, requires_grad=True) for a in arrays]
    cr_out = _flatten(chainrule_fn(*cr_inputs))
    pt_out = _flatten(torch_fn(*pt_inputs))
    assert len(cr_out) == len(pt_out), f"{len(cr_out)} outputs vs torch's {len(pt_out)}"

    rng = np.random.default_rng(seed + 1000)
    cr_loss: Any = None
    pt_loss: Any = None
    for i, (c, p) in enumerate(zip(cr_out, pt_out, strict=True)):
        assert tuple(c.shape) == tuple(p.shape), f"output {i}: shape {c.shape} vs {p.shape}"
        if check_dtype:
            assert c.dtype.name == _torch_dtype_name(p), f"output {i}: {c.dtype} vs {p.dtype}"
        np.testing.assert_allclose(
            c.detach().numpy(), p.detach().numpy(), atol=atol, rtol=rtol, err_msg=f"output {i}"
        )
        assert c.requires_grad == p.requires_grad, f"output {i}: requires_grad differs"
        if p.requires_grad:
            projection = rng.standard_normal(tuple(p.shape))
            cr_term = (c * cr.tensor(projection, dtype=c.dtype)).sum()
            pt_term = (p * torch.tensor(projection, dtype=p.dtype)).sum()
            cr_loss = cr_term if cr_loss is None else cr_loss + cr_term
            pt_loss = pt_term if pt_loss is None else pt_loss + pt_term
    if pt_loss is not None:
        cr_loss.backward()
        pt_loss.backward()
    for i, (c, p) in enumerate(zip(cr_inputs, pt_inputs, strict=True)):
        expected = np.zeros(p.shape) if p.grad is None else p.grad.numpy()
        actual = np.zeros(c.shape) if c.grad is None else c.grad.numpy()
        assert c.grad is None or isinstance(c.grad, cr.Tensor)
        assert actual.shape == expected.shape, f"grad {i}: shape {actual.shape}"
        np.testing.assert_allclose(actual, expected, atol=atol, rtol=rtol, err_msg=f"grad {i}")
    return cr_out, pt_out


def check_gradcheck(
    fn: Callable[..., cr.Tensor],
    inputs: Sequence[InputSpec],
    *,
    domain: str = "real",
    avoid_zero: bool = False,
    seed: int = 0,
    **options: Any,
) -> None:
    """chainrule.gradcheck in float64 on inputs built like assert_parity's."""
    tensors = [
        cr.tensor(a, requires_grad=True) for a in make_arrays(inputs, seed, domain, avoid_zero)
    ]
    assert cr.gradcheck(fn, tensors, **options)
