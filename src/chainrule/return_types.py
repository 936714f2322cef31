"""Named results of (values, indices) functions, printed as PyTorch prints them.

``x.max(1)`` returns ``return_types.max(values=..., indices=...)``: a named tuple (unpack
it, or read ``.values`` / ``.indices``), one class per function as in ``torch.return_types``.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any


def _named(name: str, fields: tuple[str, ...]) -> Any:
    base = namedtuple(name, fields)  # type: ignore[misc]

    def __repr__(self: Any) -> str:
        inner = ",\n".join(f"{field}={getattr(self, field)!r}" for field in fields)
        return f"chainrule.return_types.{name}(\n{inner})"

    return type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__module__": __name__})


_VI = ("values", "indices")
max = _named("max", _VI)
min = _named("min", _VI)
sort = _named("sort", _VI)
topk = _named("topk", _VI)
kthvalue = _named("kthvalue", _VI)
median = _named("median", _VI)
mode = _named("mode", _VI)
aminmax = _named("aminmax", ("min", "max"))
histogram = _named("histogram", ("hist", "bin_edges"))
