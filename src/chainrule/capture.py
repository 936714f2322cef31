"""A captured training step: record the graph of one step once, then replay it.

An eager step builds a Tensor and a graph node for every op, walks the graph in backward
and goes through each layer's Python call chain. For a small network (2-16-16-2 on
batches of 32) that bookkeeping costs more than the arithmetic. `compile_step` runs the
first step eagerly while recording which ops ran, on which arrays, with which options;
later steps of the same input shapes replay that tape: the same op objects' `forward`
and `backward` on plain ndarrays, in the recorded order — the same arithmetic as the eager
step, without the bookkeeping.

    step = chainrule.compile_step(model, nn.CrossEntropyLoss(), optimizer)
    for xb, yb in loader:
        loss = step(xb, yb)   # = zero_grad(); loss_fn(model(xb), yb).backward(); step()

Supported models: `Sequential` (nested too) of Linear, Identity, Flatten and the
activation layers. Layers whose forward draws random numbers or updates state (Dropout,
BatchNorm1d) would be frozen by a replay, so they are refused with a clear error. The loss
is computed eagerly on the replayed output, so every loss and option behaves as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule import autograd
from chainrule.autograd import Function, _accumulate, unbroadcast
from chainrule.nn.modules.activation import (
    ELU,
    GELU,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from chainrule.nn.modules.container import Sequential
from chainrule.nn.modules.linear import Identity, Linear
from chainrule.nn.modules.loss import CrossEntropyLoss
from chainrule.nn.modules.module import Module
from chainrule.nn.modules.regularization import Flatten
from chainrule.ops.loss import CrossEntropyIndex
from chainrule.tensor import Tensor

REPLAYABLE = (Linear, Identity, Flatten, ReLU, LeakyReLU, ELU, Sigmoid, Tanh, GELU, SiLU,
              Softplus, Softmax, LogSoftmax, Sequential)  # fmt: skip

_INPUT = -1  # slot of the model's input in the tape


@dataclass
class _Entry:
    """One recorded op: its class, where its inputs come from, its options."""

    op: type[Function]
    sources: tuple[Any, ...]  # per input: _INPUT, an earlier entry's index, or a Tensor
    options: dict[str, Any]
    needs_input_grad: tuple[bool, ...]


class _Tape:
    """The ops of one forward pass, for one input shape and dtype."""

    def __init__(self, entries: list[_Entry], parameters: list[Tensor]) -> None:
        self.entries = entries
        self.parameters = parameters  # the leaves that receive gradients, in tape order

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, list[Function]]:
        values: list[np.ndarray] = []
        nodes: list[Function] = []
        for entry in self.entries:
            arrays = [x if s is _INPUT else values[s] if type(s) is int else s.data
                      for s in entry.sources]  # fmt: skip
            node = entry.op.__new__(entry.op)
            node.needs_input_grad = entry.needs_input_grad
            values.append(np.asarray(node.forward(*arrays, **entry.options)))
            nodes.append(node)
        return values[-1], nodes

    def backward(self, nodes: list[Function], grad: np.ndarray) -> None:
        """Run the recorded nodes' backward in reverse order and accumulate into .grad."""
        grads: list[Any] = [None] * len(nodes)
        grads[-1] = grad
        leaf_grads: dict[int, np.ndarray] = {}
        for index in range(len(nodes) - 1, -1, -1):
            g = grads[index]
            if g is None:
                continue
            entry = self.entries[index]
            result: Any = nodes[index].backward(g)
            if type(result) is not tuple and type(result) is not list:
                result = (result,)
            for source, source_grad, needed in zip(
                entry.sources, result, entry.needs_input_grad, strict=True
            ):
                if not needed or source_grad is None or source is _INPUT:
                    continue
                if type(source) is int:
                    previous = grads[source]
                    grads[source] = source_grad if previous is None else previous + source_grad
                else:
                    if source_grad.shape != source.data.shape:
                        source_grad = unbroadcast(source_grad, source.data.shape)
                    previous = leaf_grads.get(id(source))
                    leaf_grads[id(source)] = (
                        source_grad if previous is None else previous + source_grad
                    )
        handed_out: set[int] = set()
        for parameter in self.parameters:
            g = leaf_grads.get(id(parameter))
            if g is not None:
                _accumulate(parameter, g, handed_out)


def _check_replayable(model: Module) -> None:
    for name, module in model.named_modules():
        if not isinstance(module, REPLAYABLE):
            where = f"layer {name!r} " if name else ""
            raise ValueError(
                f"compile_step: {where}({type(module).__name__}) cannot be replayed: only "
                "Sequential models of Linear, Identity, Flatten and activation layers can "
                "(Dropout and BatchNorm1d change at every step); train this model eagerly"
            )


