"""A Linear layer on a batch of rows, written into a captured program as the calls
`ops.linalg.linear_forward`/`linear_backward` (and `ops.fused.linear_relu_forward`) make
for its shapes, decided once at record time rather than at every step:

    forward:   y = x Wᵀ + b      the product into y's buffer, then b added in place
    backward:  dx = G W,  dW = Gᵀ x,  db = Σ_rows G (`kernels.bias.column_sum`)

Shapes: x (N, in), W (out, in), b (out,), G (N, out). The product is `batch_product`'s:
a short batch (2N <= out: `ops.linalg.few_rows_first`) as (W xᵀ)ᵀ into the transpose of a
C-ordered buffer, otherwise x Wᵀ. It is made by ``ndarray.dot`` into the buffer (the gemm
np.matmul makes, bit for bit: tests/kernels/test_linear_products.py; the kernels make their
new products so, and dot skips the ufunc machinery, ~1 us a small product; a backward
product of at least `kernels.blas.OPENBLAS_SPLITS_AT` multiply-adds by np.matmul, the
kernel's call, which OpenBLAS ran faster there), or by `kernels.blas.matmul` (one BLAS
thread) in `kernels.blas.one_thread`'s window, as the kernels do. The bias is
`kernels.bias.add_bias_loop` with numba (`kernels.bias_activation.bias_relu_loop` with a
ReLU after it), NumPy's add without.

Why: on a small layer the kernels' own choices (product and layout, the fit checks of the
loops, the thread window) cost about as much as the product itself (docs/speed.md), and
they come out the same at every step of one input shape.

The same BLAS calls and loops on the same arrays, so the same numbers bit for bit. What
the kernels check at every call and the program cannot know at record time is checked at
every step: once for all layers (`fast`: every weight and bias still the array recorded,
which ``p.data = ...`` changes), and per operand for the model's input and for a
gradient that is not a kept buffer of the program (the loss's, an op's own backward's):
a C- or F-contiguous ndarray of the layer's dtype (`operand`). Where a test fails the
layer calls the kernels. Nothing is written here while the kernels are patched
(`ops.fused.intact`: a test or an experiment sees its kernel called)."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.capture.record import INPUT
from chainrule.kernels import FLOAT_DTYPES, bias, bias_activation, blas, numba_enabled
from chainrule.kernels.bias import column_sum
from chainrule.ops import elementwise, fused, movement

__all__ = ["finish", "operand", "write_backward", "write_bias_backward", "write_forward"]


def operand(array: Any, dtype: np.dtype[Any]) -> bool:
    """Whether `array` can be a written-out product's operand: an ndarray of `dtype`, C- or
    F-contiguous (the layouts for which ``ndarray.dot`` and np.matmul make one gemm)."""
    if type(array) is not np.ndarray or array.dtype != dtype:
        return False
    flags = array.flags
    return flags.c_contiguous or flags.f_contiguous


def _plain(array: np.ndarray, dtype: np.dtype[Any]) -> bool:
    return array.dtype in FLOAT_DTYPES and operand(array, dtype)


def _product(
    program: Any, a: str, b: str, out: str, sizes: tuple[int, int, int], backward: bool = False
) -> str:
    """a @ b into `out` as `ops.linalg`'s kernels make it for rows x inputs x outputs
    multiply-adds: ``ndarray.dot``, or in the thread window `kernels.blas.matmul` (one BLAS
    thread) unless BLAS runs one thread already (`single`, asked once a step: then that
    is np.matmul, the same gemm as dot). A `backward` product (dx = G W, dW = Gᵀ x) from
    `OPENBLAS_SPLITS_AT` multiply-adds on is np.matmul, the kernel's own call: the same
    numbers as dot, but dot ran these slower on the benchmark machine (docs/speed.md, "W1
    and W2, product by product": W2's dW0 211 → 195 µs on one thread, 213 → 179 on two),
    where for the forward's products it was as fast or faster (W1's first 617 against
    634 µs, 449 against 476)."""
    matmul = backward and sizes[0] * sizes[1] * sizes[2] >= blas.OPENBLAS_SPLITS_AT
    dot = f"np.matmul({a}, {b}, {out})" if matmul else f"{a}.dot({b}, {out})"
    if blas.one_thread(*sizes):
        program.window = True
        return (
            f"({dot} if single else {program.write.bind('one_thread_matmul', blas.matmul)}"
            f"({a}, {b}, {out}))"
        )
    return dot


def _checks(program: Any, operands: list[str], dtype: np.dtype[Any]) -> str:
    """The per-step test of a layer: `fast`, and `operand` for each of `operands`."""
    if not operands:
        return "fast"
    test = program.write.bind("operand", operand)
    kind = program.write.bind(f"dtype_{dtype.name}", dtype)
    return " and ".join(["fast", *(f"{test}({name}, {kind})" for name in operands)])


def _kept_output(program: Any, source: Any) -> bool:
    """Whether op `source`'s output is one of the program's kept buffers, laid out as
    recorded (an elementwise kernel's or a Linear's result, the input's lookup, a reshape
    of one: a view, or a C-ordered copy): not the model's input, a parameter, or an op's
    own forward's array."""
    if type(source) is not int or source == INPUT:
        return False
    entry = program.entries[source]
    if entry.op is movement.Reshape:
        return _kept_output(program, entry.sources[0])
    return (entry.op in program.kernel_ops or program._is_linear_on_rows(entry)
            or program._is_lookup_of_input(entry))  # fmt: skip


