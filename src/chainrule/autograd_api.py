"""autograd's entry points that the floors above implement: `grad`, `backward`,
`gradcheck` and `gradgradcheck` (torch.autograd's names), and the registry they run through.

The engine cannot import what builds on Tensor (autograd_function, higher_order, gradcheck
sit above it), so those modules register their functions here by name when they are
imported, and the entry points (re-exported by chainrule.autograd) call them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from chainrule.types import GradTensors, TensorOrTensors

if TYPE_CHECKING:
    from chainrule.tensor import Tensor


# set by the floors above (they build on Tensor): autograd_function (apply, grad, backward),
# higher_order (backward_graph, node_backward, unbroadcast_graph, accumulate_graph),
# gradcheck (gradcheck, gradgradcheck)
_implementations: dict[str, Callable[..., Any]] = {}


def register_implementation(**functions: Callable[..., Any]) -> None:
    """Provide what this module's entry points run but cannot import (a module above the
    engine implements it), by name: ``register_implementation(grad=grad)``."""
    _implementations.update(functions)


def implementation(name: str) -> Callable[..., Any]:
    """The function registered under `name` (see `register_implementation`)."""
    try:
        return _implementations[name]
    except KeyError:
        message = f"chainrule.autograd: nothing registered as {name!r} (its module is not imported)"
        raise RuntimeError(message) from None


def grad(
    outputs: TensorOrTensors,
    inputs: TensorOrTensors,
    grad_outputs: GradTensors = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple[Tensor | None, ...]:
    """d(outputs)/d(inputs) as new tensors, leaving every `.grad` alone (torch.autograd.grad).

    See chainrule.autograd_function.grad for the arguments.
    """
    result: tuple[Tensor | None, ...] = _implementations["grad"](
        outputs,
        inputs,
        grad_outputs=grad_outputs,
        retain_graph=retain_graph,
        create_graph=create_graph,
        allow_unused=allow_unused,
        is_grads_batched=is_grads_batched,
        materialize_grads=materialize_grads,
    )
    return result


def backward(
    tensors: TensorOrTensors,
    grad_tensors: GradTensors = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: TensorOrTensors | None = None,
) -> None:
    """Σ_i tensors[i].backward(grad_tensors[i]) in one pass (torch.autograd.backward).

    See chainrule.autograd_function.backward for the arguments.
    """
    _implementations["backward"](
        tensors, grad_tensors, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs
    )


def gradcheck(
    fn: Callable[..., Tensor], inputs: Sequence[object], *args: object, **kwargs: object
) -> bool:
    """torch.autograd.gradcheck: chainrule.gradcheck (float64 central differences); the
    other arguments are passed on (it checks them)."""
    ok: bool = _implementations["gradcheck"](fn, inputs, *args, **kwargs)
    return ok


def gradgradcheck(
    fn: Callable[..., Tensor], inputs: Sequence[object], *args: object, **kwargs: object
) -> bool:
    """torch.autograd.gradgradcheck: second derivatives (create_graph) against central
    differences of the first (chainrule.gradcheck.gradgradcheck)."""
    ok: bool = _implementations["gradgradcheck"](fn, inputs, *args, **kwargs)
    return ok
