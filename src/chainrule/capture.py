"""A captured training step: record the graph of one step once, then run it as one
straight-line NumPy function.

An eager step builds a Tensor and a graph node for every op, walks the graph in backward
and goes through each layer's Python call chain. For a small network (2-16-16-2 on
batches of 32) that bookkeeping costs more than the arithmetic. `compile_step` runs the
first step eagerly while recording which ops ran, on which arrays, with which options, and
writes the step out as Python source: the forward ops in order, the loss, then each op's
backward, last first, into buffers kept from one step to the next. Later steps with the
same input shape run that function: the same NumPy calls as the eager step, in the same
order, so the same numbers, without the bookkeeping.

    step = chainrule.compile_step(model, nn.CrossEntropyLoss(), optimizer)
    for xb, yb in loader:
        loss = step(xb, yb)   # = zero_grad(); loss_fn(model(xb), yb).backward(); step()
    print(step.code)          # the NumPy program one training step became

Supported models: `Sequential` (nested too) of the layers declared ``capture=True`` in
`chainrule.nn.registry`: Linear, Identity, Flatten and the activation layers. Linear (on a
batch of rows), ReLU, Tanh and Sigmoid are written out as
NumPy calls into kept buffers; other layers call their op's own `forward` and `backward`.
Layers whose forward draws random numbers or updates state (Dropout, BatchNorm1d) would be
frozen by a replay, so they are refused with a clear error. The loss is computed eagerly
on the replayed output, so every loss and option behaves as usual; plain
`CrossEntropyLoss()` on class indices and the mean squared error (`MSELoss()`,
`F.mse_loss`) on targets of the output's dtype and shape are written out too.

After a replayed step the parameters' ``.grad`` arrays are the program's buffers and the
next step overwrites them (as with the static outputs of a CUDA graph): copy a gradient if
you need to keep it. A program holds the parameters it recorded; after `Module.to(dtype)`
or a change of `requires_grad`, make a new `compile_step`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule import autograd
from chainrule.autograd import Function, _accumulate, unbroadcast
from chainrule.nn.functional import mse_loss
from chainrule.nn.modules.container import Sequential
from chainrule.nn.modules.loss import CrossEntropyLoss, MSELoss
from chainrule.nn.modules.module import Module
from chainrule.nn.registry import LAYERS
from chainrule.ops.elementwise import Relu as Relu_op
from chainrule.ops.elementwise import Sigmoid as Sigmoid_op
from chainrule.ops.elementwise import Tanh as Tanh_op
from chainrule.ops.linalg import Linear as Linear_op
from chainrule.ops.linalg import few_rows_first
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.sgd import SGD
from chainrule.tensor import Tensor

REPLAYABLE: tuple[type[Module], ...] = (
    Sequential,
    *(spec.cls for spec in LAYERS.values() if spec.capture),
)
"""What compile_step replays: the layers declared with ``capture=True`` in
`chainrule.nn.registry`; those declared ``capture=False`` are refused."""

_INPUT = -1  # source of the model's input


@dataclass
class _Entry:
    """One recorded op: its class, where its inputs come from, its options and the array
    it produced while recording (whose shape, dtype and memory layout its buffers copy)."""

    op: type[Function]
    sources: tuple[Any, ...]  # per input: _INPUT, an earlier entry's index, or a Tensor
    options: dict[str, Any]
    needs_input_grad: tuple[bool, ...]
    example: np.ndarray


def _record(model: Module, x: Tensor) -> tuple[list[_Entry], Tensor]:
    """Run the model eagerly once and list the ops it ran."""
    recorded: list[tuple[Function, tuple[Tensor, ...], dict[str, Any], Tensor]] = []
    autograd._recorders.append(recorded)
    try:
        output = model(x)
    finally:
        autograd._recorders.remove(recorded)
    produced = {id(result): index for index, (_, _, _, result) in enumerate(recorded)}
    entries: list[_Entry] = []
    for op, inputs, options, result in recorded:
        sources: list[Any] = []
        for tensor in inputs:
            if tensor is x:
                sources.append(_INPUT)
            elif id(tensor) in produced:
                sources.append(produced[id(tensor)])
            else:  # a parameter, or a constant the layer made (read afresh at every step)
                sources.append(tensor)
        for value in options.values():
            if isinstance(value, np.ndarray) and np.shares_memory(value, x._data):
                raise ValueError(
                    f"compile_step: op {type(op).__name__} keeps an array taken from the "
                    "input, which a replay could not update; train this model eagerly"
                )
        needs = tuple(t.requires_grad for t in inputs)
        entries.append(_Entry(type(op), tuple(sources), dict(options), needs, result._data))
    if not entries or produced.get(id(output)) != len(entries) - 1:
        raise ValueError("compile_step: the model's output must come from its last op")
    return entries, output


def _plain(name: str) -> str:
    """A name for a comment of the program: word characters only (no line break)."""
    return re.sub(r"\W", "_", name)


def _add_grad(previous: Any, part: Any) -> Any:
    """The copy (fan-out) gate for gradients that may be None."""
    if previous is None:
        return part
    return previous if part is None else previous + part


class _Writer:
    """The source lines of a program, and the objects its names stand for."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.indent = 1
        self.namespace: dict[str, Any] = {
            "np": np, "Tensor": Tensor, "make": Tensor._make, "unbroadcast": unbroadcast,
            "accumulate": _accumulate, "add_grad": _add_grad,
        }  # fmt: skip

    def bind(self, name: str, value: Any) -> str:
        self.namespace[name] = value
        return name

    def buffer(self, name: str, like: np.ndarray, shape: tuple[int, ...] | None = None) -> str:
        """A buffer kept from step to step: like `like` (its layout too), or C-ordered of
        the given shape."""
        array = np.empty_like(like) if shape is None else np.empty(shape, like.dtype)
        return self.bind(name, array)

    def __call__(self, line: str) -> None:
        self.lines.append("    " * self.indent + line)


