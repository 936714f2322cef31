"""Submodules, parameters and buffers by dotted path, with PyTorch's API and errors:
``model.get_submodule("encoder.0")``, ``get_parameter("0.weight")``,
``get_buffer("1.running_mean")``, ``set_submodule("head", nn.Linear(8, 2))``.

A path is the names `named_modules()` prints, joined by dots ("" is the module itself).
Each error is an AttributeError naming the first step that is missing or of the wrong kind,
word for word torch's (tests/nn/test_module_hooks_parity.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chainrule.nn.parameter import Parameter

if TYPE_CHECKING:
    from chainrule.nn.modules.module import Module
    from chainrule.tensor import Tensor


class ModulePaths:
    """The dotted-path lookups of a Module. "is an nn.Module" is asked as "is a
    ModulePaths": every Module is one (this file cannot import Module's, which imports it)."""

    def get_submodule(self, target: str) -> Module:
        """The submodule at ``target`` ("" is the module itself)."""
        module: Any = self
        for item in target.split(".") if target else ():
            if not hasattr(module, item):
                raise AttributeError(f"{type(module).__name__} has no attribute `{item}`")
            module = getattr(module, item)
            if not isinstance(module, ModulePaths):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return module

    def set_submodule(self, target: str, module: Module, strict: bool = False) -> None:
        """Put ``module`` at ``target``, replacing a submodule there (``strict``: only
        where one exists)."""
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        if not isinstance(module, ModulePaths):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        path, _, name = target.rpartition(".")
        parent = self.get_submodule(path)
        if strict and not hasattr(parent, name):
            raise AttributeError(f"{type(parent).__name__} has no attribute `{name}`")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), ModulePaths):
            raise AttributeError(f"`{name}` is not an nn.Module")
        setattr(parent, name, module)

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at ``target``, e.g. ``"0.weight"``."""
        module, name = self._parent_of(target)
        param = getattr(module, name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return param

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at ``target``, e.g. ``"1.running_mean"``."""
        module, name = self._parent_of(target)
        if name not in module._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return getattr(module, name)

    def _parent_of(self, target: str) -> tuple[Any, str]:
        """The module holding the last name of ``target``, and that name (which it has)."""
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if not hasattr(module, name):
            raise AttributeError(f"{type(module).__name__} has no attribute `{name}`")
        return module, name
