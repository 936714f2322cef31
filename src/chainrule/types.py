"""The names of the public API's types: what a "tensor-like", a dtype, a device, a state_dict,
an optimizer's params or a hook is.

One place for them, so a signature says ``target: TensorLike`` rather than ``target: Any``.
Where a value really can be anything, the alias *names why* (``ModuleOutput``,
``Batch``, ``StateValue``): a signature never writes a bare ``Any``, and
``tests/project/test_public_types.py`` fails when a public one does (it reads the source, so
these names count as reasons).

The module sits on the lowest floor: it imports the classes it names only for type checkers
(``TYPE_CHECKING``), so every module may use it and it runs no chainrule code. At run time
the aliases are strings (they are only read by type checkers and by people).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

import numpy as np

if TYPE_CHECKING:
    from types import EllipsisType

    from chainrule.devices import device
    from chainrule.nn.modules.module import Module
    from chainrule.tensor import Tensor

__all__ = [
    "Batch",
    "Closure",
    "DTypeLike",
    "DeviceLike",
    "DimLike",
    "ExtraState",
    "ForwardHook",
    "ForwardHookWithKwargs",
    "ForwardPreHook",
    "ForwardPreHookWithKwargs",
    "GradTensors",
    "HiddenState",
    "FullBackwardHook",
    "FullBackwardPreHook",
    "IndexLike",
    "JSONDict",
    "JSONValue",
    "ModuleInput",
    "ModuleOutput",
    "Number",
    "OpArg",
    "OpOption",
    "ParamGroup",
    "ParamsT",
    "Sample",
    "SampleKey",
    "ShapeLike",
    "ModuleStateDict",
    "StateDict",
    "StateValue",
    "TensorLike",
    "TensorOrNumber",
    "TensorIndex",
    "TensorOrTensors",
]

# ---------------------------------------------------------------------------- values
Number: TypeAlias = "int | float | bool"
"""A Python scalar, as PyTorch's ``Number``."""

TensorLike: TypeAlias = "Tensor | np.ndarray | np.generic | int | float | bool | Sequence[Any]"
"""What ``chainrule.tensor(data)`` accepts: a Tensor, an ndarray, a scalar, or nested lists
of numbers (``Sequence[Any]``: the nesting depth is the data's, not the type's)."""

TensorOrNumber: TypeAlias = "Tensor | int | float | bool"
"""The other operand of a binary operation (``x + 1``, ``x.pow(y)``)."""

DTypeLike: TypeAlias = "np.dtype[Any] | type | str | None"
"""A dtype as ``dtypes.as_dtype`` reads it: ``chainrule.float32`` (a NumPy dtype), a NumPy or
Python type (``np.float32``, ``float``), a name (``"float64"``, ``"torch.float64"``), or None
for the default."""

DeviceLike: TypeAlias = "device | str | int | None"
"""``"cpu"``, ``chainrule.device("cpu")``, a device index, or None (chainrule runs on the CPU
and accepts torch's spellings of the others only to refuse them clearly)."""

DimLike: TypeAlias = "int | Sequence[int] | None"
"""The dimensions an operation runs over: one, several (a tuple or list), or None for all
(a reduction's ``dim``; NumPy's ``axis`` spelling takes the same)."""

ShapeLike: TypeAlias = "int | Sequence[int]"
"""A shape: one size or a sequence of sizes (``chainrule.Size`` is a tuple)."""

TensorOrTensors: TypeAlias = "Tensor | Sequence[Tensor]"
"""One tensor or several (``autograd.grad``'s outputs and inputs, torch's ``_TensorOrTensors``)."""

GradTensors: TypeAlias = "Tensor | Sequence[Tensor | None] | None"
"""The seed gradients of ``backward``/``autograd.grad``: one per output (None: ones for a
scalar output)."""

OpArg: TypeAlias = Any
"""An argument of ``autograd.Function.forward``: each op declares its own (ndarrays for the
built-in ops, anything for a custom Function); Any, so overrides may name theirs."""

OpOption: TypeAlias = Any
"""A keyword constant of an op (``Function.apply(x, axis=1)``): an axis, a shape, an index
array, a flag ... each op's own."""

HiddenState: TypeAlias = "Tensor | tuple[Tensor, Tensor]"
"""A recurrent layer's state: h, or (h, c) for an LSTM (and its cell)."""

TensorIndex: TypeAlias = (
    "int | np.integer[Any] | slice | EllipsisType | None | Tensor | np.ndarray | Sequence[Any]"
)
"""What ``x[index]`` takes: an int, a slice, ``...``, None (a new axis), an integer or bool
Tensor or ndarray, a list, or a tuple of these (one per dimension)."""

# ---------------------------------------------------------------------------- state
StateValue: TypeAlias = Any
"""One entry of an optimizer's or scheduler's state_dict: tensors, ndarrays, numbers, lists,
nested dicts, None. Heterogeneous by nature (torch's layout), so not narrowed."""

StateDict: TypeAlias = "dict[str, StateValue]"
"""A ``state_dict()``: names to heterogeneous entries (see ``StateValue``). A Module's own
state_dict is narrower, ``ModuleStateDict``."""

