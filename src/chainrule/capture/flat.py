"""Plain SGD as one call: a group's parameters, and the program's buffers for their
gradients, as views of one flat array each, so θ ← θ - lr·g runs once over the flat arrays
(`chainrule.kernels.sgd.sgd_plain`: one BLAS axpy or compiled pass, rounded once as
torch's) instead of once per parameter. The update is elementwise, so the
numbers are the per-parameter update's bit for bit.

Moving a parameter's values into a flat array replaces its `_data`; that is done only for
an array that nothing but the parameter holds (no view of it, no other tensor, no
`.numpy()` taken from it: its reference count says so), so no one can see the move. A
program recorded for another input shape finds the parameters already laid out in order in
one flat array and uses it as it is.

At every step the program checks that each parameter still holds its flat view and each
gradient is its flat buffer (one `is` each); a parameter given new memory since
(``p.data = ...``, ``Module.to``) sends the group to the per-parameter update, which the
program keeps as the other branch. In-place changes (``load_state_dict``, ``copy_``,
``optimizer.step()``) write into the views and change nothing.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from chainrule.kernels import FLOAT_DTYPES
from chainrule.kernels.sgd import sgd_plain
from chainrule.tensor import Tensor

__all__ = ["write_flat_sgd"]


def _references(tensor: Tensor) -> int:
    data = tensor._data
    return sys.getrefcount(data)


# what _references counts for an array that only its tensor holds (the tensor's slot, the
# local name, getrefcount's argument), measured rather than assumed: interpreters differ
_ALONE = _references(Tensor._make(np.empty(1, np.float32), False))


def _movable(tensor: Tensor) -> bool:
    """Whether the parameter's array can move into a flat array unseen: a C-contiguous
    float array owning its memory that nothing but the parameter holds."""
    data = tensor._data
    fits = (
        type(data) is np.ndarray
        and data.base is None
        and data.dtype in FLOAT_DTYPES
        and data.flags.c_contiguous
        and data.flags.writeable
    )
    del data  # this name would count too
    return fits and _references(tensor) <= _ALONE


def _laid_out(tensors: list[Tensor]) -> np.ndarray | None:
    """The flat array the tensors already are, in order, views one after another (another
    program's layout), or None."""
    flat = tensors[0]._data.base
    if type(flat) is not np.ndarray or flat.ndim != 1 or not flat.flags.c_contiguous:
        return None
    start, offset = flat.__array_interface__["data"][0], 0
    for tensor in tensors:
        data = tensor._data
        if (
            type(data) is not np.ndarray
            or data.base is not flat
            or not data.flags.c_contiguous
            or data.__array_interface__["data"][0] != start + offset * flat.itemsize
        ):
            return None
        offset += data.size
    return flat if offset == flat.size else None


def _flat_parameters(tensors: list[Tensor]) -> np.ndarray | None:
    """One flat array whose consecutive views the tensors hold from now on (their values
    unchanged), or None when they cannot all be moved or found laid out so."""
    dtypes = {t._data.dtype for t in tensors}
    if len(dtypes) != 1:
        return None
    flat = _laid_out(tensors)
    if flat is not None or not all(_movable(t) for t in tensors):
        return flat
    flat = np.empty(sum(t._data.size for t in tensors), dtypes.pop())
    offset = 0
    for tensor in tensors:
        size, shape = tensor._data.size, tensor._data.shape
        view = flat[offset : offset + size].reshape(shape)
        view[...] = tensor._data
        tensor._data = view
        offset += size
    return flat


def write_flat_sgd(program: Any, number: int, members: list[Tensor]) -> bool:
    """Write ``if <all in their flat arrays>: sgd_plain(flat, flat gradient, lr, scratch)``
    for plain-SGD group `number` and open its ``else:`` (the caller writes the per-parameter
    update there and closes it); False, writing nothing, when the group cannot be flat:
    a gradient that is not a kept buffer of the program, or parameters that cannot move."""
    write, names = program.write, program.arrays
    keys = {id(tensor): key for key, tensor in program.tensors.items()}
    arrays = [names[keys[id(t)]] for t in members]
    buffers = [program.grad_buffers.get("d" + array[1:]) for array in arrays]
    if len(members) < 2 or None in buffers:
        return False
    for tensor, name in zip(members, buffers, strict=True):
        buffer = write.namespace[name]
        if not (buffer.shape == tensor._data.shape and buffer.dtype == tensor._data.dtype
                and buffer.flags.c_contiguous):  # fmt: skip
            return False
    flat = _flat_parameters(members)
    if flat is None:
        return False
    grads = np.empty_like(flat)
    offset = 0
    checks = []
    for tensor, array, buffer in zip(members, arrays, buffers, strict=True):
        size = tensor._data.size
        # the gradient buffer becomes its slice of the flat gradient (the program has not
        # run: nothing holds the old buffer)
        write.bind(buffer, grads[offset : offset + size].reshape(tensor._data.shape))
        home = write.bind(f"f{array[1:]}", tensor._data)
        checks.append(f"{array} is {home} and d{array[1:]} is {buffer}")
        offset += size
    parameters = write.bind(f"flat{number}", flat)
    gradients = write.bind(f"dflat{number}", grads)
    scratch = write.bind(f"sflat{number}", np.empty_like(flat))
    write.bind("sgd_plain", sgd_plain)
    write("if (type(lr) is float  # and every parameter and gradient in its flat array:")
    for position, check in enumerate(checks):
        write(f"        and {check}{'):' if position == len(checks) - 1 else ''}")
    call = f"sgd_plain({parameters}, {gradients}, lr, {scratch})"
    write(f"    {call}  # all {flat.size} values at once")
    write("else:")
    write.indent += 1
    return True
