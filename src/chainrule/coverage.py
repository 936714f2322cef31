"""The error for a PyTorch name chainrule does not have, pointing to the coverage page.

``chainrule.stft`` raises ``AttributeError: chainrule does not implement torch.stft; see
docs/pytorch-coverage.md`` (and the reason, when the page's data file gives one) rather
than Python's "did you mean" guess, which would point a learner at an unrelated name.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

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
