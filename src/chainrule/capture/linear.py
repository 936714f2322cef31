"""A Linear layer on a batch of rows, written into a captured program as the calls
`ops.linalg.linear_forward`/`linear_backward` (and `ops.fused.linear_relu_forward`) make
for its shapes, decided once at record time rather than at every step:

    forward:   y = x Wᵀ + b      the product into y's buffer, then b added in place
    backward:  dx = G W,  dW = Gᵀ x  (db = Σ_rows G: `kernels.bias.column_sum`)

Shapes: x (N, in), W (out, in), b (out,), G (N, out). The product is `batch_product`'s:
a short batch (2N <= out: `ops.linalg.few_rows_first`) as (W xᵀ)ᵀ into the transpose of a
C-ordered buffer, otherwise x Wᵀ; `np.matmul`, or `kernels.blas.matmul` (one BLAS thread)
for a product in `kernels.blas.one_thread`'s window, as the kernels choose. With numba the
bias is `kernels.bias.add_bias_loop` (`kernels.bias_activation.bias_relu_loop` with a ReLU
after it), else NumPy's add (the fused call's NumPy twin).

Why: on a small layer the kernels' own choices (product and layout, the loop's fit
checks, the thread window) cost about as much as the product itself, ~1-3 us a layer and
direction (docs/speed.md), and they come out the same at every step of one input shape.

The same calls on the same arrays, so the same numbers bit for bit. What the kernels
check at every call and the program cannot know at record time is checked once a step,
for all layers (`fast`): numba still on (`set_numba_enabled`, tests), and each bias still
the array recorded (``p.data = ...`` may give another dtype or shape); when it fails, the
layer calls the kernels as before. The program writes these calls only while the
kernels are the library's own (`ops.fused.intact`: a patched kernel, in a test or an
experiment, is called as it is)."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.kernels import bias, bias_activation, blas, numba_enabled
from chainrule.kernels.bias import add_bias_fits, column_sum
from chainrule.ops import fused

__all__ = ["finish", "product", "write_backward", "write_forward"]


def _product_name(program: Any, rows: int, inputs: int, outputs: int) -> str:
    """The matmul the kernels use for a product of rows x inputs x outputs multiply-adds."""
    if blas.one_thread(rows, inputs, outputs):
        return program.write.bind("one_thread_matmul", blas.matmul)
    return "np.matmul"


def product(program: Any, a: str, b: str, out: str, rows: int, inputs: int, outputs: int) -> str:
    """The product a @ b into `out` as `ops.linalg`'s kernels call it for these sizes."""
    return f"{_product_name(program, rows, inputs, outputs)}({a}, {b}, {out})"


def _guard(program: Any, array: str) -> None:
    """Check `array` (a bias) is the one recorded, in the step's `fast` test."""
    if array not in program.fast_arrays:
        program.fast_arrays.append(array)


def _guarded(program: Any, fast: list[str], fallback: str) -> None:
    """`fast` under ``if fast:``, `fallback` (the kernel's call) otherwise."""
    write = program.write
    write("if fast:")
    for line in fast:
        write(f"    {line}")
    write("else:")
    write(f"    {fallback}")


def write_forward(
    program: Any, index: int, x: np.ndarray, weight: np.ndarray, names: list[str],
    out: str, short: bool, fallback: str, relu: str | None = None,
) -> bool:  # fmt: skip
    """Write Linear `index`'s forward into `out` (and the ReLU after it into `relu`, with
    the fused call's result named h<index + 1>), or nothing and False when its kernels are
    patched or its bias does not take the compiled loop at record time. `fallback`: the
    kernel call for a step where `fast` fails."""
    own = ("linear_forward", "relu_forward") if relu else ("linear_forward",)
    if not fused.intact(own):
        return False
    write, namespace = program.write, program.write.namespace
    rows, inputs, outputs = len(x), weight.shape[1], weight.shape[0]
    source, parameter = names[0], names[1]
    if short:  # (W xᵀ)ᵀ: W (out, in) @ xᵀ (in, N) into the buffer's transpose
        call = product(program, parameter, f"{source}.T", f"{out}.T", rows, inputs, outputs)
    else:
        call = product(program, source, f"{parameter}.T", out, rows, inputs, outputs)
    result = f"h{index + 1}" if relu else f"h{index}"
    if len(names) == 2:  # no bias: the product is the layer
        write(call)
        write(f"{result} = {out}")
        return True
    bias_array, buffer = names[2], namespace[out]
    example_bias = program.tensors_by_array[bias_array]._data
    if relu:
        if not bias_activation.forward_fits(buffer, example_bias, namespace[relu]):
            return False
        module = write.bind("bias_activation", bias_activation)
        # looked up at every call: the module's name is a stand-in until its first call
        finish_line = f"{module}.bias_relu_loop({out}, {bias_array}, {relu})"
        fast_lines = [call, finish_line, f"{result} = {relu}"]
    else:
        if not add_bias_fits(buffer, example_bias):
            return False
        loop = write.bind("add_bias_loop", bias.add_bias_loop)
        fast_lines = [call, f"{loop}({out}, {bias_array})", f"{result} = {out}"]
    _guard(program, bias_array)
    _guarded(program, fast_lines, fallback)
    return True


def write_backward(
    program: Any,
    grad: str,
    source: str,
    parameter: str,
    x: np.ndarray,
    weight: np.ndarray,
    results: list[str],
    buffers: list[str],
    short: bool,
) -> bool:
    """Write dx = G W, dW = Gᵀ x, db = Σ G (each where its result is not "_") into the
    buffers, as `linear_backward` computes them; False, writing nothing, when that kernel
    is patched. Nothing here depends on numba or on the parameters' arrays beyond what the
    kernel reads itself, so no `fast` test: the same calls at every step."""
    if not fused.intact(("linear_backward",)):
        return False
    write = program.write
    rows, inputs, outputs = len(x), weight.shape[1], weight.shape[0]
    dx, dw, db = (results + ["_", "_", "_"])[:3]
    dx_buffer, dw_buffer, db_buffer = (buffers + ["None"] * 3)[:3]
    if dx != "_":
        if short:  # (Wᵀ Gᵀ)ᵀ into the buffer's transpose (its layout)
            call = product(program, f"{parameter}.T", f"{grad}.T", f"{dx_buffer}.T", rows,
                           inputs, outputs)  # fmt: skip
            write(call)
            write(f"{dx} = {dx_buffer}")
        else:  # matmul returns its `out`: the buffer itself
            write(f"{dx} = " + product(program, grad, parameter, dx_buffer, rows, inputs, outputs))
    if dw != "_":
        write(f"{dw} = " + product(program, f"{grad}.T", source, dw_buffer, rows, inputs, outputs))
    if db != "_":
        summed = write.bind("column_sum", column_sum)
        write(f"{db} = {summed}({grad}, {db_buffer})")
    return True


def finish(program: Any) -> str | None:
    """The step's `fast` test, written after the parameters are read (and after the update
    moved them into flat arrays: their arrays are bound now), or None when no layer needs
    it."""
    if not program.fast_arrays:
        return None
    write = program.write
    checks = [write.bind("numba_enabled", numba_enabled) + "()"]
    for array in program.fast_arrays:
        recorded = write.bind(f"k{array[1:]}", program.tensors_by_array[array]._data)
        checks.append(f"{array} is {recorded}")
    return "    fast = " + " and ".join(checks)