class _Program:
    """One training step for one input shape, written out as a Python function
    `run(x, y, update) -> loss`: forward, loss, backward, and (when `update` is true) the
    plain SGD update.

    Names: h<i> is the output of op i and dh<i> its gradient; p_<name> is the array of the
    parameter <name> (as in model.named_parameters(), dots as underscores) and d_<name> its
    gradient. Parameters are read from `tensor[<name>]` at every step, so in-place updates
    and load_state_dict reach the program.
    """

    def __init__(
        self,
        entries: list[_Entry],
        x: np.ndarray,
        names: dict[int, str],
        loss_fn: Any,
        loss_and_gradient: Callable[..., Any],
        optimizer: Optimizer,
    ) -> None:
        self.entries, self.example_input, self.parameter_names = entries, x, names
        self.write = _Writer()
        self.write.bind("loss_and_gradient", loss_and_gradient)
        self.tensors: dict[str, Tensor] = {}  # parameter name -> Tensor
        self.arrays: dict[str, str] = {}  # parameter name -> the name of its array
        self.write.bind("tensor", self.tensors)
        self.grad_state: dict[str, str] = {}  # gradient name -> "set" or "maybe None"
        self._forward()
        self._loss(loss_fn)
        self._backward(optimizer)
        self.sgd_groups = self._sgd_update(optimizer)
        reads = [f"    {name} = tensor[{key!r}]._data" for key, name in self.arrays.items()]
        self.code = "\n".join(["def run(x, y, update):", *reads, *self.write.lines,
                               "    return loss", ""])  # fmt: skip
        exec(compile(self.code, "<compile_step>", "exec"), self.write.namespace)  # noqa: S102
        self.run: Callable[[np.ndarray, Any, bool], Tensor] = self.write.namespace["run"]

    # ------------------------------------------------------------------ naming
    def _name(self, source: Any) -> str:
        """The name of an op's input: x, h<i>, or p_<name> for a parameter or constant."""
        if source is _INPUT:
            return "x"
        if type(source) is int:
            return f"h{source}"
        key = self.parameter_names.get(id(source))
        if key is None:  # a constant a layer made
            key = next((k for k, t in self.tensors.items() if t is source), None)
            key = key or f"constant{len(self.tensors)}"
        if key not in self.arrays:
            # the source text holds the name as a literal (repr) and as an identifier made
            # only of word characters: no name can write code into the program
            identifier = "p_" + re.sub(r"\W", "_", key)
            if not identifier.isidentifier():  # e.g. a superscript digit is \w but no name
                identifier = f"p_{len(self.arrays)}"
            while identifier in self.arrays.values():  # "a.b" and "a_b" would meet
                identifier += "_"
            self.tensors[key], self.arrays[key] = source, identifier
        return self.arrays[key]

    def _example(self, source: Any) -> np.ndarray:
        if source is _INPUT:
            return self.example_input
        if type(source) is int:
            return self.entries[source].example
        return np.asarray(source._data)

    def _is_linear_on_rows(self, entry: _Entry) -> bool:
        return entry.op is Linear_op and self._example(entry.sources[0]).ndim == 2

    # ------------------------------------------------------------------ forward
    def _forward(self) -> None:
        write = self.write
        for index, entry in enumerate(self.entries):
            names = [self._name(s) for s in entry.sources]
            out = f"h{index}"
            if self._is_linear_on_rows(entry):
                x, weight = self._example(entry.sources[0]), self._example(entry.sources[1])
                write(f"# {index}: Linear {weight.shape[1]} -> {weight.shape[0]}: x Wᵀ + b")
                if few_rows_first(x, weight.T):  # the layout ops.linalg.batch_product uses
                    buffer = write.buffer(f"out{index}", x, (len(weight), len(x)))
                    write(f"{out} = np.matmul({names[1]}, {names[0]}.T, out={buffer}).T")
                else:
                    buffer = write.buffer(f"out{index}", x, (len(x), len(weight)))
                    write(f"{out} = np.matmul({names[0]}, {names[1]}.T, out={buffer})")
                if len(names) == 3:
                    write(f"np.add({out}, {names[2]}, out={out})")
            elif entry.op is Relu_op:
                write(f"# {index}: ReLU")
                buffer = write.buffer(f"out{index}", entry.example)
                write(f"{out} = np.maximum({names[0]}, 0, out={buffer})")
            elif entry.op is Tanh_op:
                write(f"# {index}: Tanh")
                buffer = write.buffer(f"out{index}", entry.example)
                write(f"{out} = np.tanh({names[0]}, out={buffer})")
            elif entry.op is Sigmoid_op:
                # as ops.elementwise.stable_sigmoid: e = e^-|x|, 1/(1+e) where x >= 0, else
                # e/(1+e); the same ufuncs in the same order, into buffers
                write(f"# {index}: Sigmoid: 1/(1+e) where x >= 0, e/(1+e) elsewhere, e = e^-|x|")
                e, d = (write.buffer(f"{n}{index}", entry.example) for n in ("e", "d"))
                mask = write.buffer(f"mask{index}", entry.example.astype(bool))
                buffer = write.buffer(f"out{index}", entry.example)
                source = names[0]
                write(f"np.negative(np.abs({source}, out={e}), out={e})")
                write(f"np.exp({e}, out={e})")
                write(f"np.add(1, {e}, out={d})")
                write(f"{out} = np.divide({e}, {d}, out={buffer})")
                write(f"np.greater_equal({source}, 0, out={mask})")
                write(f"np.copyto({out}, np.divide(1, {d}, out={d}), where={mask})")
            else:  # any other op: its own forward, on a node kept for its backward
                node = write.bind(f"node{index}", entry.op.__new__(entry.op))
                write.namespace[node].needs_input_grad = entry.needs_input_grad
                options = write.bind(f"options{index}", entry.options)
                write(f"# {index}: {_plain(entry.op.__name__)}")
                write(f"{out} = np.asarray({node}.forward({', '.join(names)}, **{options}))")

    # ------------------------------------------------------------------ loss
    def _loss(self, loss_fn: Any) -> None:
        """loss and dh<last>: plain cross-entropy on class indices written out (much of a
        small step); any other loss, or targets it does not take, through
        loss_and_gradient (the eager loss on the output)."""
        write, last = self.write, len(self.entries) - 1
        logits = self.entries[-1].example
        self.grad_state[f"dh{last}"] = "set"
        if (type(loss_fn) is MSELoss and loss_fn.reduction == "mean") or loss_fn is mse_loss:
            self._mse_loss(logits)
            return
        if not (
            type(loss_fn) is CrossEntropyLoss
            and loss_fn.weight is None
            and loss_fn.label_smoothing == 0.0
            and loss_fn.reduction in ("mean", "sum")
            and logits.ndim == 2
        ):
            write(f"loss, dh{last} = loss_and_gradient(h{last}, y)")
            return
        n, classes = logits.shape
        mean = loss_fn.reduction == "mean"
        write.bind("rows", np.arange(n))
        write.buffer("row_max", logits, (n, 1))
        for name in ("shifted", "exp", "d_logits"):
            write.buffer(name, logits)
        # d loss / d loss = 1, divided by N for 'mean', in the loss's dtype (as the op does)
        write.bind(
            "scale", np.ones((), logits.dtype) / float(n) if mean else np.ones((), logits.dtype)
        )
        write(f"# loss: cross-entropy ({loss_fn.reduction}) of h{last} and the classes y")
        write("target = y._data if type(y) is Tensor else y")
        write("if (type(target) is np.ndarray and target.dtype == np.int64")
        write(f"        and target.shape == ({n},)  # and every class in range (-1 is huge):")
        write(f"        and int(target.view(np.uint64).max()) < {classes}):")
        write(f"    np.maximum.reduce(h{last}, axis=1, keepdims=True, out=row_max)")
        write(f"    np.subtract(h{last}, row_max, out=shifted)")
        write("    np.exp(shifted, out=exp)")
        write("    sum_exp = np.add.reduce(exp, axis=1, keepdims=True, out=row_max)")
        write("    losses = np.log(sum_exp[:, 0]) - shifted[rows, target]  # log Σ e^z - z_y")
        write("    np.divide(exp, sum_exp, out=exp)  # softmax")
        total = f"losses.sum() / {float(n)!r}" if mean else "losses.sum()"
        write(f"    loss = make(np.asarray({total}), False)")
        write(f"    dh{last} = np.multiply(exp, scale, out=d_logits)  # (softmax - onehot) · scale")
        write(f"    dh{last}[rows, target] -= scale")
        write("else:")
        write(f"    loss, dh{last} = loss_and_gradient(h{last}, y)")

    def _mse_loss(self, output: np.ndarray) -> None:
        """mean((h - y)²) and its gradient as the eager ops compute them: diff = h - y,
        squares = diff·diff, their mean; backward, the mean's 1/N (as Mean.backward makes
        it), times diff, once for each side of the product, summed as backward sums them.
        A target of another dtype or shape goes to the eager loss (which casts, or says
        what is wrong)."""
        write, last = self.write, len(self.entries) - 1
        for name in ("diff", "squares", "d_output"):
            write.buffer(name, output)
        # Mean.backward: the seed 1 (as Tensor.backward makes it) / the count, in the dtype
        seed = np.array(1, output.dtype)
        write.bind("mean_scale", seed / np.asarray(int(np.prod(output.shape)), seed.dtype))
        write(f"# loss: mean squared error of h{last} and the targets y")
        write("target = y._data if type(y) is Tensor else y")
        write(f"if (type(target) is np.ndarray and target.dtype == np.{output.dtype.name}")
        write(f"        and target.shape == {output.shape!r}):")
        write(f"    np.subtract(h{last}, target, out=diff)")
        write("    np.multiply(diff, diff, out=squares)")
        write("    loss = make(np.asarray(squares.mean()), False)")
        write("    np.multiply(mean_scale, diff, out=squares)  # each side of diff·diff")
        write(f"    dh{last} = np.add(squares, squares, out=d_output)")
        write("else:")
        write(f"    loss, dh{last} = loss_and_gradient(h{last}, y)")

    # ------------------------------------------------------------------ backward
    def _backward(self, optimizer: Optimizer) -> None:
        write = self.write
        parameter_grads: dict[str, str] = {}  # p_<name> -> d_<name>
        for index in range(len(self.entries) - 1, -1, -1):
            entry = self.entries[index]
            grad = f"dh{index}"
            state = self.grad_state.get(grad)
            if state is None:
                continue  # no gradient reaches this op
            targets: list[str | None] = []  # per input: the gradient it adds to
            for source, needed in zip(entry.sources, entry.needs_input_grad, strict=True):
                if not needed or source is _INPUT:
                    targets.append(None)
                elif type(source) is int:
                    targets.append(f"dh{source}")
                else:
                    array = self._name(source)
                    targets.append(parameter_grads.setdefault(array, "d" + array[1:]))
            if not any(targets):
                continue
            if state == "maybe None":  # what this op passes back may not come to be
                for target in targets:
                    if target is not None and target not in self.grad_state:
                        write(f"{target} = None")
                        self.grad_state[target] = "maybe None"
                write(f"if {grad} is not None:")
                write.indent += 1
            if self._is_linear_on_rows(entry):
                self._linear_backward(index, entry, targets)
            elif entry.op is Relu_op:
                write(f"# {index}: ReLU backward: the gradient passes where the output > 0")
                mask = write.buffer(f"mask{index}", entry.example.astype(bool))
                buffer = write.buffer(f"grad{index}", entry.example)
                write(f"np.greater(h{index}, 0, out={mask})")
                self._add(targets[0], f"np.multiply({grad}, {mask}, out={buffer})", False)
            elif entry.op is Tanh_op:
                write(f"# {index}: Tanh backward: G · (1 - tanh²), from the output")
                local = write.buffer(f"grad{index}", entry.example)
                write(f"np.subtract(1, np.multiply(h{index}, h{index}, out={local}), out={local})")
                self._add(targets[0], f"np.multiply({grad}, {local}, out={local})", False)
            elif entry.op is Sigmoid_op:
                write(f"# {index}: Sigmoid backward: G · σ · (1 - σ), from the output")
                local = write.buffer(f"grad{index}", entry.example)
                other = write.buffer(f"one_minus{index}", entry.example)
                write(f"np.multiply({grad}, h{index}, out={local})")
                write(f"np.subtract(1, h{index}, out={other})")
                self._add(targets[0], f"np.multiply({local}, {other}, out={local})", False)
            else:
                self._generic_backward(index, entry, targets)
            if state == "maybe None":
                write.indent -= 1
        optimized = {id(p) for group in optimizer.param_groups for p in group["params"]}
        self._hand_over(parameter_grads, optimized)

    def _hand_over(self, parameter_grads: dict[str, str], optimized: set[int]) -> None:
        """Set each parameter's .grad as backward does: the program's buffer as it is (no
        copy; the step's zero_grad() has set the optimizer's parameters' .grad to None),
        added to the .grad of a parameter the optimizer does not hold; gradients from an
        op's own backward go through autograd's _accumulate (which copies shared arrays)."""
        write, keys = self.write, {name: key for key, name in self.arrays.items()}
        if "maybe None" in {self.grad_state.get(grad) for grad in parameter_grads.values()}:
            write("handed_out = set()")
        for array, grad in parameter_grads.items():
            tensor = f"tensor[{keys[array]!r}]"
            if self.grad_state.get(grad) == "maybe None":
                write(f"if {grad} is not None:")
                write(f"    accumulate({tensor}, {grad}, handed_out)")
            elif id(self.tensors[keys[array]]) in optimized:
                write(f"{tensor}.grad = make({grad}, False)")
            elif self.grad_state.get(grad) == "set":
                write(f"if {tensor}.grad is None:")
                write(f"    {tensor}.grad = make({grad}, False)")
                write("else:")
                write(f"    {tensor}.grad._data = {tensor}.grad._data + {grad}")

    def _sgd_update(self, optimizer: Optimizer) -> tuple[list[dict[str, Any]], int] | None:
        """With SGD, write out its plain update (run when `update` is true: the caller checks
        that the groups are still these and still plain); returns (the groups, how many)."""
        if type(optimizer) is not SGD:
            return None
        write = self.write
        write.bind("groups", optimizer.param_groups)
        names = {id(tensor): self.arrays[key] for key, tensor in self.tensors.items()}
        keys = {name: key for key, name in self.arrays.items()}
        write("if update:  # plain SGD, as SGD.step does: θ ← θ - lr·g")
        for number, group in enumerate(optimizer.param_groups):
            write(f"    lr = groups[{number}]['lr']")
            for parameter in group["params"]:
                array = names.get(id(parameter))
                if array is None:  # not in this graph: no gradient, no update
                    continue
                state = self.grad_state.get("d" + array[1:])
                if state == "set":
                    write(f"    {array} -= lr * d{array[1:]}")
                elif state == "maybe None":
                    key = keys[array]
                    write(f"    if tensor[{key!r}].grad is not None:")
                    write(f"        {array} -= lr * tensor[{key!r}].grad._data")
        return optimizer.param_groups, len(optimizer.param_groups)

    def _linear_backward(self, index: int, entry: _Entry, targets: list[str | None]) -> None:
        """dx = G W, dW = Gᵀ x, db = Σ G (the rows), into the program's buffers."""
        write, grad = self.write, f"dh{index}"
        x, weight = self._example(entry.sources[0]), self._example(entry.sources[1])
        names = [self._name(s) for s in entry.sources]
        write(f"# {index}: Linear backward: dx = G W, dW = Gᵀ x, db = Σ G")
        if targets[0]:
            if few_rows_first(entry.example, weight):
                buffer = write.buffer(f"dx{index}", x, (x.shape[1], len(x)))
                expression = f"np.matmul({names[1]}.T, {grad}.T, out={buffer}).T"
            else:
                buffer = write.buffer(f"dx{index}", x, x.shape)
                expression = f"np.matmul({grad}, {names[1]}, out={buffer})"
            self._add(targets[0], expression, maybe_none=False)
        if targets[1]:
            buffer = write.buffer(f"dw{index}", weight, weight.shape)
            self._add(targets[1], f"np.matmul({grad}.T, {names[0]}, out={buffer})", False)
        if len(targets) == 3 and targets[2]:
            buffer = write.buffer(f"db{index}", weight, weight.shape[:1])
            self._add(targets[2], f"np.add.reduce({grad}, axis=0, out={buffer})", False)

    def _generic_backward(self, index: int, entry: _Entry, targets: list[str | None]) -> None:
        """The op's own backward; each part reduced to its input's shape, as the engine does."""
        write = self.write
        write(f"# {index}: {_plain(entry.op.__name__)} backward")
        write(f"parts = node{index}.backward(dh{index})")
        write("if type(parts) is not tuple and type(parts) is not list:")
        write("    parts = (parts,)")
        for position, target in enumerate(targets):
            if target is None:
                continue
            shape = self._example(entry.sources[position]).shape
            write(f"part = parts[{position}]")
            write(f"if part is not None and part.shape != {shape!r}:")
            write(f"    part = unbroadcast(part, {shape!r})")
            self._add(target, "part", maybe_none=True)

    def _add(self, target: str | None, expression: str, maybe_none: bool) -> None:
        """target (+)= expression, where expression may be None for the ops' own backward."""
        assert target is not None
        state = self.grad_state.get(target)
        if state is None:
            self.write(f"{target} = {expression}")
            self.grad_state[target] = "maybe None" if maybe_none else "set"
        elif state == "set" and not maybe_none:
            self.write(f"{target} = {target} + {expression}")
        else:
            self.write(f"{target} = add_grad({target}, {expression})")


