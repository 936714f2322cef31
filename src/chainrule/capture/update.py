"""The optimizer's update, written into a captured program: SGD (momentum, dampening,
Nesterov, weight decay, maximize) and Adam/AdamW (weight decay, AMSGrad, maximize).

Each parameter's update is the optimizer's own: plain SGD's θ ← θ - lr·g (rounded once,
as torch's) a call of `chainrule.kernels.sgd.sgd_loop` or `sgd_plain` (as
``sgd_parameter``) per parameter, or of `sgd_plain` once over the flat arrays
(`chainrule.capture.flat`), otherwise a call of the kernel the optimizer calls
(`chainrule.kernels.sgd.sgd_step`, `chainrule.kernels.adam.adam_step`: one compiled pass
with numba, NumPy ufuncs without, the same numbers). In place into the parameter and the
optimizer's state arrays, temporaries into buffers the program keeps. So the numbers are
bitwise those of ``optimizer.step()`` (tested), without its Python around each parameter
(group loops, the gradient's checks, the state's setup).

What is written out depends on each group's *form*: which of maximize, weight decay,
momentum, dampening, Nesterov, AMSGrad and decoupled decay are on (`form`). The values
(lr, momentum, betas, eps, ...) are read from the groups at every step, so a scheduler is
followed; when a form changes (momentum switched on mid-training, another optimizer
class), `CompiledStep` calls ``optimizer.step()`` instead, as it does for every other
optimizer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.autograd import bump_version, bump_versions
from chainrule.capture.flat import write_flat_sgd
from chainrule.kernels import FLOAT_DTYPES, numba_enabled
from chainrule.kernels.adam import adam_step
from chainrule.kernels.axpy import AXPY_MIN
from chainrule.kernels.sgd import sgd_loop, sgd_plain, sgd_step, sgd_takes
from chainrule.optim.adam import Adam, AdamW
from chainrule.optim.optimizer import SCRATCH_MIN, Optimizer
from chainrule.optim.sgd import SGD

__all__ = ["form", "write_update"]


def form(optimizer: Optimizer) -> tuple[Any, ...] | None:
    """What decides the written-out update's code: the optimizer's class and, per group,
    which options are on (their values are read at every step); None for an optimizer
    whose update is not written out."""
    kind = type(optimizer)
    if kind is SGD:
        return (kind, *((bool(g["maximize"]), g["weight_decay"] != 0, g["momentum"] != 0,
                         g["dampening"] != 0, bool(g["nesterov"]))
                        for g in optimizer.param_groups))  # fmt: skip
    if kind is Adam or kind is AdamW:
        return (kind, *((bool(g["maximize"]), g["weight_decay"] != 0, bool(g["amsgrad"]),
                         bool(g.get("decoupled_weight_decay", False)))
                        for g in optimizer.param_groups))  # fmt: skip
    return None


def _plain_sgd(group: dict[str, Any]) -> bool:
    return not (group["momentum"] or group["weight_decay"] or group["maximize"])


def state_ready(optimizer: Optimizer, written: list[Any]) -> bool:
    """Whether the state arrays the program reads exist for every parameter it updates
    (they do after the recorded step, unless a load_state_dict or a reset removed them)."""
    needs = "momentum_buffer" if type(optimizer) is SGD else "exp_avg"
    for parameter, group in written:
        if type(optimizer) is SGD and not group["momentum"]:
            continue
        if needs not in optimizer.state.get(parameter, ()):
            return False
        amsgrad = type(optimizer) is not SGD and group["amsgrad"]
        if amsgrad and "max_exp_avg_sq" not in optimizer.state[parameter]:
            return False
    return True


def write_update(program: Any, optimizer: Optimizer) -> list[Any] | None:
    """Write `if update:` and the update of every parameter the program computes a
    gradient for; returns the (parameter, group) pairs written, or None when this
    optimizer's update is not written out (or a gradient may be None: an op's own
    backward can pass None, and step() then skips the parameter)."""
    if form(optimizer) is None:
        return None
    names = {id(tensor): program.arrays[key] for key, tensor in program.tensors.items()}
    keys = {name: key for key, name in program.arrays.items()}
    written: list[Any] = []
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            array = names.get(id(parameter))
            if array is None:  # not in this graph: no gradient, step() skips it too
                continue
            if program.grad_state.get("d" + array[1:]) != "set":
                return None
            written.append((parameter, group))
    write = program.write
    write.bind("groups", optimizer.param_groups)
    write.bind("optimizer", optimizer)
    write.bind("bump", bump_version)  # each update is an in-place change (Optimizer._bump)
    write.bind("bump_versions", bump_versions)
    all_plain = type(optimizer) is SGD and all(_plain_sgd(g) for g in optimizer.param_groups)
    write(f"if update:  # {type(optimizer).__name__}.step, written out")
    write.indent += 1
    if type(optimizer) is not SGD or any(g["momentum"] for g in optimizer.param_groups):
        write("state = optimizer.state")
    temporaries = _Temporaries(program)
    for number, group in enumerate(optimizer.param_groups):
        members = [p for p, g in written if g is group]
        if not members:
            continue
        write(f"group = groups[{number}]")
        if type(optimizer) is SGD:
            _sgd_group(program, number, group, members, names, keys, temporaries, all_plain)
        else:
            _adam_group(program, group, members, names, keys, temporaries)
    write.indent -= 1
    temporaries.bind()
    return written


class _Temporaries:
    """Temporaries of each parameter's shape: views into flat arrays shared by all the
    parameters (one update runs at a time, as with the optimizer's scratch buffer), bound
    once when the program is written, so a step slices nothing. The program writes into
    them only through out= (an augmented assignment would make the name local to run)."""

    def __init__(self, program: Any) -> None:
        self.program = program
        self.wanted: list[tuple[str, int, np.ndarray]] = []  # (name, which, parameter)

    def __call__(self, array: str, parameter: Any, count: int) -> list[str]:
        names = []
        for which in range(count):
            name = f"{'st'[which]}_{array[2:]}"
            self.wanted.append((name, which, parameter._data))
            names.append(name)
        return names

    def bind(self) -> None:
        flats: dict[tuple[Any, int], np.ndarray] = {}
        for _, which, data in self.wanted:
            key = (data.dtype, which)
            if key not in flats or flats[key].size < data.size:
                flats[key] = np.empty(data.size, data.dtype)
        for name, which, data in self.wanted:
            flat = flats[data.dtype, which]
            self.program.write.bind(name, flat[: data.size].reshape(data.shape))


def _sgd_group(
    program: Any,
    number: int,
    group: dict[str, Any],
    members: list[Any],
    names: dict[int, str],
    keys: dict[str, str],
    temporaries: _Temporaries,
    all_plain: bool,
) -> None:
    """SGD.step's plain loop (θ ← θ - lr·g rounded once, raw lr; float16's product into
    kept memory from SCRATCH_MIN elements on) when every group is plain; otherwise a call of
    `chainrule.kernels.sgd.sgd_step` per parameter with float options, as
    Optimizer.step → SGD._update_param makes it."""
    write = program.write
    if _plain_sgd(group):
        write("lr = group['lr']  # plain SGD: θ ← θ - lr·g")
        flat = write_flat_sgd(program, number, members)  # opens its else: (capture.flat)

        write.bind("sgd_parameter", sgd_plain)  # a name of its own: the flat call is sgd_plain

        def numpy_form(parameter: Any) -> None:
            array = names[id(parameter)]
            grad = "d" + array[1:]
            data = parameter._data
            if data.dtype in FLOAT_DTYPES or (all_plain and data.size < SCRATCH_MIN):
                write(f"sgd_parameter({array}, {grad}, lr)")  # rounded once, as SGD.step
            else:  # float16: the product into kept memory, as SGD._plain_update
                (s,) = temporaries(array, parameter, 1)
                write(f"sgd_parameter({array}, {grad}, lr, {s})")

        # one compiled pass a parameter (chainrule.kernels.sgd, as SGD.step calls it) for
        # a float lr when numba is on, below AXPY_MIN values (sgd_plain's BLAS axpy from
        # there on): the same numbers either way
        compiled = [p for p in members if sgd_takes(p._data) and p._data.size < AXPY_MIN]
        if compiled:
            write.bind("sgd_loop", sgd_loop)
            write.bind("compiled_sgd", numba_enabled())
            checks = [f"{names[id(p)]}.flags.c_contiguous" for p in compiled]
            write("if (compiled_sgd and type(lr) is float  # and every parameter C-ordered")
            for start in range(0, len(checks), 2):
                end = "):" if start + 2 >= len(checks) else ""
                write(f"        and {' and '.join(checks[start : start + 2])}{end}")
            for parameter in compiled:
                array = names[id(parameter)]
                write(f"    sgd_loop({array}, {'d' + array[1:]}, lr)")
            write("else:")
            write.indent += 1
            for parameter in compiled:
                numpy_form(parameter)
            write.indent -= 1
        for parameter in members:
            if all(parameter is not other for other in compiled):
                numpy_form(parameter)
        if flat:
            write.indent -= 1
        # each an in-place change (Optimizer._bump), in one call
        write(f"bump_versions({write.bind(f'updated{number}', tuple(members))})")
        return
    write.bind("sgd_step", sgd_step)
    write("lr, momentum = float(group['lr']), float(group['momentum'])")
    write("dampening, weight_decay = float(group['dampening']), float(group['weight_decay'])")
    maximize, nesterov = bool(group["maximize"]), bool(group["nesterov"])
    spare = maximize or group["weight_decay"] != 0
    for parameter in members:
        array = names[id(parameter)]
        s, t = temporaries(array, parameter, 2 if spare else 1) + ([] if spare else ["None"])
        buf = "None"
        if group["momentum"] != 0:
            buf = f"state[tensor[{keys[array]!r}]]['momentum_buffer']"
        write(f"sgd_step({array}, d{array[1:]}, {buf}, {s}, {t}, lr, momentum, dampening, "
              f"weight_decay, {nesterov}, {maximize})  # {array[2:]}")  # fmt: skip
        write(f"bump(tensor[{keys[array]!r}])")


def _adam_group(program: Any, group: dict[str, Any], members: list[Any], names: dict[int, str],
                keys: dict[str, str], temporaries: _Temporaries) -> None:  # fmt: skip
    """A call of `chainrule.kernels.adam.adam_step` per parameter, as Adam._update_param
    makes it (the step count per parameter, float options; the form's switches as
    constants): the eager optimizer's kernel, so the same numbers."""
    write = program.write
    write.bind("adam_step", adam_step)
    write("lr, eps, weight_decay = float(group['lr']), float(group['eps']), "
          "float(group['weight_decay'])")  # fmt: skip
    write("beta1, beta2 = float(group['betas'][0]), float(group['betas'][1])")
    amsgrad, maximize = bool(group["amsgrad"]), bool(group["maximize"])
    decoupled = bool(group.get("decoupled_weight_decay", False))
    l2 = group["weight_decay"] != 0 and not decoupled
    for parameter in members:
        array = names[id(parameter)]
        s, t = temporaries(array, parameter, 2 if l2 else 1) + ([] if l2 else ["None"])
        write(f"st = state[tensor[{keys[array]!r}]]  # {array[2:]}")
        write("st['step'] = step = int(st['step']) + 1")
        vmax = "st['max_exp_avg_sq']" if amsgrad else "None"
        write(f"adam_step({array}, d{array[1:]}, st['exp_avg'], st['exp_avg_sq'], {vmax}, {s}, "
              f"{t}, step, lr, beta1, beta2, eps, weight_decay, {amsgrad}, {maximize}, "
              f"{decoupled})")  # fmt: skip
        bumps = 2 if decoupled else 1  # as Optimizer._bump
        for _ in range(bumps):
            write(f"bump(tensor[{keys[array]!r}])")
