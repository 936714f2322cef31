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
is computed eagerly on the replayed output, so every loss and option behaves as usual
(plain `CrossEntropyLoss()` on class indices takes a buffered kernel of the same op).

Linear, ReLU and cross-entropy replay into buffers the tape keeps, so after a replayed step
the parameters' ``.grad`` arrays are those buffers and the next step overwrites them (as
with the static outputs of a CUDA graph): copy a gradient if you need to keep it. A tape
holds the parameter arrays it recorded; after `Module.to(dtype)` make a new `compile_step`.
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
from chainrule.ops.elementwise import Relu as Relu_op
from chainrule.ops.linalg import Linear as Linear_op
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
    kernel: Any = None  # a buffer-keeping stand-in for the op (see _KERNELS), or None


class _Kernel:
    """A stand-in for one op of a tape that writes into buffers kept from one replay to the
    next instead of new arrays: the same NumPy/BLAS calls in the same order, so the same
    numbers, without allocating (and page-faulting) at every step. A tape belongs to one
    input shape, so each buffer is made once, on first use."""

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        self.buffers: dict[str, np.ndarray] = {}

    def _buffer(self, name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        buffer = self.buffers.get(name)
        if buffer is None:
            buffer = self.buffers[name] = np.empty(shape, dtype)
        return buffer


class _LinearKernel(_Kernel):
    """The Linear op: y = x Wᵀ + b; dx = G W, dW = Gᵀ x, db = Σ G."""

    def forward(self, x: np.ndarray, weight: np.ndarray, bias: Any = None) -> np.ndarray:
        self.x, self.weight = x, weight
        out = np.matmul(x, weight.T, out=self._buffer("out", (len(x), len(weight)), x.dtype))
        if bias is not None:
            out += bias
        return out

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        needs, x, weight = self.needs_input_grad, self.x, self.weight
        grad_x = grad_w = None
        if needs[0]:
            grad_x = np.matmul(grad, weight, out=self._buffer("grad_x", x.shape, grad.dtype))
        if needs[1]:
            grad_w = np.matmul(grad.T, x, out=self._buffer("grad_w", weight.shape, grad.dtype))
        if len(needs) == 2:
            return grad_x, grad_w
        grad_b = None
        if needs[2]:
            buffer = self._buffer("grad_b", grad.shape[1:], grad.dtype)
            grad_b = np.add.reduce(grad, axis=0, out=buffer)
        return grad_x, grad_w, grad_b


class _ReluKernel(_Kernel):
    """The Relu op: max(0, x); the gradient passes where the output is positive."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.maximum(x, 0, out=self._buffer("out", x.shape, x.dtype))
        return self.out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        positive = np.greater(self.out, 0, out=self._buffer("mask", grad.shape, bool))
        return np.multiply(grad, positive, out=self._buffer("grad", grad.shape, grad.dtype))


class _CrossEntropyKernel(_Kernel):
    """The CrossEntropyIndex op for class indices without weights ('mean' or 'sum'), in
    the op's order of operations, so the loss and gradient are the same."""

    def __init__(self, reduction: str) -> None:
        super().__init__((True,))
        self.reduction = reduction

    def forward(self, logits: np.ndarray, target: np.ndarray) -> np.ndarray:
        n = len(target)
        if "rows" not in self.buffers:
            self.buffers["rows"] = np.arange(n)
        rows = self.buffers["rows"]
        row_max = np.maximum.reduce(logits, axis=1, keepdims=True,
                                    out=self._buffer("max", (n, 1), logits.dtype))  # fmt: skip
        shifted = np.subtract(logits, row_max,
                              out=self._buffer("shifted", logits.shape, logits.dtype))  # fmt: skip
        exp = np.exp(shifted, out=self._buffer("exp", logits.shape, logits.dtype))
        sum_exp = np.add.reduce(exp, axis=1, keepdims=True, out=row_max)
        losses = np.log(sum_exp[:, 0]) - shifted[rows, target]
        exp /= sum_exp
        self.probabilities, self.rows, self.target = exp, rows, target
        total = losses.sum()
        return np.asarray(total if self.reduction == "sum" else total / float(n))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        scale = grad / float(len(self.target)) if self.reduction == "mean" else grad
        scale = scale.astype(self.probabilities.dtype, copy=False)
        shape, dtype = self.probabilities.shape, self.probabilities.dtype
        d_logits = np.multiply(self.probabilities, scale, out=self._buffer("grad", shape, dtype))
        d_logits[self.rows, self.target] -= scale
        return d_logits


class _Tape:
    """The ops of one forward pass, for one input shape and dtype, and the routes their
    gradients take back (worked out once, when the tape is made)."""

    def __init__(self, entries: list[_Entry], parameters: list[Tensor]) -> None:
        self.entries = entries
        self.parameters = parameters  # the leaves that receive gradients, in tape order
        self.loss_kernel: _CrossEntropyKernel | None = None
        slot = {id(p): i for i, p in enumerate(parameters)}
        # per entry, last first: (entry index, [(input position, earlier entry or None,
        # parameter slot or None)]) for every input that needs a gradient
        self.routes: list[tuple[int, list[tuple[int, int | None, int | None]]]] = []
        for index in range(len(entries) - 1, -1, -1):
            entry = entries[index]
            routes: list[tuple[int, int | None, int | None]] = []
            for position, (source, needed) in enumerate(
                zip(entry.sources, entry.needs_input_grad, strict=True)
            ):
                if not needed or source is _INPUT:
                    continue
                if type(source) is int:
                    routes.append((position, source, None))
                elif id(source) in slot:
                    routes.append((position, None, slot[id(source)]))
            self.routes.append((index, routes))

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, list[Any]]:
        values: list[np.ndarray] = []
        nodes: list[Any] = []
        for entry in self.entries:
            arrays = [x if s is _INPUT else values[s] if type(s) is int else s.data
                      for s in entry.sources]  # fmt: skip
            node = entry.kernel
            if node is None:
                node = entry.op.__new__(entry.op)
                node.needs_input_grad = entry.needs_input_grad
            values.append(np.asarray(node.forward(*arrays, **entry.options)))
            nodes.append(node)
        return values[-1], nodes

    def backward(self, nodes: list[Any], grad: np.ndarray) -> None:
        """Run the recorded nodes' backward, last first, and set the parameters' .grad."""
        grads: list[Any] = [None] * len(nodes)
        grads[-1] = grad
        leaf_grads: list[Any] = [None] * len(self.parameters)
        for index, routes in self.routes:
            g = grads[index]
            if g is None:
                continue
            result: Any = nodes[index].backward(g)
            if type(result) is not tuple and type(result) is not list:
                result = (result,)
            for position, earlier, slot in routes:
                part = result[position]
                if part is None:
                    continue
                if earlier is not None:
                    previous = grads[earlier]
                    grads[earlier] = part if previous is None else previous + part
                    continue
                assert slot is not None
                shape = self.parameters[slot].data.shape
                if part.shape != shape:
                    part = unbroadcast(part, shape)
                previous = leaf_grads[slot]
                leaf_grads[slot] = part if previous is None else previous + part
        handed_out: set[int] = set()
        for parameter, g in zip(self.parameters, leaf_grads, strict=True):
            if g is not None:
                _accumulate(parameter, g, handed_out)


