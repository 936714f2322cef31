"""A captured program: one training step for one input shape, written out as Python
source from the ops `record` listed, forward in order and each op's backward last first,
into buffers kept from step to step (see `chainrule.capture`).

The formulas are not written here: for the ops in `KERNELS` and Linear on rows, the program
calls the kernel functions in chainrule.ops that the eager op's forward/backward call, with
its kept buffers as their `out`/`into` arguments; any other op runs its own forward and
backward. What is the program's own: naming, buffer planning (shapes, layouts), the order
of the walk, the hand-over of `.grad`, and adding the gradients of an array used twice."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.capture import embedding, linear
from chainrule.capture.losses import write_loss
from chainrule.capture.record import INPUT, THE_INPUT, Entry
from chainrule.capture.update import form as update_form
from chainrule.capture.update import write_update
from chainrule.capture.writer import Writer, plain
from chainrule.ops import elementwise, fused, linalg, movement
from chainrule.ops.elementwise import Relu, Sigmoid, Tanh
from chainrule.ops.linalg import few_rows_first
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.sgd import SGD
from chainrule.tensor import Tensor

# The elementwise ops whose kernels a program calls: op -> (module, kernel prefix, the
# forward's buffers besides `out`); `<prefix>_forward(x, out, *scratch)` and
# `<prefix>_backward(grad, out, *BACKWARD_BUFFERS[prefix])` are the ops' own formulas.
KERNELS: dict[type, tuple[Any, str, tuple[str, ...]]] = {
    Relu: (elementwise, "relu", ()),
    Tanh: (elementwise, "tanh", ()),
    Sigmoid: (elementwise, "sigmoid", ("e", "d", "mask")),
}
BACKWARD_BUFFERS = {"relu": ("grad", "mask"), "tanh": ("grad",), "sigmoid": ("grad", "one_minus")}


class Program:
    """One training step for one input shape, written out as a Python function
    `run(x, y, update) -> loss`: forward, loss, backward, and (when `update` is true) the
    optimizer's update when it is written out (`chainrule.capture.update`).

    Names: h<i> is the output of op i and dh<i> its gradient; p_<name> is the array of the
    parameter <name> (as in model.named_parameters(), dots as underscores) and d_<name> its
    gradient. Parameters are read from `tensor[<name>]` at every step, so in-place updates
    and load_state_dict reach the program.
    """

    kernel_ops = KERNELS  # (capture.linear reads it: no import cycle)

    def __init__(
        self,
        entries: list[Entry],
        x: np.ndarray,
        names: dict[int, str],
        loss_fn: Any,
        loss_and_gradient: Callable[..., Any],
        optimizer: Optimizer,
    ) -> None:
        self.entries, self.example_input, self.parameter_names = entries, x, names
        self.write = Writer()
        self.write.bind("loss_and_gradient", loss_and_gradient)
        self.tensors: dict[str, Tensor] = {}  # parameter name -> Tensor
        self.arrays: dict[str, str] = {}  # parameter name -> the name of its array
        self.write.bind("tensor", self.tensors)
        self.grad_state: dict[str, str] = {}  # gradient name -> "set" or "maybe None"
        # parameter gradient name -> the kept buffer it is (a kernel's result into it)
        self.grad_buffers: dict[str, str] = {}
        # how many ops read each op's output, and the Linears whose bias gradient the
        # activation above them sums (ops.fused)
        self.uses = Counter(s for e in entries for s in e.sources if type(s) is int)
        self.bias_summed: set[int] = set()
        self.fast_arrays: list[str] = []  # the arrays the step's `fast` test checks (linear)
        self.uses_numba = False  # whether the step reads `numba` (linear)
        self.window = False  # whether a product is in kernels.blas's thread window (linear)
        # gradients that are a kernel's kept buffer as it wrote it (layout and dtype known at
        # the recording); a Linear's backward checks any other at every step (linear)
        self.kernel_grads: set[str] = set()
        # lookups of the input by the compiled loop, and the rows' gradient each reads
        # (capture.embedding)
        self.gathered: set[int] = set()
        self.rows_grad: dict[int, str] = {}
        # parameter array name -> its gradient's name (p_<name> -> d_<name>); the loss may
        # begin it (the bias of the Linear below it: capture.losses)
        self.parameter_grads: dict[str, str] = {}
        self._forward()
        write_loss(self, loss_fn)
        self._backward(optimizer)
        # the update is written out for these groups in this form only (CompiledStep checks)
        self.groups, self.written = optimizer.param_groups, write_update(self, optimizer)
        self.form = update_form(optimizer) if self.written is not None else None
        # plain SGD reads no state: with the form unchanged, no state check is needed
        self.stateless = type(optimizer) is SGD and not any(
            g["momentum"] for g in optimizer.param_groups
        )
        reads = [f"    {name} = tensor[{key!r}]._data" for key, name in self.arrays.items()]
        reads += linear.finish(self)
        self.code = "\n".join(["def run(x, y, update):", *reads, *self.write.lines,
                               "    return loss", ""])  # fmt: skip
        exec(compile(self.code, "<compile_step>", "exec"), self.write.namespace)  # noqa: S102
        self.run: Callable[[np.ndarray, Any, bool], Tensor] = self.write.namespace["run"]

    # ------------------------------------------------------------------ naming
    def _name(self, source: Any) -> str:
        """The name of an op's input: x, h<i>, or p_<name> for a parameter or constant."""
        if source is INPUT:
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
        if source is INPUT:
            return self.example_input
        if type(source) is int:
            return self.entries[source].example
        return np.asarray(source._data)

    def _is_lookup_of_input(self, entry: Entry) -> bool:
        """An Embedding's lookup of the model's input (int64 indices: CompiledStep casts)."""
        return (
            entry.op is movement.EmbeddingLookup
            and entry.options.get("index") is THE_INPUT
            and self.example_input.dtype == np.int64
        )

    def _is_linear_on_rows(self, entry: Entry) -> bool:
        return entry.op is linalg.Linear and self._example(entry.sources[0]).ndim == 2

    # ------------------------------------------------------------------ forward
    def _forward(self) -> None:
        """Each op's forward into its kept buffers: Linear on rows, ReLU, Tanh and Sigmoid
        through their kernels in ops/ (the functions their Function.forward calls), any
        other op through its own `forward` on a node kept for its backward."""
        write = self.write
        skip = -1  # an activation written with the Linear below it
        for index, entry in enumerate(self.entries):
            if index == skip:
                continue
            names = [self._name(s) for s in entry.sources]
            out = f"h{index}"
            kernel = KERNELS.get(entry.op)
            if self._fuses_forward(index):
                self._linear_activation(index, entry, names)
                skip = index + 1
            elif self._is_linear_on_rows(entry):
                x, weight = self._example(entry.sources[0]), self._example(entry.sources[1])
                write(f"# {index}: Linear {weight.shape[1]} -> {weight.shape[0]}: x Wᵀ + b")
                # out laid out as linear_forward's product gives it (few_rows_first),
                # decided here once rather than by the kernel at every step
                short = few_rows_first(x, weight.T)
                buffer = write.buffer(f"out{index}", x, (len(x), len(weight)), short)
                bias = names[2] if len(names) == 3 else "None"
                call = self._kernel(linalg, "linear_forward")
                line = f"{out} = {call}({names[0]}, {names[1]}, {bias}, {buffer}, {short})"
                if not linear.write_forward(self, index, entry, names, buffer, short, line):
                    write(line)
            elif kernel is not None:
                module, name, scratch = kernel
                write(f"# {index}: {entry.op.__name__}")
                buffers = [write.buffer(f"out{index}", entry.example)]
                for part in scratch:  # the temporaries the kernel writes (a bool mask)
                    like = entry.example.astype(bool) if part == "mask" else entry.example
                    buffers.append(write.buffer(f"{part}{index}", like))
                call = self._kernel(module, f"{name}_forward")
                write(f"{out} = {call}({names[0]}, {', '.join(buffers)})")
            elif entry.op is movement.Reshape:  # a view, or a copy where NumPy needs one
                if not embedding.write_reshape(self, index, entry):
                    write(f"# {index}: Reshape to {entry.example.shape}")
                    write(f"{out} = {names[0]}.reshape({entry.example.shape!r})")
            elif self._is_lookup_of_input(entry):
                embedding.write_lookup(self, index, entry, names)
            else:  # any other op: its own forward, on a node kept for its backward
                node = write.bind(f"node{index}", entry.op.__new__(entry.op))
                write.namespace[node].needs_input_grad = entry.needs_input_grad
                kept = {k: v for k, v in entry.options.items() if v is not THE_INPUT}
                options = write.bind(f"options{index}", kept)
                given = "".join(f", {k}=x" for k, v in entry.options.items() if v is THE_INPUT)
                write(f"# {index}: {plain(entry.op.__name__)}")
                write(f"{out} = np.asarray({node}.forward({', '.join(names)}, **{options}{given}))")

    def _fuses_forward(self, index: int) -> bool:
        """Whether op `index` is a Linear on rows with a bias whose output only the next op
        reads, an activation that ops.fused writes with it (its kernels not patched)."""
        entry, after = self.entries[index], self.entries[index + 1 : index + 2]
        if not (after and self._is_linear_on_rows(entry) and len(entry.sources) == 3
                and after[0].sources == (index,) and self.uses[index] == 1):  # fmt: skip
            return False
        kernel = KERNELS.get(after[0].op)
        pair = fused.FORWARD.get(kernel[1]) if kernel is not None else None
        return pair is not None and fused.intact(pair[1])

    def _linear_activation(self, index: int, entry: Entry, names: list[str]) -> None:
        """Linear `index` and the activation after it: one ops.fused call (the product into
        out<index>, the activation into out<index + 1>)."""
        write, after = self.write, self.entries[index + 1]
        x, weight = self._example(entry.sources[0]), self._example(entry.sources[1])
        activation = after.op.__name__
        write(f"# {index}, {index + 1}: Linear {weight.shape[1]} -> {weight.shape[0]} and "
              f"{activation}: x Wᵀ + b, then the activation")  # fmt: skip
        short = few_rows_first(x, weight.T)
        product = write.buffer(f"out{index}", x, (len(x), len(weight)), short)
        buffers = [write.buffer(f"out{index + 1}", after.example)]
        _, name, scratch = KERNELS[after.op]
        for part in scratch:  # the activation's temporaries, as its own forward has them
            like = after.example.astype(bool) if part == "mask" else after.example
            buffers.append(write.buffer(f"{part}{index + 1}", like))
        function, _ = fused.FORWARD[name]
        call = self._kernel(fused, function.__name__)
        arguments = f"{', '.join(names)}, {product}, {', '.join(buffers)}, {short}"
        line = f"h{index + 1} = {call}({arguments})"
        if name != "relu" or not linear.write_forward(
            self, index, entry, names, product, short, line, relu=buffers[0]
        ):
            write(line)

    def _kernel(self, module: Any, name: str) -> str:
        """Bind the op's kernel `module.name` into the program, as it is now (a test that
        patches it sees the program change with the eager op)."""
        return self.write.bind(name, getattr(module, name))

    # ------------------------------------------------------------------ backward
    def _backward(self, optimizer: Optimizer) -> None:
        """Each op's backward, last op first, through the same kernels as forward (or the
        op's own `backward`); gradients of an array used twice add up (the copy gate)."""
        write = self.write
        parameter_grads = self.parameter_grads  # p_<name> -> d_<name>
        for index in range(len(self.entries) - 1, -1, -1):
            entry = self.entries[index]
            grad = f"dh{index}"
            state = self.grad_state.get(grad)
            if state is None:
                continue  # no gradient reaches this op
            targets: list[str | None] = []  # per input: the gradient it adds to
            for position, (source, needed) in enumerate(
                zip(entry.sources, entry.needs_input_grad, strict=True)
            ):
                if not needed or source is INPUT or (position == 2 and index in self.bias_summed):
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
            kernel = KERNELS.get(entry.op)
            if self._is_linear_on_rows(entry):
                self._linear_backward(index, entry, targets)
            elif kernel is not None and self._sums_bias_below(index, entry, state, targets):
                self._activation_bias_backward(index, entry, parameter_grads)
            elif kernel is not None:
                module, name, _ = kernel
                write(f"# {index}: {entry.op.__name__} backward")
                buffers = [write.buffer(f"{part}{index}", entry.example.astype(bool)
                                        if part == "mask" else entry.example)
                           for part in BACKWARD_BUFFERS[name]]  # fmt: skip
                call = self._kernel(module, f"{name}_backward")
                self._add(targets[0], f"{call}({grad}, h{index}, {', '.join(buffers)})", False,
                          kept=True)  # fmt: skip
            elif entry.op is movement.Reshape:
                if not embedding.write_reshape_backward(self, index, entry, targets):
                    shape = self._example(entry.sources[0]).shape
                    write(f"# {index}: Reshape backward: the gradient in the input's shape")
                    self._add(targets[0], f"{grad}.reshape({shape!r})", False)
            elif self._is_lookup_of_input(entry):
                embedding.write_lookup_backward(self, index, entry, targets)
            else:
                self._generic_backward(index, entry, targets)
            if state == "maybe None":
                write.indent -= 1
        optimized = {id(p) for group in optimizer.param_groups for p in group["params"]}
        self._hand_over(parameter_grads, optimized)

    def _sums_bias_below(self, index: int, entry: Entry, state: str,
                         targets: list[str | None]) -> bool:  # fmt: skip
        """Whether activation `index`'s backward can sum the bias gradient of the Linear on
        rows below it (ops.fused): that Linear's output read only here, its gradient and its
        bias's not begun, the kernels not patched."""
        source = entry.sources[0]
        pair = fused.BACKWARD.get(KERNELS[entry.op][1])
        if (state != "set" or type(source) is not int or targets[0] is None or pair is None
                or self.uses[source] != 1 or not fused.intact(pair[1])):  # fmt: skip
            return False
        below = self.entries[source]
        if not (self._is_linear_on_rows(below) and len(below.sources) == 3
                and below.needs_input_grad[2]):  # fmt: skip
            return False
        bias = "d" + self._name(below.sources[2])[1:]
        return targets[0] not in self.grad_state and bias not in self.grad_state

    def _activation_bias_backward(self, index: int, entry: Entry,
                                  parameter_grads: dict[str, str]) -> None:  # fmt: skip
        """The activation's backward and the bias gradient Σ_rows of it of the Linear below,
        in one ops.fused call; that Linear's backward then leaves its bias out."""
        write, source = self.write, entry.sources[0]
        below = self.entries[source]
        name = KERNELS[entry.op][1]
        array = self._name(below.sources[2])
        bias = parameter_grads.setdefault(array, "d" + array[1:])
        weight = self._example(below.sources[1])
        write(f"# {index}: {entry.op.__name__} backward, and {source}: Linear's db = Σ of it")
        buffers = [write.buffer(f"{part}{index}", entry.example.astype(bool)
                                if part == "mask" else entry.example)
                   for part in BACKWARD_BUFFERS[name]]  # fmt: skip
        buffers.append(write.buffer(f"db{source}", weight, weight.shape[:1]))
        call = self._kernel(fused, fused.BACKWARD[name][0].__name__)
        line = f"dh{source}, {bias} = {call}(dh{index}, h{index}, {', '.join(buffers)})"
        if not linear.write_bias_backward(self, index, entry, name, buffers,
                                          f"dh{source}, {bias}", line):  # fmt: skip
            write(line)
        self.grad_state[f"dh{source}"] = self.grad_state[bias] = "set"
        self.kernel_grads.add(f"dh{source}")
        self.grad_buffers[bias] = buffers[-1]  # the gradient is the kept buffer itself
        self.bias_summed.add(source)

    def _hand_over(self, parameter_grads: dict[str, str], optimized: set[int]) -> None:
        """Set each parameter's .grad as backward does: the program's buffer as it is (no
        copy; the step's zero_grad() has set the optimizer's parameters' .grad to None) in
        a tensor kept for it, added to the .grad of a parameter the optimizer does not
        hold; gradients from an op's own backward go through autograd.accumulate (which
        copies shared arrays)."""
        write, keys = self.write, {name: key for key, name in self.arrays.items()}
        if "maybe None" in {self.grad_state.get(grad) for grad in parameter_grads.values()}:
            write("handed_out = set()")
        for array, grad in parameter_grads.items():
            tensor = f"tensor[{keys[array]!r}]"
            if self.grad_state.get(grad) == "maybe None":
                write(f"if {grad} is not None:")
                write(f"    accumulate({tensor}, {grad}, handed_out)")
            elif id(self.tensors[keys[array]]) in optimized:
                # one .grad tensor kept per parameter (the step's zero_grad() set .grad to
                # None), holding this step's gradient; the next step overwrites the buffer,
                # as it did before through a new tensor on the same buffer
                kept = write.bind(f"g{array[1:]}", Tensor._make(np.empty(0), False))
                write(f"{kept}._data = {grad}")
                write(f"{tensor}.grad = {kept}")
            elif self.grad_state.get(grad) == "set":
                write(f"if {tensor}.grad is None:")
                write(f"    {tensor}.grad = make({grad}, False)")
                write("else:")
                write(f"    {tensor}.grad._data = {tensor}.grad._data + {grad}")

    def _linear_backward(self, index: int, entry: Entry, targets: list[str | None]) -> None:
        """ops.linalg.linear_backward (dx = G W, dW = Gᵀ x, db = Σ G) into the program's
        buffers; a part whose gradient already has a value is added to it."""
        write, grad = self.write, f"dh{index}"
        x, weight = self._example(entry.sources[0]), self._example(entry.sources[1])
        names = [self._name(s) for s in entry.sources]
        summed = " (db = Σ G: above)" if index in self.bias_summed else ", db = Σ G"
        write(f"# {index}: Linear backward: dx = G W, dW = Gᵀ x{summed}")
        shapes = [x.shape, weight.shape, weight.shape[:1]][: len(targets)]
        short = few_rows_first(entry.example, weight)  # dx's layout, as linear_backward's
        buffers = [
            write.buffer(f"{part}{index}", x if part == "dx" else weight, shape,
                         transposed=part == "dx" and short)
            if target else "None"
            for part, shape, target in zip(("dx", "dw", "db"), shapes, targets, strict=False)
        ]  # fmt: skip
        if len(targets) == 2:
            buffers.append("None")  # no bias: db
        results: list[str] = []  # where each part goes: the gradient itself when new
        for position, target in enumerate(targets):
            new = target is not None and target not in self.grad_state
            results.append(str(target) if new else f"part{position}" if target else "_")
        needs = tuple(target is not None for target in targets)
        call = self._kernel(linalg, "linear_backward")
        line = (f"{', '.join(results)} = {call}({grad}, {names[0]}, {names[1]}, {needs!r}, "
                f"{', '.join(buffers)}, {short})")  # fmt: skip
        if not linear.write_backward(self, index, entry, names, results, buffers, short, line):
            write(line)
        for target, result, buffer in zip(targets, results, buffers, strict=False):
            if target is not None and result == target:
                self.grad_state[target] = "set"
                self.kernel_grads.add(target)
                if target.startswith("d_"):  # a parameter's gradient: the buffer itself
                    self.grad_buffers[target] = buffer
            elif target is not None:
                self._add(target, result, maybe_none=False)

    def _generic_backward(self, index: int, entry: Entry, targets: list[str | None]) -> None:
        """The op's own backward; each part reduced to its input's shape, as the engine does."""
        write = self.write
        write(f"# {index}: {plain(entry.op.__name__)} backward")
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

    def _add(self, target: str | None, expression: str, maybe_none: bool,
             kept: bool = False) -> None:  # fmt: skip
        """target (+)= expression, where expression may be None for the ops' own backward;
        `kept`: the expression is a kernel's result into its kept buffer."""
        assert target is not None
        state = self.grad_state.get(target)
        if state is not None:  # a sum: a new array, not the kept buffer
            self.grad_buffers.pop(target, None)
            self.kernel_grads.discard(target)
        if state is None:
            self.write(f"{target} = {expression}")
            self.grad_state[target] = "maybe None" if maybe_none else "set"
            if kept:
                self.kernel_grads.add(target)
        elif state == "set" and not maybe_none:
            self.write(f"{target} = {target} + {expression}")
        else:
            self.write(f"{target} = add_grad({target}, {expression})")
