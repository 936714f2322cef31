"""A module's state dict with PyTorch's protocol: what `state_dict()` collects, how
`load_state_dict()` copies it back, the extra state a layer may add, and the four hooks.

`state_dict()` walks the modules depth first; at each one it runs the state-dict pre-hooks
``hook(module, prefix, keep_vars)``, `_save_to_state_dict` (its parameters, persistent
buffers and, when the class defines `get_extra_state`, ``prefix + "_extra_state"``), its
children, then the post-hooks ``hook(module, state_dict, prefix, local_metadata)``. The
result is an OrderedDict whose ``_metadata`` holds each module's ``{"version": ...}``
under its dotted path.

`load_state_dict()` walks the same way: at each module the load pre-hooks
``hook(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
error_msgs)``, `_load_from_state_dict` (copy in place, or with ``assign=True`` put the
checkpoint's tensors in), its children, then the load post-hooks ``hook(module,
incompatible_keys)``, which may edit the two lists in place. Missing and unexpected keys
are gathered everywhere and raised at the end when ``strict``; the messages are torch's.

A layer that needs its own format overrides `_save_to_state_dict` / `_load_from_state_dict`
as in torch; hooks are kept apart from the forward/backward ones, so they never make
`compile_step` run eagerly.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from chainrule.grad_hooks import RemovableHandle, register
from chainrule.nn.parameter import Parameter
from chainrule.size import Size
from chainrule.tensor import Tensor
from chainrule.types import ExtraState, ModuleStateDict, TensorLike

if TYPE_CHECKING:
    from chainrule.nn.modules.module import Module

EXTRA_STATE_KEY = "_extra_state"
"""The key suffix of the object `get_extra_state` returns (torch's)."""


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict` returns: the keys it did not find and the ones it did not use."""

    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:  # torch's: print(model.load_state_dict(...)) says so
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        missing, unexpected = self.missing_keys, self.unexpected_keys
        return f"_IncompatibleKeys(missing_keys={missing}, unexpected_keys={unexpected})"

    def __str__(self) -> str:
        return repr(self)


class ModuleState:
    """The state-dict methods of a Module (this file cannot import Module, which imports it)."""

    _version: int = 1  # saved in state_dict()._metadata, as torch's; a layer may raise it
    _parameters: dict[str, Parameter | None]
    _buffers: dict[str, Tensor | None]
    _non_persistent: set[str]
    _modules: dict[str, Module | None]

    # ------------------------------------------------------------------ saving
    def state_dict(
        self,
        *args: ModuleStateDict | str | bool,
        destination: ModuleStateDict | None = None,
        prefix: str = "",
        keep_vars: bool = False,
    ) -> ModuleStateDict:
        """Every parameter and persistent buffer (and extra state) by dotted name; the
        tensors share the arrays. A module reachable by two paths (tied layers) appears
        under both; ``keep_vars=True`` gives the Parameters themselves instead of detached
        tensors; ``destination`` (a dict) is filled and returned instead of a new one.
        Positional (destination, prefix, keep_vars) are accepted with torch's FutureWarning."""
        if args:
            warnings.warn(
                "Positional args are being deprecated, use kwargs instead.",
                FutureWarning,
                stacklevel=2,
            )
            given: list[Any] = [*args, None, None][:3]
            destination = given[0] if destination is None else destination
            prefix = given[1] if given[1] is not None and prefix == "" else prefix
            keep_vars = bool(given[2]) if given[2] is not None and not keep_vars else keep_vars
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()  # type: ignore[attr-defined]
        local_metadata = {"version": self._version}
        metadata = getattr(destination, "_metadata", None)
        if metadata is not None:
            metadata[prefix[:-1]] = local_metadata
        for hook in _hooks(self, "save_pre"):
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(
                    destination=destination, prefix=f"{prefix}{name}.", keep_vars=keep_vars
                )
        for hook in _hooks(self, "save_post"):
            result = hook(self, destination, prefix, local_metadata)
            if getattr(hook, "_from_public_api", False):
                if result is not None:
                    raise RuntimeError("state_dict post-hook must return None")
            elif result is not None:  # the private _register_state_dict_hook may replace it
                destination = result
        return destination

    def _save_to_state_dict(
        self, destination: ModuleStateDict, prefix: str, keep_vars: bool
    ) -> None:
        """This module's own state (not its children's) into ``destination``."""
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent:
                destination[prefix + name] = buffer if keep_vars else buffer.detach()
        if _defines(self, "get_extra_state"):
            destination[prefix + EXTRA_STATE_KEY] = self.get_extra_state()

    def get_extra_state(self) -> ExtraState:
        """What a layer adds to its state dict under ``"_extra_state"``: override it, with
        `set_extra_state`, to save settings or statistics that are not tensors. (A
        checkpoint written by chainrule.save holds it when it is data: tensors, numbers,
        strings, lists and dicts of them.)"""
        raise RuntimeError(
            f"{type(self).__name__}.get_extra_state() is called only when a subclass defines it"
        )

    def set_extra_state(self, state: ExtraState) -> None:
        """Take back what `get_extra_state` returned (called by `load_state_dict`)."""
        raise RuntimeError(
            f"{type(self).__name__}.set_extra_state() is called only when a subclass defines it"
        )

    # ------------------------------------------------------------------ loading
    def load_state_dict(
        self,
        state_dict: Mapping[str, TensorLike | ExtraState],
        strict: bool = True,
        assign: bool = False,
    ) -> IncompatibleKeys:
        """Copy the values of ``state_dict`` into this module's parameters and buffers (in
        place: an optimizer or `compile_step` made before keeps working), and their extra
        state. ``assign=True`` puts the checkpoint's tensors in instead (a Parameter keeps
        its requires_grad; make the optimizer afterwards, as torch says). Raises
        RuntimeError naming each key on a shape mismatch and, when ``strict``, on missing
        or unexpected keys; returns (missing_keys, unexpected_keys)."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing: list[str] = []
        unexpected: list[str] = []
        errors: list[str] = []
        metadata = getattr(state_dict, "_metadata", None)
        state: dict[str, Any] = OrderedDict(state_dict)  # a copy the hooks may edit

        def load(module: ModuleState, local: dict[str, Any], prefix: str) -> None:
            local_metadata = {} if metadata is None else dict(metadata.get(prefix[:-1], {}))
            if assign:
                local_metadata["assign_to_params_buffers"] = True
            module._load_from_state_dict(
                local, prefix, local_metadata, True, missing, unexpected, errors
            )
            for name, child in module._modules.items():
                if child is not None:
                    inner = f"{prefix}{name}."
                    load(child, {k: v for k, v in local.items() if k.startswith(inner)}, inner)
            keys = IncompatibleKeys(missing, unexpected)
            for hook in _hooks(module, "load_post"):
                if hook(module, keys) is not None:
                    raise AssertionError(
                        "Hooks registered with ``register_load_state_dict_post_hook`` are not "
                        "expected to return new values, if incompatible_keys need to be "
                        "modified, it should be done inplace."
                    )

        load(self, state, "")
        if strict:
            if unexpected:
                keys = ", ".join(f'"{k}"' for k in unexpected)
                errors.insert(0, f"Unexpected key(s) in state_dict: {keys}. ")
            if missing:
                keys = ", ".join(f'"{k}"' for k in missing)
                errors.insert(0, f"Missing key(s) in state_dict: {keys}. ")
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        return IncompatibleKeys(missing, unexpected)

    def _load_from_state_dict(
        self,
        state_dict: dict[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        """This module's own state (not its children's) from ``state_dict``: the load
        pre-hooks, then each parameter and persistent buffer copied in place (or assigned),
        then the extra state; keys it lacks or does not know go to the two lists."""
        for hook in _hooks(self, "load_pre"):
            hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                 error_msgs)  # fmt: skip
        own: dict[str, Tensor] = {k: p for k, p in self._parameters.items() if p is not None}
        own.update(
            (k, b)
            for k, b in self._buffers.items()
            if b is not None and k not in self._non_persistent
        )
        assign = bool(local_metadata.get("assign_to_params_buffers", False))
        for name, target in own.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            error = _put(self, name, target, key, state_dict[key], assign)
            if error:
                error_msgs.append(error)
        extra = prefix + EXTRA_STATE_KEY
        if _defines(self, "set_extra_state"):
            if extra in state_dict:
                self.set_extra_state(state_dict[extra])
            elif strict:
                missing_keys.append(extra)
        elif strict and extra in state_dict:
            unexpected_keys.append(extra)
        if strict:
            for key in state_dict:
                if not key.startswith(prefix) or key == extra:
                    continue
                head, *rest = key[len(prefix) :].split(".", 1)
                if (head not in self._modules) if rest else (head not in own):
                    unexpected_keys.append(key)

    # ------------------------------------------------------------------ hooks
    def _state_hook(self, kind: str, hook: Callable[..., Any]) -> RemovableHandle:
        return register(self.__dict__.setdefault("_state_hooks", {}).setdefault(kind, {}), hook)

    def register_state_dict_pre_hook(self, hook: Callable[..., None]) -> RemovableHandle:
        """``hook(module, prefix, keep_vars)`` before `state_dict` saves this module."""
        return self._state_hook("save_pre", hook)

    def register_state_dict_post_hook(self, hook: Callable[..., None]) -> RemovableHandle:
        """``hook(module, state_dict, prefix, local_metadata)`` after this module and its
        children are saved; it may edit ``state_dict`` in place and must return None."""
        hook._from_public_api = True  # type: ignore[attr-defined]
        return self._state_hook("save_post", hook)

    def _register_state_dict_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """torch's older post-hook, whose returned dict replaces the result."""
        if getattr(hook, "_from_public_api", False):
            raise RuntimeError(
                "Cannot register the same function as the state dict post hook that was "
                "previously registered via register_state_dict_post_hook"
            )
        return self._state_hook("save_post", hook)

    def register_load_state_dict_pre_hook(self, hook: Callable[..., None]) -> RemovableHandle:
        """``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` before this module's own state is loaded."""
        return self._register_load_state_dict_pre_hook(hook, with_module=True)

    def _register_load_state_dict_pre_hook(
        self, hook: Callable[..., None], with_module: bool = False
    ) -> RemovableHandle:
        """The same without the module as the first argument, unless ``with_module``."""
        if with_module:
            module, plain = self, hook

            def hook(*args: Any) -> None:
                plain(module, *args)

        return self._state_hook("load_pre", hook)

    def register_load_state_dict_post_hook(self, hook: Callable[..., None]) -> RemovableHandle:
        """``hook(module, incompatible_keys)`` after this module and its children are
        loaded; editing ``incompatible_keys``'s two lists in place changes what strict
        loading raises."""
        return self._state_hook("load_post", hook)


def _hooks(module: ModuleState, kind: str) -> tuple[Callable[..., Any], ...]:
    """The module's state hooks of one kind, in registration order (a copy: a hook may
    remove itself)."""
    tables = module.__dict__.get("_state_hooks")
    return tuple(tables[kind].values()) if tables and kind in tables else ()


def _defines(module: ModuleState, name: str) -> bool:
    """Whether the module's class overrides get_extra_state / set_extra_state."""
    return getattr(type(module), name) is not getattr(ModuleState, name)


def _put(
    module: ModuleState, name: str, target: Tensor, key: str, value: Any, assign: bool
) -> str | None:
    """Copy ``value`` into ``target`` (``module.<name>``) or assign it: None, or torch's
    message for what went wrong."""
    if isinstance(value, Tensor):
        array = value._data
    elif hasattr(value, "__array__"):  # an ndarray, or another library's tensor (torch's)
        array = np.asarray(value)
    else:
        return (
            f'While copying the parameter named "{key}", expected torch.Tensor or Tensor-like '
            f"object from checkpoint but received {type(value)}"
        )
    if target.ndim == 0 and array.shape == (1,):  # torch's: a 1-element vector fills a scalar
        array = array.reshape(())
    if array.shape != target._data.shape:
        return (
            f"size mismatch for {key}: copying a param with shape {_size(array.shape)} from "
            f"checkpoint, the shape in current model is {_size(target._data.shape)}."
        )
    if not assign:
        target._data[...] = array
        return None
    # the checkpoint's tensor itself (its array and dtype), as torch's assign
    tensor = value.detach() if isinstance(value, Tensor) else Tensor(array)
    if isinstance(target, Parameter):
        tensor = Parameter(tensor, requires_grad=target.requires_grad)
    setattr(module, name, tensor)
    return None


def _size(shape: tuple[int, ...]) -> str:
    """A shape as torch prints it in these messages (torch.Size([2, 3])), in chainrule's
    name: chainrule.Size([2, 3])."""
    return repr(Size(shape))
