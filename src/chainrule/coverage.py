"""The error for a PyTorch name chainrule does not have, pointing to the coverage page.

``chainrule.stft`` raises ``AttributeError: chainrule does not implement torch.stft; see
docs/pytorch-coverage.md`` (and the reason, when the page's data file gives one) rather
than Python's "did you mean" guess, which would point a learner at an unrelated name.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

PAGE = "docs/pytorch-coverage.md"
REASONS_FILE = Path(__file__).with_name("coverage_reasons.json")


@functools.cache
def reasons() -> dict[str, Any]:
    """namespace -> {name: reason} for the names chainrule leaves out on purpose."""
    try:
        data = json.loads(REASONS_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data.get("unsupported", {})


def missing(namespace: str, name: str) -> AttributeError:
    """The AttributeError for `namespace.name` (e.g. 'torch', 'stft').

    Private and dunder names get Python's usual plain error: `hasattr` probes by tools
    (``__wrapped__``, ``_fields`` ...) are not PyTorch names.
    """
    if name.startswith("_"):
        return AttributeError(
            f"{namespace.replace('torch', 'chainrule', 1)} has no attribute '{name}'"
        )
    reason = _reason(namespace, name)
    message = f"chainrule does not implement {namespace}.{name}; see {PAGE}"
    if reason:
        message += f" ({reason})"
    return AttributeError(message)


def _reason(namespace: str, name: str) -> str | None:
    table = reasons()
    for entry, why in table.get(namespace, {}).items():
        if entry == name or (entry.endswith("*") and name.startswith(entry[:-1])):
            return str(why)
    return None


class NotInChainrule:
    """A PyTorch name a chainrule class lacks, as a class attribute: reading it (from an
    instance or from the class) raises `missing`'s error, so ``t.stft`` points to the
    coverage page and ``hasattr(t, "stft")`` stays False.

    A descriptor per known name rather than a `__getattr__` on the class: in CPython 3.11 a
    class with `__getattr__` gets no specialised attribute reads, and the engine reads
    tensors' slots (``t._data``, ``t._ctx`` ...) a few hundred times per training step
    (an eager step of a small MLP ran 6% fewer instructions without it)."""

    __slots__ = ("namespace", "name")

    def __init__(self, namespace: str, name: str) -> None:
        self.namespace, self.name = namespace, name

    def __get__(self, instance: object, owner: type | None = None) -> NoReturn:
        raise missing(self.namespace, self.name)


def point_to_coverage(cls: type, namespace: str, names: Iterable[str]) -> None:
    """Give `cls` a `NotInChainrule` for each of `names` it lacks (inherited ones count:
    a method of a mixin is never shadowed)."""
    for name in names:
        if not hasattr(cls, name):
            setattr(cls, name, NotInChainrule(namespace, name))
