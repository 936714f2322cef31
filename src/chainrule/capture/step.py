"""`compile_step` and the step it returns: record on the first call for an input shape,
replay the written-out program afterwards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule import grad_hooks
from chainrule.capture.program import Program
from chainrule.capture.record import record
from chainrule.capture.update import form, state_ready
from chainrule.nn.modules import hooks as module_hooks
from chainrule.nn.modules.container import Sequential
from chainrule.nn.modules.module import Module
from chainrule.nn.registry import LAYERS
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.step_hooks import has_step_hooks
from chainrule.tensor import Tensor

REPLAYABLE: tuple[type[Module], ...] = (
    Sequential,
    *(spec.cls for spec in LAYERS.values() if spec.capture),
)
"""What compile_step replays: the layers declared with ``capture=True`` in
`chainrule.nn.registry`; those declared ``capture=False`` are refused."""


class CompiledStep:
    """A training step that is recorded on its first call and replayed afterwards.

    Calling it does what the eager loop does: ``optimizer.zero_grad()``, forward,
    ``loss_fn(output, y)``, backward, ``optimizer.step()``; it returns the loss as a
    Tensor without a graph. A new input shape or dtype (e.g. a smaller last batch) is
    recorded once more. `code` is the Python source of the last program made.

    Hooks are never skipped: while a module of the model has a hook (forward, forward
    pre-, full backward or backward pre-hook), a parameter has a tensor hook
    (``register_hook``, ``register_post_accumulate_grad_hook``), a post-backward hook or a
    backward observer (``viz.trace``) is registered, the step runs eagerly (not recorded:
    the same numbers, the hooks called as in an eager loop); with optimizer step hooks the
    program computes the gradients and calls ``optimizer.step()``, which runs them.
    """

    def __init__(self, model: Module, loss_fn: Callable[..., Tensor], optimizer: Optimizer) -> None:
        _check_replayable(model)
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.programs: dict[tuple[Any, ...], Program] = {}
        self.code = ""
        self._modules = list(model.modules())
        self._parameters = list(model.parameters())

    def __call__(self, x: Any, y: Any) -> Tensor:
        if type(x) is np.ndarray and x.dtype.kind in "fiu" and x.flags.c_contiguous:
            data = x  # read, never written or kept: no copy (Tensor(x) would make one)
        else:
            if type(x) is not Tensor:
                x = Tensor(x)
            if x.requires_grad:
                raise ValueError("compile_step: the input batch must not require grad")
            data = x._data
        optimizer = self.optimizer
        optimizer.zero_grad()
        if data.dtype.kind in "iu" and data.dtype != np.int64:  # indices, as lookups take them
            data = data.astype(np.int64)
        if (  # first the cheap global tests: in the usual case all are empty
            module_hooks.ever_registered()
            or grad_hooks.tensor_hooks
            or grad_hooks.post_accumulate_hooks
            or grad_hooks.post_backward_hooks
            or grad_hooks.backward_observers
        ) and self._hooked():
            return self._eager(Tensor._make(data, False), y)
        program = self.programs.get((data.shape, data.dtype))
        if program is None:  # record: this step runs eagerly
            return self._record(Tensor._make(data, False), y)
        update = (  # the written-out update still fits the optimizer
            program.written is not None
            and program.groups is optimizer.param_groups
            and form(optimizer) == program.form
            and (program.stateless or state_ready(optimizer, program.written))
            and not has_step_hooks(optimizer)
        )
        loss = program.run(data, y, update)
        if not update:
            optimizer.step()
        return loss

    def _record(self, x: Tensor, y: Any) -> Tensor:
        """The eager step, recorded; then the program for this input shape is written."""
        optimizer = self.optimizer
        entries, output = record(self.model, x)
        loss = self.loss_fn(output, y)
        loss.backward()
        optimizer.step()
        result = loss.detach()
        # the graph goes first: its nodes hold the parameters' arrays, and the program moves
        # the arrays that nothing else holds into flat ones (chainrule.capture.flat)
        del loss, output
        names = {id(p): name for name, p in self.model.named_parameters()}
        data = x._data
        program = Program(entries, data, names, self.loss_fn, self._loss_and_gradient, optimizer)
        self.programs[data.shape, data.dtype] = program
        self.code = program.code
        return result

    def _hooked(self) -> bool:
        """Whether a hook would see this step (the class docstring): then it runs eagerly."""
        if grad_hooks.post_backward_hooks or grad_hooks.backward_observers:
            return True
        if any(module_hooks.has_hooks(m) for m in self._modules):
            return True
        registries = (grad_hooks.tensor_hooks, grad_hooks.post_accumulate_hooks)
        return any(r.hooks(p) for r in registries if r for p in self._parameters)

    def _eager(self, x: Tensor, y: Any) -> Tensor:
        """The eager step (gradients already zeroed), neither recorded nor replayed."""
        loss = self.loss_fn(self.model(x), y)
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    def _loss_and_gradient(self, output: np.ndarray, y: Any) -> tuple[Tensor, np.ndarray]:
        """The loss on the replayed output and d loss / d output, by the eager loss."""
        wrapped = Tensor(output, requires_grad=True)
        loss = self.loss_fn(wrapped, y)
        loss.backward()
        if wrapped.grad is None:
            raise RuntimeError("compile_step: the loss does not depend on the model's output")
        return loss.detach(), wrapped.grad._data


def _check_replayable(model: Module) -> None:
    for name, module in model.named_modules():
        # a model of its own says, with the class attribute `replayable = True`, that its
        # forward runs the same ops at every call (no branch on values, no state)
        if not isinstance(module, REPLAYABLE) and not getattr(type(module), "replayable", False):
            where = f"layer {name!r} " if name else ""
            raise ValueError(
                f"compile_step: {where}({type(module).__name__}) cannot be replayed: only "
                "Sequential models (or modules declaring replayable = True) of Linear, "
                "Embedding, Identity, Flatten, Unflatten and activation layers can (Dropout and "
                "BatchNorm1d change at every step); train this model eagerly"
            )


def compile_step(
    model: Module, loss_fn: Callable[..., Tensor], optimizer: Optimizer
) -> CompiledStep:
    """Capture `model`'s training step (see the module docstring); returns `step(x, y)`."""
    return CompiledStep(model, loss_fn, optimizer)
