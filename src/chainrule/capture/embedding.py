"""An Embedding's lookup of the model's input, and the reshape that concatenates its rows
(the names model, `chainrule.text.CharMLP`), written into a captured program:

    forward:   H[n, c] = T[x[n, c]]            x (N, k) int64, T (V, D) -> H (N, k, D)
               H.reshape(N, k·D)               a view of H's kept buffer, made once
    backward:  dT = 0;  dT[x[n, c]] += G[n, c·D : (c + 1)·D]   for n, c in order
               (G (N, k·D): the gradient of the reshape's output, read as it is)

With numba, each way is one compiled loop called straight from the program
(`kernels.embedding.gather_rows_loop`, `scatter_rows_loop`): the ops' kernels
(`ops.movement.embedding_lookup`, `embedding_backward`) test their arrays, reshape the
index and the rows and then call loops of their own, about 5 µs a step each way for the
names model's 64 x 3 lookups of 10 values against ~1 µs for the loop. The loops do the
kernels' operations in the kernels' order (a copy; the additions in the order of the flat
index), so the numbers are the same bit for bit. What the program cannot know at the
recording is tested at every step: numba on and the table still the array recorded
(`fast`, `capture.linear.finish`); else, and for any other lookup (an index of another
rank, a padding row, a table used twice), the ops' kernels as before.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.kernels import FLOAT_DTYPES
from chainrule.kernels import embedding as loops
from chainrule.nn.functional._common import out_of_range
from chainrule.ops import movement

__all__ = ["embedding_range", "write_lookup", "write_lookup_backward",
           "write_reshape", "write_reshape_backward"]  # fmt: skip


def embedding_range(x: np.ndarray, rows: int) -> None:
    """The eager lookup's error (nn.functional.embedding) for an index out of range."""
    bad = out_of_range(x, rows)
    raise IndexError(f"embedding: index {bad} is out of range for a table of {rows} rows")


def _table(program: Any, entry: Any) -> np.ndarray:
    return np.asarray(program._example(entry.sources[0]))


def _loops_fit(program: Any, entry: Any, names: list[str]) -> bool:
    """Whether the compiled loops take this lookup (numba on is tested at every step): a
    2-D index, a float table C- or F-contiguous of the output's dtype,
    no padding row; the table then joins the step's `fast` test."""
    table, x = _table(program, entry), program.example_input
    if not (x.ndim == 2 and table.ndim == 2
            and table.dtype in FLOAT_DTYPES and table.dtype == entry.example.dtype
            and (table.flags.c_contiguous or table.flags.f_contiguous)
            and entry.options.get("padding_idx") is None
            and names[0] in program.arrays.values()):  # fmt: skip
        return False
    if names[0] not in program.fast_arrays:
        program.fast_arrays.append(names[0])
    program.uses_numba = True
    return True


def write_lookup(program: Any, index: int, entry: Any, names: list[str]) -> None:
    """Op `index`, the lookup of the input: the rows into its kept buffer out<index>."""
    write = program.write
    rows = len(_table(program, entry))
    write(f"# {index}: Embedding: the rows of the table the input picks")
    write.bind("embedding_range", embedding_range)
    buffer = write.buffer(f"out{index}", entry.example)
    call = program._kernel(movement, "embedding_lookup")  # checks the range too
    lookup = f"{call}({names[0]}, x, {buffer})"
    if _loops_fit(program, entry, names):
        module = write.bind("embedding_loops", loops)
        # the loop is looked up at every call: the name is a stand-in until its first
        lookup = (f"({module}.gather_rows_loop({names[0]}, x, {buffer}) if numba and fast "
                  f"else {lookup})")  # fmt: skip
        program.gathered.add(index)
    write(f"if not {lookup}:  # an index outside 0..{rows - 1}")
    write(f"    embedding_range(x, {rows})  # the eager lookup's IndexError")
    write(f"h{index} = {buffer}")


def _concatenates(program: Any, index: int, entry: Any) -> bool:
    """Whether Reshape `index` makes the rows (N, k·D) of the lookup (N, k, D) below it."""
    source = entry.sources[0]
    if type(source) is not int or not program._is_lookup_of_input(program.entries[source]):
        return False
    shape = program.entries[source].example.shape
    return len(shape) == 3 and entry.example.shape == (shape[0], shape[1] * shape[2])


def write_reshape(program: Any, index: int, entry: Any) -> bool:
    """Reshape `index` of the lookup's kept buffer: a view of it made once (the buffer is
    C-ordered, so NumPy's reshape is a view at every step); False for any other reshape."""
    if not _concatenates(program, index, entry):
        return False
    source = entry.sources[0]
    buffer = program.write.namespace[f"out{source}"]
    view = buffer.reshape(entry.example.shape)
    if not np.shares_memory(view, buffer):
        return False
    name = program.write.bind(f"rows{index}", view)
    program.write(f"# {index}: Reshape to {entry.example.shape}: a view of out{source}")
    program.write(f"h{index} = {name}")
    return True


def write_reshape_backward(program: Any, index: int, entry: Any, targets: list[Any]) -> bool:
    """The concatenating reshape's backward, left to the lookup's loop (which reads the
    rows' gradient dh<index> as it is) when that loop runs: the gradient a kernel's kept
    buffer, the lookup's gradient not begun. The fallback's reshape goes there too."""
    source = entry.sources[0]
    grad, target = f"dh{index}", targets[0]
    if not (_concatenates(program, index, entry)
            and source in program.gathered
            and program.uses[source] == 1 and target == f"dh{source}"
            and target not in program.grad_state and grad in program.kernel_grads
            and program.grad_state.get(grad) == "set"
            and program.write.namespace[f"out{source}"].dtype == entry.example.dtype):  # fmt: skip
        return False
    program.rows_grad[source] = grad
    program.grad_state[target] = "set"
    program.write(f"# {index}: Reshape backward: the lookup's loop reads {grad} as it is")
    return True


def write_lookup_backward(program: Any, index: int, entry: Any, targets: list[Any]) -> None:
    """The lookup's backward: each row's gradient added into its table row, into the kept
    buffer dtable<index>."""
    write, target = program.write, targets[0]
    table = _table(program, entry)
    write(f"# {index}: Embedding backward: each row's gradient into its table row")
    buffer = write.buffer(f"dtable{index}", table, table.shape)
    call = program._kernel(movement, "embedding_backward")
    padding = entry.options.get("padding_idx")
    grad = f"dh{index}"
    rows = program.rows_grad.get(index)
    if rows is not None:  # the reshape's gradient (N, k·D), read by the loop as it is
        if target not in program.grad_state:
            program.grad_buffers[str(target)] = buffer
            program.grad_state[target] = "set"
            module = write.bind("embedding_loops", loops)
            write("if numba and fast:")
            write(f"    {module}.scatter_rows_loop({buffer}, x, {rows})")
            write(f"    {target} = {buffer}")
            write("else:")
            write(f"    {target} = {call}({rows}.reshape({entry.example.shape!r}), x, "
                  f"{table.shape!r}, {padding!r}, {buffer})")  # fmt: skip
            return
        grad = f"{rows}.reshape({entry.example.shape!r})"
    if target not in program.grad_state:
        program.grad_buffers[str(target)] = buffer
    program._add(target, f"{call}({grad}, x, {table.shape!r}, {padding!r}, {buffer})", False)
