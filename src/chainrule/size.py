"""`chainrule.Size`: a tensor's shape, a tuple of ints that prints as PyTorch's does."""

from __future__ import annotations

from typing import Any


class Size(tuple[int, ...]):
    """``x.shape`` / ``x.size()``: compares, unpacks and indexes as a tuple;
    ``Size([2, 3])`` prints as ``chainrule.Size([2, 3])`` and ``numel()`` is the product."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"chainrule.Size({list(self)})"

    __str__ = __repr__

    def __getitem__(self, index: Any) -> Any:
        item = tuple.__getitem__(self, index)
        return Size(item) if isinstance(index, slice) else item

    def numel(self) -> int:
        total = 1
        for n in self:
            total *= n
        return total