_KERNELS = {Linear_op: _LinearKernel, Relu_op: _ReluKernel}


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
        kernel = _KERNELS[type(op)](needs) if type(op) in _KERNELS else None
        entries.append(_Entry(type(op), tuple(sources), dict(options), needs, kernel))
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
            loss, d_output = self._loss_and_gradient(tape, output_array, y)
            tape.backward(nodes, d_output)
        self.optimizer.step()
        return loss.detach()

    def _loss_and_gradient(
        self, tape: _Tape, output: np.ndarray, y: Any
    ) -> tuple[Tensor, np.ndarray]:
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
            and loss_fn.reduction != "none"
        ):
            if tape.loss_kernel is None:
                tape.loss_kernel = _CrossEntropyKernel(loss_fn.reduction)
            kernel = tape.loss_kernel
            value = kernel.forward(output, target.astype(np.int64, copy=False))
            return Tensor(value), kernel.backward(np.ones((), output.dtype))
        wrapped = Tensor(output, requires_grad=True)
        loss = loss_fn(wrapped, y)
        loss.backward()
        assert wrapped.grad is not None
        return loss, wrapped.grad.data


def compile_step(model: Module, loss_fn: Callable[..., Tensor], optimizer: Any) -> CompiledStep:
    """Capture `model`'s training step (see the module docstring); returns `step(x, y)`."""
    return CompiledStep(model, loss_fn, optimizer)