def _unknown_input(program: Any, source: Any, name: str) -> list[str]:
    """[name] when the layer's input is not a kept buffer of the program (the model's
    input, an op's own forward's output), whose layout the step must test; else []."""
    return [] if _kept_output(program, source) else [name]


def _arrays(program: Any) -> dict[str, Any]:
    """The name of a parameter's (or constant's) array in the program -> its Tensor."""
    return {name: program.tensors[key] for key, name in program.arrays.items()}


def _guarded(program: Any, test: str, fast: list[str], fallback: str) -> None:
    """`fast` under ``if <test>:``, `fallback` (the kernels' call) otherwise."""
    write = program.write
    write(f"if {test}:")
    for line in fast:
        write(f"    {line}")
    write("else:")
    write(f"    {fallback}")


def _recorded(program: Any, names: list[str], dtype: np.dtype[Any]) -> bool:
    """The layer's weight and bias take the written-out calls (as recorded), and the
    step's `fast` test will check that they are still those arrays."""
    arrays = _arrays(program)
    if not all(_plain(arrays[name]._data, dtype) for name in names[1:]):
        return False
    for name in names[1:]:
        if name not in program.fast_arrays:
            program.fast_arrays.append(name)
    return True


def write_forward(
    program: Any, index: int, entry: Any, names: list[str], out: str, short: bool,
    fallback: str, relu: str | None = None,
) -> bool:  # fmt: skip
    """Write Linear `index`'s forward into the buffer `out` (and the ReLU after it into
    the buffer `relu`; the result is then h<index + 1>), or nothing and False when its
    kernels are patched or its arrays do not take the written-out calls. `fallback`: the
    kernels' call, for a step where the tests fail."""
    own = ("linear_forward", "relu_forward") if relu else ("linear_forward",)
    if not fused.intact(own):
        return False
    write, namespace = program.write, program.write.namespace
    x, weight = program._example(entry.sources[0]), program._example(entry.sources[1])
    buffer = namespace[out]
    dtype = buffer.dtype
    if not (_plain(x, dtype) and _recorded(program, names, dtype)):
        return False
    if relu and namespace[relu].dtype != dtype:
        return False
    sizes = (len(x), weight.shape[1], weight.shape[0])
    source, parameter = names[0], names[1]
    if short:  # (W xᵀ)ᵀ: W (out, in) @ xᵀ (in, N) into the buffer's transpose
        lines = [_product(program, parameter, f"{source}.T", f"{out}.T", sizes)]
    else:
        lines = [_product(program, source, f"{parameter}.T", out, sizes)]
    result = f"h{index + 1}" if relu else f"h{index}"
    if len(names) == 3:
        program.uses_numba = True
        if relu:
            module = write.bind("bias_activation", bias_activation)
            kernel = write.bind("relu_forward", elementwise.relu_forward)
            # the loop is looked up at every call: the name is a stand-in until its first
            lines.append(f"{module}.bias_relu_loop({out}, {names[2]}, {relu}) if numba "
                         f"else {kernel}(np.add({out}, {names[2]}, {out}), {relu})")  # fmt: skip
        else:
            loop = write.bind("add_bias_loop", bias.add_bias_loop)
            lines.append(
                f"{loop}({out}, {names[2]}) if numba else np.add({out}, {names[2]}, {out})"
            )
    elif relu:
        kernel = write.bind("relu_forward", elementwise.relu_forward)
        lines.append(f"{kernel}({out}, {relu})")
    lines.append(f"{result} = {relu or out}")
    _guarded(program, _checks(program, _unknown_input(program, entry.sources[0], source), dtype),
             lines, fallback)  # fmt: skip
    return True


