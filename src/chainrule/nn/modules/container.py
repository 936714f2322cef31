"""Containers: `Sequential` (layers applied in order), `ModuleList`, `ModuleDict`."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any, overload

from chainrule.nn.modules.fusion import plan, run
from chainrule.nn.modules.module import Module
from chainrule.types import ModuleInput, ModuleOutput


class Sequential(Module):
    """Applies its layers one after another: the MLP h¹ = f(XW₁), h² = f(h¹W₂), ...

    Example::

        model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
        model[0]        # the first Linear
        len(model)      # 3

    A plain `nn.Linear` followed by `nn.ReLU`, `nn.Sigmoid` or `nn.Tanh` runs as one graph
    node, with the same numbers (`chainrule.nn.modules.fusion` says when it does not).
    """

    def __init__(
        self, *modules: Module | OrderedDict[str, Module] | OrderedDict[str, Module | None]
    ) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for index, layer in enumerate(modules):
                if not isinstance(layer, Module):
                    raise TypeError(
                        f"Sequential: argument {index} is a {type(layer).__name__}, not a Module"
                    )
                self.add_module(str(index), layer)

    def forward(self, x: ModuleInput) -> ModuleOutput:
        modules = tuple(self._modules.values())
        steps = self.__dict__.get("_steps")  # (the modules, their plan), kept until they change
        if steps is None or steps[0] != modules:
            steps = self.__dict__["_steps"] = (modules, plan(modules))
        return run(steps[1], x)

    @overload
    def __getitem__(self, index: int) -> Module: ...

    @overload
    def __getitem__(self, index: slice) -> Sequential: ...

    def __getitem__(self, index: int | slice) -> Module | Sequential:
        items = list(self._modules.items())
        if isinstance(index, slice):  # keeps the original names, as in PyTorch
            return type(self)(OrderedDict(items[index]))
        module = items[_position(index, len(items))][1]
        assert module is not None
        return module

    def __setitem__(self, index: int, module: Module) -> None:
        name = list(self._modules)[_position(index, len(self))]
        setattr(self, name, module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(m for m in self._modules.values() if m is not None)

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> Sequential:
        for module in modules:
            self.append(module)
        return self


def _position(index: int, size: int) -> int:
    """A possibly negative index into a container of `size` modules, checked."""
    if not -size <= index < size:
        raise IndexError(f"index {index} is out of range for a container of {size} modules")
    return index % size


class ModuleList(Module):
    """A list of modules whose parameters the parent module sees."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        for module in modules or []:
            self.append(module)

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for module in modules:
            self.append(module)
        return self

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    @overload
    def __getitem__(self, index: int) -> Module: ...

    @overload
    def __getitem__(self, index: slice) -> ModuleList: ...

    def __getitem__(self, index: int | slice) -> Module | ModuleList:
        modules = list(self._modules.values())
        if isinstance(index, slice):  # renumbered from 0, as in PyTorch
            return type(self)(m for m in modules[index] if m is not None)
        module = modules[_position(index, len(modules))]
        assert module is not None
        return module

    def __setitem__(self, index: int, module: Module) -> None:
        setattr(self, str(_position(index, len(self))), module)

    def __repr__(self) -> str:
        """PyTorch's layout: runs of identical modules shown once, as `(0-2): 3 x Linear(...)`."""
        reprs = [repr(m) for m in self]
        if not reprs:
            return f"{type(self).__name__}()"
        runs: list[list[Any]] = []  # [first index, last index, repr]
        for i, text in enumerate(reprs):
            if runs and runs[-1][2] == text:
                runs[-1][1] = i
            else:
                runs.append([i, i, text])
        lines = [
            (f"({a}): " if a == b else f"({a}-{b}): {b - a + 1} x ") + text.replace("\n", "\n  ")
            for a, b, text in runs
        ]
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(m for m in self._modules.values() if m is not None)


class ModuleDict(Module):
    """A dict of modules whose parameters the parent module sees."""

    def __init__(self, modules: dict[str, Module] | None = None) -> None:
        super().__init__()
        for name, module in (modules or {}).items():
            self.add_module(name, module)

    def __getitem__(self, name: str) -> Module:
        module = self._modules[name]
        assert module is not None
        return module

    def __setitem__(self, name: str, module: Module) -> None:
        self.add_module(name, module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, name: object) -> bool:
        return name in self._modules

    def __delitem__(self, name: str) -> None:
        delattr(self, name)

    def pop(self, name: str) -> Module | None:
        module = self._modules[name]
        delattr(self, name)
        return module

    def update(self, modules: dict[str, Module] | Iterable[tuple[str, Module]]) -> None:
        pairs = modules.items() if isinstance(modules, dict) else modules
        for name, module in pairs:
            self.add_module(name, module)

    def keys(self) -> Iterable[str]:
        return self._modules.keys()

    def items(self) -> Iterable[tuple[str, Module | None]]:
        return self._modules.items()

    def values(self) -> Iterable[Module | None]:
        return self._modules.values()
