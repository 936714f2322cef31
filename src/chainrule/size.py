"""`chainrule.Size`: a tensor's shape, a tuple of ints that prints as PyTorch's does."""

from __future__ import annotations

from typing import SupportsIndex, overload


class Size(tuple[int, ...]):
    """``x.shape`` / ``x.size()``: compares, unpacks and indexes as a tuple;
    ``Size([2, 3])`` prints as ``chainrule.Size([2, 3])`` and ``numel()`` is the product."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"chainrule.Size({list(self)})"

    __str__ = __repr__

    @overload
    def __getitem__(self, index: SupportsIndex) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> Size: ...

    def __getitem__(self, index: SupportsIndex | slice) -> int | Size:
        if isinstance(index, slice):
            return Size(tuple.__getitem__(self, index))
        return tuple.__getitem__(self, index)

    def numel(self) -> int:
        total = 1
        for n in self:
            total *= n
        return total
