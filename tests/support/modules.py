"""Helpers for the nn tests: build the same layer in chainrule and PyTorch, and compare.

`torch_state_as_numpy(module)` turns a torch state_dict into ndarrays; `copy_from_torch`
loads one into a chainrule module, so both frameworks start from the same weights.
`check_module(cr_module, torch_module, x)` compares the forward output, the input gradient
and every parameter gradient (backward of (out * fixed projection).sum()).
`check_function(cr_fn, torch_fn, x)` does the same for a stateless function, and
`check_loss(cr_fn, torch_fn, x, target)` for a loss (input gradient only; targets and
weights are constants given as ndarrays and converted for each framework).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import chainrule as cr
from chainrule import nn

TOL = {"atol": 1e-6, "rtol": 1e-6}


def rand(*shape: int, seed: int = 0, low: float | None = None, high: float = 1.0) -> np.ndarray:
    """float64 values: standard normal, or uniform on [low, high) when low is given."""
    rng = np.random.default_rng(seed)
    if low is not None:
        return rng.uniform(low, high, size=shape)
    return rng.standard_normal(shape)


def torch_state_as_numpy(module: torch.nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


def copy_from_torch(cr_module: nn.Module, torch_module: torch.nn.Module) -> nn.Module:
    """Load torch's weights (as ndarrays) into cr_module, strictly; returns cr_module."""
    cr_module.load_state_dict(torch_state_as_numpy(torch_module), strict=True)
    return cr_module


def _convert(value: Any, framework: str) -> Any:
    """An ndarray constant as a tensor of the given framework; anything else unchanged."""
    if not isinstance(value, np.ndarray):
        return value
    return torch.from_numpy(value.copy()) if framework == "torch" else cr.tensor(value)


def _projection(shape: tuple[int, ...], seed: int = 1000) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def _backward_projected(cr_out: cr.Tensor, torch_out: torch.Tensor) -> None:
    projection = _projection(tuple(torch_out.shape))
    (cr_out * cr.tensor(projection, dtype=cr_out.dtype)).sum().backward()
    (torch_out * torch.tensor(projection, dtype=torch_out.dtype)).sum().backward()


def assert_close(actual: Any, expected: Any, what: str = "", **tol: float) -> None:
    actual = actual.detach().numpy() if isinstance(actual, cr.Tensor) else np.asarray(actual)
    if isinstance(expected, torch.Tensor):
        expected = expected.detach().numpy()
    assert np.shape(actual) == np.shape(expected), (
        f"{what}: shape {np.shape(actual)} vs torch's {np.shape(expected)}"
    )
    np.testing.assert_allclose(actual, expected, err_msg=what, **(tol or TOL))


def check_function(
    cr_fn: Callable[[cr.Tensor], cr.Tensor],
    torch_fn: Callable[[torch.Tensor], torch.Tensor],
    x: np.ndarray,
) -> None:
    """Forward value, dtype and input gradient of a one-input function match torch's."""
    cr_x = cr.tensor(x, requires_grad=True)
    torch_x = torch.tensor(x, requires_grad=True)
    cr_out, torch_out = cr_fn(cr_x), torch_fn(torch_x)
    assert cr_out.dtype == np.float64, f"output dtype {cr_out.dtype}"
    assert_close(cr_out, torch_out, "forward")
    _backward_projected(cr_out, torch_out)
    assert cr_x.grad is not None
    assert_close(cr_x.grad, torch_x.grad, "input gradient")


def check_module(
    cr_module: nn.Module,
    torch_module: torch.nn.Module,
    x: np.ndarray,
    *,
    train: bool = True,
) -> None:
    """Same weights (copied from torch), same float64 input: same output, input gradient
    (for floating inputs) and parameter gradients, in train or eval mode."""
    torch_module = torch_module.double().train(train)
    copy_from_torch(cr_module.double(), torch_module).train(train)
    floating = x.dtype.kind == "f"
    cr_x = cr.tensor(x, requires_grad=floating)
    torch_x = torch.tensor(x, requires_grad=floating)
    cr_out, torch_out = cr_module(cr_x), torch_module(torch_x)
    assert cr_out.dtype == np.float64, f"output dtype {cr_out.dtype}"
    assert_close(cr_out, torch_out, "forward")
    if not torch_out.requires_grad:
        assert not cr_out.requires_grad
        return
    _backward_projected(cr_out, torch_out)
    if floating:
        assert_close(cr_x.grad, torch_x.grad, "input gradient")
    cr_params = dict(cr_module.named_parameters())
    for name, param in torch_module.named_parameters():
        grad = cr_params[name].grad
        expected = np.zeros(param.shape) if param.grad is None else param.grad
        assert_close(np.zeros(param.shape) if grad is None else grad, expected, f"{name}.grad")


def check_loss(
    cr_fn: Callable[..., cr.Tensor],
    torch_fn: Callable[..., torch.Tensor],
    x: np.ndarray,
    target: Any,
    **kwargs: Any,
) -> None:
    """loss(x, target, **kwargs): value and d loss / d x match torch's in float64.

    ndarray targets and keyword values (weights) are converted to each framework's tensor.
    """
    cr_x = cr.tensor(x, requires_grad=True)
    torch_x = torch.tensor(x, requires_grad=True)
    cr_out = cr_fn(
        cr_x, _convert(target, "cr"), **{k: _convert(v, "cr") for k, v in kwargs.items()}
    )
    torch_out = torch_fn(
        torch_x, _convert(target, "torch"), **{k: _convert(v, "torch") for k, v in kwargs.items()}
    )
    assert cr_out.dtype == np.float64, f"loss dtype {cr_out.dtype}"
    assert np.all(np.isfinite(cr_out.detach().numpy())), f"loss not finite: {cr_out}"
    assert_close(cr_out, torch_out, "loss")
    _backward_projected(cr_out, torch_out)
    assert cr_x.grad is not None, "no gradient reached the input"
    assert_close(cr_x.grad, torch_x.grad, "input gradient")


def module_loss(cls_name: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """(chainrule, torch) callables (x, target, **options) that build the loss module
    `cls_name` with the options and apply it: for checking modules with `check_loss`."""

    def cr_call(x: Any, target: Any, **options: Any) -> Any:
        return getattr(nn, cls_name)(**options)(x, target)

    def torch_call(x: Any, target: Any, **options: Any) -> Any:
        return getattr(torch.nn, cls_name)(**options)(x, target)

    return cr_call, torch_call