def _record(model: Module, x: Tensor) -> tuple[_Tape, Tensor]:
    """Run the model eagerly once and turn the ops it ran into a tape."""
    recorded: list[tuple[Function | None, tuple[Tensor, ...], dict[str, Any], Tensor]] = []
    autograd._recorders.append(recorded)
    try:
        output = model(x)
    finally:
        autograd._recorders.remove(recorded)
    produced = {id(result): index for index, (_, _, _, result) in enumerate(recorded)}
    parameters = {id(p): p for p in model.parameters()}
    entries: list[_Entry] = []
    leaves: dict[int, Tensor] = {}
    for op, inputs, options, _result in recorded:
        assert op is not None
        sources: list[Any] = []
        for tensor in inputs:
            if tensor is x:
                sources.append(_INPUT)
            elif id(tensor) in produced:
                sources.append(produced[id(tensor)])
            else:  # a parameter, or a constant the layer made (its values do not change)
                sources.append(tensor)
                if id(tensor) in parameters:
                    leaves[id(tensor)] = tensor
        for value in options.values():
            if isinstance(value, np.ndarray) and np.shares_memory(value, x.data):
                raise ValueError(
                    f"compile_step: op {type(op).__name__} keeps an array taken from the "
                    "input, which a replay could not update; train this model eagerly"
                )
        needs = tuple(t.requires_grad for t in inputs)
        entries.append(_Entry(type(op), tuple(sources), dict(options), needs))
    if not entries or produced.get(id(output)) != len(entries) - 1:
        raise ValueError("compile_step: the model's output must come from its last op")
    return _Tape(entries, list(leaves.values())), output


class CompiledStep:
    """A training step that is recorded on its first call and replayed afterwards.

    Calling it does what the eager loop does: ``optimizer.zero_grad()``, forward,
    ``loss_fn(output, y)``, backward, ``optimizer.step()``; it returns the loss as a
    Tensor without a graph. A new input shape or dtype (e.g. a smaller last batch) is
    recorded once more.
    """

    def __init__(self, model: Module, loss_fn: Callable[..., Tensor], optimizer: Any) -> None:
        _check_replayable(model)
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.tapes: dict[tuple[Any, ...], _Tape] = {}

    def __call__(self, x: Any, y: Any) -> Tensor:
        if not isinstance(x, Tensor):
            x = Tensor(x)
        if x.requires_grad:
            raise ValueError("compile_step: the input batch must not require grad")
        self.optimizer.zero_grad()
        key = (x.shape, x.dtype)
        tape = self.tapes.get(key)
        if tape is None:  # record: this step runs eagerly
            tape, output = _record(self.model, x)
            self.tapes[key] = tape
            loss = self.loss_fn(output, y)
            loss.backward()
        else:
            output_array, nodes = tape.forward(x.data)
            loss, d_output = self._loss_and_gradient(output_array, y)
            tape.backward(nodes, d_output)
        self.optimizer.step()
        return loss.detach()

    def _loss_and_gradient(self, output: np.ndarray, y: Any) -> tuple[Tensor, np.ndarray]:
        """The loss on the replayed output and d loss / d output.

        Plain `CrossEntropyLoss()` on class indices runs its fused op directly (the common
        case, and half the cost of a small step); any other loss runs eagerly.
        """
        loss_fn = self.loss_fn
        target = y.data if isinstance(y, Tensor) else y
        if (
            type(loss_fn) is CrossEntropyLoss
            and loss_fn.weight is None
            and loss_fn.label_smoothing == 0.0
            and output.ndim == 2
            and isinstance(target, np.ndarray)
            and target.dtype.kind in "iu"
            and target.shape == output.shape[:1]
            and target.size
            and target.min() >= 0
            and target.max() < output.shape[1]
        ):
            node = CrossEntropyIndex.__new__(CrossEntropyIndex)
            value = node.forward(output, target.astype(np.int64, copy=False), None,
                                 loss_fn.reduction)  # fmt: skip
            if loss_fn.reduction != "none":
                return Tensor(value), node.backward(np.ones((), output.dtype))
        wrapped = Tensor(output, requires_grad=True)
        loss = loss_fn(wrapped, y)
        loss.backward()
        assert wrapped.grad is not None
        return loss, wrapped.grad.data


def compile_step(model: Module, loss_fn: Callable[..., Tensor], optimizer: Any) -> CompiledStep:
    """Capture `model`'s training step (see the module docstring); returns `step(x, y)`."""
    return CompiledStep(model, loss_fn, optimizer)
