"""The loss of a captured program, written out for plain cross-entropy on class indices
(the kernels of ops.loss.CrossEntropyIndex, called into kept buffers) and the mean squared
error; any other loss (or targets these do not take) runs eagerly on the program's output
through `loss_and_gradient`."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.capture import linear
from chainrule.kernels import FLOAT_DTYPES, numba_enabled
from chainrule.kernels import bias as bias_sums
from chainrule.kernels import embedding as embedding_loops
from chainrule.kernels.embedding import indices_below
from chainrule.nn.functional import mse_loss
from chainrule.nn.modules.loss import CrossEntropyLoss, MSELoss
from chainrule.ops import fused
from chainrule.ops import loss as loss_ops


def write_loss(program: Any, loss_fn: Any) -> None:
    """loss and dh<last>: plain cross-entropy on class indices through the op's kernels
    `cross_entropy_forward`/`cross_entropy_backward` (much of a small step), the mean
    squared error written out; any other loss, or targets these do not take, through
    loss_and_gradient (the eager loss on the output)."""
    write, last = program.write, len(program.entries) - 1
    logits = program.entries[-1].example
    program.grad_state[f"dh{last}"] = "set"
    if (type(loss_fn) is MSELoss and loss_fn.reduction == "mean") or loss_fn is mse_loss:
        _write_mse(program, logits)
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
    write.bind("scale", np.ones((), logits.dtype) / float(n) if mean else np.ones((), logits.dtype))
    write(f"# loss: cross-entropy ({loss_fn.reduction}) of h{last} and the classes y")
    write("target = y._data if type(y) is Tensor else y")
    loops, bias_sum = _write_loops(program, logits, mean)
    write(f"{'elif' if loops else 'if'} (type(target) is np.ndarray and target.dtype == np.int64")
    write.bind("indices_below", indices_below)
    write(f"        and target.shape == ({n},) and indices_below(target, {classes})):")
    total = f"losses.sum() / {float(n)!r}" if mean else "losses.sum()"
    pair, kernels = fused.LOSS
    if fused.intact(kernels):  # the two kernels as one call (ops.fused: not patched)
        both = write.bind(pair.__name__, pair)
        write(f"    losses, softmax, dh{last} = {both}(h{last}, target, rows, row_max, "
              "shifted, exp, scale, d_logits)")  # fmt: skip
        write(f"    loss = make(np.asarray({total}), False)")
        _write_else(write, last, bias_sum)
        return
    forward = write.bind("cross_entropy_forward", loss_ops.cross_entropy_forward)
    backward = write.bind("cross_entropy_backward", loss_ops.cross_entropy_backward)
    write(f"    losses, softmax = {forward}(h{last}, target, rows, row_max, shifted, exp)")
    write(f"    loss = make(np.asarray({total}), False)")
    write(f"    dh{last} = {backward}(softmax, rows, target, scale, d_logits)")
    _write_else(write, last)


def _write_loops(program: Any, logits: np.ndarray, mean: bool) -> tuple[bool, str]:
    """With numba (at the step), `ops.loss.cross_entropy_into` (the compiled path of
    `cross_entropy_forward_backward`) into the kept buffers, the loss reduced in its last
    loop (Σ losses in NumPy's pairwise order, / N in the dtype: ``losses.sum() / N``);
    True when written (the `if` of the step's test: the kernel's call is then its `elif`),
    and the line that the other branches then write for the bias gradient of the Linear
    below when the loop sums it too (`_sums_bias`; else "").
    The kernel's tests cost more than its loops on a small batch (~25 µs a step with
    them for the names model's 64 x 27 logits, ~8 without); here they are decided at the
    recording: the logits a kept buffer of the program (`capture.linear`), float, their
    exp buffer C-ordered (the row sums' order). The step tests numba, the classes' array,
    dtype and shape, and their range (`kernels.embedding.below_loop`). Not while the
    op's kernels are patched (a test or an experiment sees them called)."""
    write, last = program.write, len(program.entries) - 1
    n, classes = logits.shape
    if not (fused.intact(fused.LOSS[1])
            and linear._kept_output(program, last) and logits.dtype in FLOAT_DTYPES
            and write.namespace["exp"].flags.c_contiguous):  # fmt: skip
        return False, ""
    # names of their own: the kernel's results are the program's locals losses, softmax
    write.buffer("row_losses", logits, (n,))
    write.buffer("reduced", logits, ())
    write.bind("scale_value", write.namespace["scale"][()])
    write.bind("denominator", logits.dtype.type(n))
    into = write.bind("cross_entropy_into", loss_ops.cross_entropy_into)
    write.bind("embedding_loops", embedding_loops)
    write.bind("dtype_int64", np.dtype(np.int64))
    bias_sum, db = _sums_bias(program, logits)
    numba = "numba" if program.fast_arrays else write.bind("numba_enabled", numba_enabled) + "()"
    program.uses_numba = True
    write(f"if ({numba} and type(target) is np.ndarray and target.dtype is dtype_int64")
    write(f"        and target.shape == ({n},) and embedding_loops.below_loop(target, {classes})):")
    write(f"    {into}(h{last}, target, row_max, shifted, exp, row_losses, scale_value, "
          f"d_logits, reduced, denominator, {(7 if mean else 3) | (8 if db else 0)}"
          f"{', ' + db if db else ''})")  # fmt: skip
    write(f"    dh{last} = d_logits")
    write("    loss = make(reduced.copy(), False)")
    if db:
        write(f"    {bias_sum.split(' = ')[0]} = {db}")
    return True, bias_sum


def _sums_bias(program: Any, logits: np.ndarray) -> tuple[str, str]:
    """Whether the loss's last loop also sums the bias gradient of the Linear on rows
    below it, db = Σ_rows dz (flag 8, row after row as `kernels.bias.column_sum` sums the
    C-ordered dz, more than one class): that Linear's output read by the loss only, its
    bias needing a gradient, `linear_backward` not patched. Then that Linear's backward
    leaves db out (`program.bias_summed`, as for an activation's fused backward) and the
    loss's other branches call `column_sum` (linear_backward's own) themselves. Returns
    (their line, db's buffer), or ("", "")."""
    last = len(program.entries) - 1
    below = program.entries[last]
    if not (program._is_linear_on_rows(below) and len(below.sources) == 3
            and below.needs_input_grad[2] and program.uses[last] == 0
            and logits.shape[1] > 1 and fused.intact(("linear_backward",))
            and program.write.namespace["d_logits"].flags.c_contiguous):  # fmt: skip
        return "", ""
    array = program._name(below.sources[2])
    bias = program.parameter_grads.setdefault(array, "d" + array[1:])
    if bias in program.grad_state:  # begun elsewhere (not a bias of its own)
        return "", ""
    db = program.write.buffer(f"db{last}", logits, logits.shape[1:])
    program.grad_state[bias] = "set"
    program.grad_buffers[bias] = db
    program.bias_summed.add(last)
    column_sum = program.write.bind("column_sum", bias_sums.column_sum)
    return f"{bias} = {column_sum}(dh{last}, {db})", db


def _write_else(write: Any, last: int, bias_sum: str = "") -> None:
    """The branch of any other target (the eager loss); `bias_sum` after the kernel's
    call and here, when the loops sum the bias gradient below (`_sums_bias`)."""
    if bias_sum:
        write(f"    {bias_sum}")
    write("else:")
    write(f"    loss, dh{last} = loss_and_gradient(h{last}, y)")
    if bias_sum:
        write(f"    {bias_sum}")


def _write_mse(program: Any, output: np.ndarray) -> None:
    """mean((h - y)²) and its gradient as the eager ops compute them: diff = h - y,
    squares = diff·diff, their mean; backward, the mean's 1/N (as Mean.backward makes
    it), times diff, once for each side of the product, summed as backward sums them.
    A target of another dtype or shape goes to the eager loss (which casts, or says
    what is wrong)."""
    write, last = program.write, len(program.entries) - 1
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
    if output.dtype == np.float16:  # ndarray.mean sums float16 in float32: its own code
        write("    loss = make(np.asarray(squares.mean()), False)")
    else:  # ndarray.mean's own sum and division (float / intp, in float64), without its
        # Python (38 µs of the wide step against ~2, 3 December 2026)
        write.bind("mean_of", output.dtype.type)
        write.bind("squares_count", np.intp(output.size))
        write(
            "    loss = make(np.asarray(mean_of(np.add.reduce(squares, None) / squares_count)), "
            "False)"
        )
    write("    np.multiply(mean_scale, diff, out=squares)  # each side of diff·diff")
    write(f"    dh{last} = np.add(squares, squares, out=d_output)")
    write("else:")
    write(f"    loss, dh{last} = loss_and_gradient(h{last}, y)")