ExtraState: TypeAlias = Any
"""What a layer's ``get_extra_state`` returns and ``set_extra_state`` takes: the layer's
own choice (settings, counters, tensors). chainrule's checkpoints hold it when it is data."""

ModuleStateDict: TypeAlias = "dict[str, Tensor | ExtraState]"
"""A Module's ``state_dict()`` (an OrderedDict, or the ``destination`` given): dotted names
to tensors, plus ``"<prefix>_extra_state"`` entries for layers that define
``get_extra_state``."""

JSONValue: TypeAlias = Any
"""A JSON value: None, a bool, a number, a string, or a list or dict of JSON values (the
nesting is the data's, so it is not narrowed)."""

JSONDict: TypeAlias = "dict[str, JSONValue]"
"""A JSON object: a model's config (``nn.config``), a History, checkpoint metadata."""

# ---------------------------------------------------------------------------- optimizers
ParamGroup: TypeAlias = "dict[str, StateValue]"
"""One parameter group: ``{"params": [...], "lr": 1e-3, ...}`` (values of several kinds)."""

ParamsT: TypeAlias = "Iterable[Tensor] | Iterable[ParamGroup]"
"""What an optimizer takes: the tensors to update, or a list of parameter groups (torch's
``ParamsT``)."""

# ---------------------------------------------------------------------------- modules
ModuleInput: TypeAlias = Any
"""An argument of ``Module.__call__``/``forward``: whatever the subclass's forward takes
(Tensors for the layers; a user's model may take anything)."""

ModuleOutput: TypeAlias = Any
"""What ``Module.__call__`` returns: whatever the subclass's forward returns (a Tensor for
most layers, a tuple for RNNs and attention, anything for a user's model)."""


class ForwardPreHook(Protocol):
    """``hook(module, args)`` before forward; a non-None result replaces the positional
    arguments (a tuple, or one value for one argument)."""

    def __call__(
        self, module: Module, args: tuple[ModuleInput, ...], /
    ) -> ModuleInput | tuple[ModuleInput, ...] | None: ...


class ForwardPreHookWithKwargs(Protocol):
    """``hook(module, args, kwargs)`` before forward (``with_kwargs=True``); a non-None
    result is ``(new_args, new_kwargs)``."""

    def __call__(
        self, module: Module, args: tuple[ModuleInput, ...], kwargs: dict[str, ModuleInput], /
    ) -> tuple[tuple[ModuleInput, ...], dict[str, ModuleInput]] | None: ...


class ForwardHookWithKwargs(Protocol):
    """``hook(module, args, kwargs, output)`` after forward (``with_kwargs=True``); a
    non-None result replaces the output."""

    def __call__(
        self,
        module: Module,
        args: tuple[ModuleInput, ...],
        kwargs: dict[str, ModuleInput],
        output: ModuleOutput,
        /,
    ) -> ModuleOutput | None: ...


class ForwardHook(Protocol):
    """``hook(module, args, output)`` after forward; a non-None result replaces the output."""

    def __call__(
        self, module: Module, args: tuple[ModuleInput, ...], output: ModuleOutput, /
    ) -> ModuleOutput | None: ...


class FullBackwardHook(Protocol):
    """``hook(module, grad_input, grad_output)`` once the input gradients are known (None
    for an input that needs none); a non-None tuple replaces grad_input."""

    def __call__(
        self,
        module: Module,
        grad_input: tuple[Tensor | None, ...],
        grad_output: tuple[Tensor | None, ...],
        /,
    ) -> Iterable[Tensor | None] | None: ...


class FullBackwardPreHook(Protocol):
    """``hook(module, grad_output)`` once the gradients with respect to the module's outputs
    are known, before those of its inputs are computed; a non-None tuple replaces
    grad_output."""

    def __call__(
        self, module: Module, grad_output: tuple[Tensor | None, ...], /
    ) -> Iterable[Tensor | None] | None: ...


# ---------------------------------------------------------------------------- data
Sample: TypeAlias = Any
"""One item of a dataset the library knows nothing of (``default_collate``'s input): a
Tensor, an ndarray, a number, a string, or a tuple/list/dict of them. Typed datasets say
what theirs are (``Dataset[tuple[Tensor, ...]]``)."""

SampleKey: TypeAlias = Any
"""What a sampler yields and ``dataset[key]`` takes: an int position for the built-in
samplers, but a map-style dataset may be keyed by anything (as torch's)."""

Batch: TypeAlias = Any
"""What a DataLoader yields: whatever its ``collate_fn`` returns (``default_collate`` gives
Tensors, or tuples/lists/dicts of them, mirroring one sample's structure)."""

IndexLike: TypeAlias = "int | np.integer[Any] | slice | Sequence[int] | np.ndarray | Tensor"
"""An index into a dataset that also takes batches: a position, or positions (a slice, a
list, an ndarray, a Tensor) fetched at once."""

Closure: TypeAlias = "Callable[[], Tensor]"
"""``optimizer.step(closure)``: re-evaluates the model and returns the loss."""
