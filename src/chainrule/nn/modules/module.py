"""`Module`: the base of every layer and model, as in PyTorch.

Assigning a Parameter or a Module to an attribute registers it, so `parameters()`,
`state_dict()`, `train()`/`eval()` and `zero_grad()` reach everything inside a model.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from chainrule import dtypes
from chainrule.devices import target_dtype
from chainrule.nn.modules.hooks import ModuleHooks, call_with_hooks
from chainrule.nn.modules.paths import ModulePaths
from chainrule.nn.modules.state import ModuleState
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor
from chainrule.types import DeviceLike, DTypeLike, ModuleInput, ModuleOutput

if TYPE_CHECKING:  # typing.Self is Python 3.11's; the annotations are never evaluated
    from typing_extensions import Self


class Module(ModuleHooks, ModulePaths, ModuleState):
    """Base class for layers and models: subclass it, assign layers in `__init__`, and
    write `forward`.

    Example::

        class TwoLayer(nn.Module):
            def __init__(self):
                super().__init__()
                self.hidden = nn.Linear(2, 8)
                self.out = nn.Linear(8, 1)

            def forward(self, x):
                return self.out(self.hidden(x).relu())
    """

    dump_patches: bool = False  # torch's flags, kept for code that reads them
    call_super_init: bool = False
    T_destination = TypeVar("T_destination", bound=dict[str, Any])  # state_dict's destination
    training: bool
    _parameters: dict[str, Parameter | None]
    _buffers: dict[str, Tensor | None]
    _non_persistent: set[str]
    _modules: dict[str, Module | None]

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: object) -> None:
        if "_parameters" not in self.__dict__:
            if not isinstance(value, (Parameter, Module)):  # plain attributes are fine
                object.__setattr__(self, name, value)
                return
            kind = "parameter" if isinstance(value, Parameter) else "module"
            raise AttributeError(
                f"cannot assign {kind} {name!r} before Module.__init__() call: "
                f"call super().__init__() first in {type(self).__name__}.__init__"
            )
        registries = (self._parameters, self._buffers, self._modules)
        if isinstance(value, Parameter):
            self._forget(name, keep=self._parameters)
            self._register(self._parameters, name, value)
        elif isinstance(value, Module):
            self._forget(name, keep=self._modules)
            self._register(self._modules, name, value)
        elif name in self._parameters:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter {name!r} "
                    "(nn.Parameter or None expected)"
                )
            self._register(self._parameters, name, None)
        elif name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r}")
            self._register(self._buffers, name, value)
        elif name in self._modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as child module {name!r} "
                    "(nn.Module or None expected)"
                )
            self._register(self._modules, name, None)
        else:
            for registry in registries:
                registry.pop(name, None)
            object.__setattr__(self, name, value)

    def _register(self, registry: dict[str, Any], name: str, value: Any) -> None:
        """Put a parameter, buffer or child in its registry, and mirror it in the instance
        dict so `self.weight` is a plain attribute lookup (layers read it on every call)."""
        registry[name] = value
        self.__dict__[name] = value

    def _forget(self, name: str, keep: dict[str, Any] | None = None) -> None:
        """Drop `name` from the instance dict and the registries other than `keep` (which
        keeps its position, so re-assigning a layer does not reorder `state_dict`)."""
        self.__dict__.pop(name, None)
        self._non_persistent.discard(name)
        for registry in (self._parameters, self._buffers, self._modules):
            if registry is not keep:
                registry.pop(name, None)

    def __getattr__(self, name: str) -> Tensor | Module:
        # only called when normal lookup fails: look in the registries
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(registry)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self.__dict__.pop(name, None)
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is None:
            self._forget(name, keep=self._parameters)
            self._register(self._parameters, name, None)
        else:
            setattr(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register state that is saved in `state_dict` but is not learned (running stats)."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign {type(tensor).__name__} as buffer {name!r} "
                "(Tensor or None expected)"
            )
        self._forget(name, keep=self._buffers)
        self._register(self._buffers, name, tensor)
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._forget(name, keep=self._modules)
        self._register(self._modules, name, module)

    register_module = add_module

    # ------------------------------------------------------------------ calling
    def forward(self, *args: ModuleInput, **kwargs: ModuleInput) -> ModuleOutput:
        raise NotImplementedError(f"Module [{type(self).__name__}] is missing a forward() method")

    def __call__(self, *args: ModuleInput, **kwargs: ModuleInput) -> ModuleOutput:
        if "_module_hooks" in self.__dict__:  # forward/backward hooks (nn/modules/hooks.py)
            return call_with_hooks(self, args, kwargs)
        if kwargs:
            return self.forward(*args, **kwargs)
        return self.forward(*args)

    # ------------------------------------------------------------------ traversal
    def named_modules(
        self, memo: set[int] | None = None, prefix: str = ""
    ) -> Iterator[tuple[str, Module]]:
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, module in self._modules.items():
            if module is not None:
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def _named_members(
        self, registry: str, prefix: str, recurse: bool
    ) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        owners = self.named_modules(prefix=prefix) if recurse else iter([(prefix, self)])
        for owner_prefix, module in owners:
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{owner_prefix}.{name}" if owner_prefix else name), value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        yield from self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    # ------------------------------------------------------------------ modes and helpers
    def train(self, mode: bool = True) -> Self:
        """Training mode: Dropout drops, BatchNorm uses batch statistics."""
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Self:
        """Evaluation mode: Dropout is off, BatchNorm uses its running statistics."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad._data.fill(0)

    def requires_grad_(self, requires_grad: bool = True) -> Self:
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def apply(self, fn: Callable[[Module], object]) -> Self:
        """Call fn on every submodule (children first) and on self, e.g. to initialise."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def to(
        self,
        *args: DeviceLike | DTypeLike | Tensor,
        dtype: DTypeLike = None,
        device: DeviceLike = None,
    ) -> Self:
        """Convert floating parameters and buffers to a dtype (e.g. chainrule.float64).

        ``model.to("cpu")`` and ``model.to(device)`` are accepted (chainrule runs on the CPU).
        """
        dtype = target_dtype(args, dtype, device)
        if dtype is None:
            return self
        return self._cast(dtypes.as_dtype(dtype), floating_only=True)

    def _cast(self, target: np.dtype[Any], floating_only: bool) -> Self:
        """Every parameter and buffer (or only the floating ones), and their gradients,
        cast to ``target`` in place of their arrays."""
        for module in self.modules():
            for tensors in (module._parameters, module._buffers):
                for tensor in tensors.values():
                    if tensor is None or (floating_only and tensor._data.dtype.kind != "f"):
                        continue
                    tensor._data = tensor._data.astype(target)
                    if tensor.grad is not None:
                        tensor.grad._data = tensor.grad._data.astype(target)
        return self

    def cpu(self) -> Self:
        return self

    def double(self) -> Self:
        return self.to(dtypes.float64)

    def float(self) -> Self:
        return self.to(dtypes.float32)

    def half(self) -> Self:
        return self.to(dtypes.float16)

    def type(self, dst_type: DTypeLike) -> Self:
        """Every parameter and buffer cast to ``dst_type``, integer ones too (torch's
        ``Module.type``; `to` casts only the floating ones)."""
        return self._cast(dtypes.as_dtype(dst_type), floating_only=False)

    # ------------------------------------------------------------------ display
    def extra_repr(self) -> str:
        """The layer's own settings, shown inside its parentheses by `repr`."""
        return ""

    def __repr__(self) -> str:
        """PyTorch's layout: one-line settings inline, else one item per indented line."""
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [
            f"({name}): " + repr(module).replace("\n", "\n  ")
            for name, module in self._modules.items()
        ]
        if len(extra_lines) == 1 and not child_lines:
            return f"{type(self).__name__}({extra_lines[0]})"
        if not extra_lines and not child_lines:
            return f"{type(self).__name__}()"
        body = "\n  ".join(extra_lines + child_lines)
        return f"{type(self).__name__}(\n  {body}\n)"