class CompiledStep:
    """A training step that is recorded on its first call and replayed afterwards.

    Calling it does what the eager loop does: ``optimizer.zero_grad()``, forward,
    ``loss_fn(output, y)``, backward, ``optimizer.step()``; it returns the loss as a
    Tensor without a graph. A new input shape or dtype (e.g. a smaller last batch) is
    recorded once more. `code` is the Python source of the last program made.
    """

    def __init__(self, model: Module, loss_fn: Callable[..., Tensor], optimizer: Optimizer) -> None:
        _check_replayable(model)
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.programs: dict[tuple[Any, ...], _Program] = {}
        self.code = ""

    def __call__(self, x: Any, y: Any) -> Tensor:
        if type(x) is not Tensor:
            x = Tensor(x)
        if x.requires_grad:
            raise ValueError("compile_step: the input batch must not require grad")
        optimizer = self.optimizer
        optimizer.zero_grad()
        data = x._data
        program = self.programs.get((data.shape, data.dtype))
        if program is None:  # record: this step runs eagerly
            entries, output = _record(self.model, x)
            loss = self.loss_fn(output, y)
            loss.backward()
            optimizer.step()
            names = {id(p): name for name, p in self.model.named_parameters()}
            program = _Program(
                entries, data, names, self.loss_fn, self._loss_and_gradient, optimizer
            )
            self.programs[data.shape, data.dtype] = program
            self.code = program.code
            return loss.detach()
        groups = program.sgd_groups  # the update is written out for these groups only
        update = (
            groups is not None
            and groups[0] is optimizer.param_groups
            and groups[1] == len(optimizer.param_groups)
            and isinstance(optimizer, SGD)
            and optimizer.plain()
        )
        loss = program.run(data, y, update)
        if not update:
            optimizer.step()
        return loss

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
        if not isinstance(module, REPLAYABLE):
            where = f"layer {name!r} " if name else ""
            raise ValueError(
                f"compile_step: {where}({type(module).__name__}) cannot be replayed: only "
                "Sequential models of Linear, Identity, Flatten and activation layers can "
                "(Dropout and BatchNorm1d change at every step); train this model eagerly"
            )


def compile_step(
    model: Module, loss_fn: Callable[..., Tensor], optimizer: Optimizer
) -> CompiledStep:
    """Capture `model`'s training step (see the module docstring); returns `step(x, y)`."""
    return CompiledStep(model, loss_fn, optimizer)