def write_backward(
    program: Any, index: int, entry: Any, names: list[str], results: list[str],
    buffers: list[str], short: bool, fallback: str,
) -> bool:  # fmt: skip
    """Write dx = G W, dW = Gᵀ x, db = Σ G (each where its result is not "_") into the
    buffers, as `linear_backward` computes them; False, writing nothing, when that kernel
    is patched or the arrays do not take the written-out calls. `fallback`: its call."""
    if not fused.intact(("linear_backward",)):
        return False
    write, namespace = program.write, program.write.namespace
    x, weight = program._example(entry.sources[0]), program._example(entry.sources[1])
    dtype = entry.example.dtype
    if not (_plain(x, dtype) and _recorded(program, names, dtype)):
        return False
    for buffer in buffers:
        if buffer != "None" and namespace[buffer].dtype != dtype:
            return False
    grad, source, parameter = f"dh{index}", names[0], names[1]
    sizes = (len(x), weight.shape[1], weight.shape[0])
    dx, dw, db = (results + ["_", "_", "_"])[:3]
    dx_buffer, dw_buffer, db_buffer = (buffers + ["None"] * 3)[:3]
    lines = []
    if dx != "_":
        if short:  # (Wᵀ Gᵀ)ᵀ into the buffer's transpose (its layout)
            lines += [_product(program, f"{parameter}.T", f"{grad}.T", f"{dx_buffer}.T", sizes,
                               True), f"{dx} = {dx_buffer}"]  # fmt: skip
        else:  # the product returns its `out`: the buffer itself
            lines.append(f"{dx} = " + _product(program, grad, parameter, dx_buffer, sizes, True))
    if dw != "_":
        lines.append(f"{dw} = " + _product(program, f"{grad}.T", source, dw_buffer, sizes, True))
    if db != "_":
        lines.append(f"{db} = {write.bind('column_sum', column_sum)}({grad}, {db_buffer})")
    operands = _unknown_input(program, entry.sources[0], source) if dw != "_" else []
    if grad not in program.kernel_grads:  # the loss's, or an op's own backward's
        operands.append(grad)
    _guarded(program, _checks(program, operands, dtype), lines, fallback)
    return True


def write_bias_backward(
    program: Any, index: int, entry: Any, name: str, buffers: list[str], results: str,
    fallback: str,
) -> bool:  # fmt: skip
    """Write activation `index`'s backward with the bias gradient of the Linear below,
    R = f'(y)·G and db = Σ_rows R (`ops.fused.<name>_bias_backward`), as its compiled loop
    (`kernels.bias_activation.<name>_bias_loop`) called into the buffers when numba is on,
    the fused function otherwise; False, writing nothing, when the loop does not take the
    buffers at the recording (or numba is off then). `buffers`: the function's, the
    result's first, db's last."""
    namespace, grad = program.write.namespace, f"dh{index}"
    out = namespace.get(f"out{index}")  # the activation's output: its kept buffer
    into, db = namespace[buffers[0]], namespace[buffers[-1]]
    if out is None or not _kept_output(program, index):
        return False
    # bias_activation.backward_fits but numba (read at every step), G checked below
    shape, kind = into.shape, into.dtype
    if not (len(shape) == 2 and out.shape == shape and db.shape == shape[1:]
            and out.dtype == kind and db.dtype == kind and kind in FLOAT_DTYPES
            and (into.flags.c_contiguous or into.flags.f_contiguous)):  # fmt: skip
        return False
    program.uses_numba = True
    test = "numba"
    if grad not in program.kernel_grads:  # the loss's, or an op's own backward's
        test = _checks(program, [grad], into.dtype).replace("fast", "numba", 1)
    module = program.write.bind("bias_activation", bias_activation)
    # the loop is looked up at every call: the name is a stand-in until its first
    lines = [f"{module}.{name}_bias_loop({grad}, h{index}, {buffers[0]}, {buffers[-1]})",
             f"{results} = {buffers[0]}, {buffers[-1]}"]  # fmt: skip
    _guarded(program, test, lines, fallback)
    return True


def finish(program: Any) -> list[str]:
    """The step's tests, written after the parameters are read (and after the update
    moved them into flat arrays: their arrays are bound now): `fast`, and `numba` when a
    bias is added by a compiled loop."""
    if not program.fast_arrays:
        return []
    write = program.write
    checks = []
    for array in program.fast_arrays:
        recorded = write.bind(f"k{array[1:]}", _arrays(program)[array]._data)
        checks.append(f"{array} is {recorded}")
    lines = ["    fast = " + " and ".join(checks)]
    if program.uses_numba:
        lines.append(f"    numba = {write.bind('numba_enabled', numba_enabled)}()")
    if program.window:
        lines.append(f"    single = not {write.bind('lowers_threads', blas.lowers_threads)}()")
    return lines
