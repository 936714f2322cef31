"""`ParameterList` and `ParameterDict`: parameters kept in a list or a dict whose parent
module sees them (named "0", "1", ... or by key in `state_dict`, as in PyTorch)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from chainrule.nn.modules.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor


def _as_parameter(value: Tensor | None) -> Parameter | None:
    """A tensor becomes a Parameter (as torch's containers do); a Parameter stays itself."""
    if isinstance(value, Parameter) or value is None:
        return value
    if isinstance(value, Tensor):
        return Parameter(value)
    raise TypeError(f"a parameter container holds tensors, got {type(value).__name__}")


class ParameterList(Module):
    """A list of parameters: `append`, `extend`, indexing, `len`, iteration."""

    def __init__(self, values: Iterable[Tensor | None] | None = None) -> None:
        super().__init__()
        for value in values or []:
            self.append(value)

    def append(self, value: Tensor | None) -> ParameterList:
        self.register_parameter(str(len(self)), _as_parameter(value))
        return self

    def extend(self, values: Iterable[Tensor | None]) -> ParameterList:
        for value in values:
            self.append(value)
        return self

    def __iadd__(self, values: Iterable[Tensor | None]) -> ParameterList:
        return self.extend(values)

    def __len__(self) -> int:
        return len(self._parameters)

    def __getitem__(self, index: int) -> Parameter | None:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for {len(self)} parameters")
        return self._parameters[str(index % len(self))]

    def __setitem__(self, index: int, value: Tensor | None) -> None:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for {len(self)} parameters")
        self.register_parameter(str(index % len(self)), _as_parameter(value))

    def __iter__(self) -> Iterator[Parameter | None]:
        return iter(self._parameters.values())

    def extra_repr(self) -> str:
        return "\n".join(
            f"({name}): Parameter containing: [{p.dtype} of size {tuple(p.shape)}]"
            for name, p in self._parameters.items()
            if p is not None
        )


class ParameterDict(Module):
    """A dict of parameters by string key: indexing, `in`, `keys`, `items`, `update`, ..."""

    def __init__(self, parameters: Mapping[str, Tensor | None] | None = None) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Parameter | None:
        return self._parameters[key]

    def __setitem__(self, key: str, value: Tensor | None) -> None:
        self.register_parameter(key, _as_parameter(value))

    def __delitem__(self, key: str) -> None:
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[str]:
        return iter(self._parameters)

    def __contains__(self, key: object) -> bool:
        return key in self._parameters

    def keys(self) -> Iterable[str]:
        return self._parameters.keys()

    def values(self) -> Iterable[Parameter | None]:
        return self._parameters.values()

    def items(self) -> Iterable[tuple[str, Parameter | None]]:
        return self._parameters.items()

    def get(self, key: str, default: Parameter | None = None) -> Parameter | None:
        return self._parameters.get(key, default)

    def pop(self, key: str) -> Parameter | None:
        value = self._parameters[key]
        delattr(self, key)
        return value

    def update(
        self, parameters: Mapping[str, Tensor | None] | Iterable[tuple[str, Tensor | None]]
    ) -> None:
        pairs = parameters.items() if isinstance(parameters, Mapping) else parameters
        for key, value in pairs:
            self[key] = value

    def extra_repr(self) -> str:
        return "\n".join(
            f"({name}): Parameter containing: [{p.dtype} of size {tuple(p.shape)}]"
            for name, p in self._parameters.items()
            if p is not None
        )
