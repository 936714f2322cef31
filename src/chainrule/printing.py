"""How a tensor prints: PyTorch's layout, so a script prints the same text on both.

One format for the whole tensor, chosen from its finite non-zero values (as PyTorch):

* all of them whole numbers: ``1.``, ``-3.`` (integer mode);
* otherwise fixed point with `precision` decimals (``0.5000``);
* scientific (``1.0000e+05``) when max/min > 1000, max > 1e8, or (not integer mode)
  min < 1e-4 — unless ``set_printoptions(sci_mode=...)`` forces it.

Every element is padded to the widest, rows wrap at `linewidth`, tensors with more than
`threshold` elements show `edgeitems` at each end of each dim around ``...``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class _Options:
    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode: bool | None = None


OPTIONS = _Options()
_PROFILES: dict[str, dict[str, float]] = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """torch.set_printoptions: decimals, summarising threshold, edge items, line width,
    a profile ('default', 'short', 'full') and forced scientific notation (or None)."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"profile must be one of {sorted(_PROFILES)}, got {profile!r}")
        for name, setting in _PROFILES[profile].items():
            setattr(OPTIONS, name, setting)
    for key, value in (
        ("precision", precision),
        ("threshold", threshold),
        ("edgeitems", edgeitems),
        ("linewidth", linewidth),
    ):
        if value is not None:
            setattr(OPTIONS, key, value)
    OPTIONS.sci_mode = sci_mode


def get_printoptions() -> dict[str, int | float | bool | None]:
    return {
        k: getattr(OPTIONS, k)
        for k in ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")
    }


class _Formatter:
    """One width and one notation for every element of `values` (a NumPy array)."""

    def __init__(self, values: np.ndarray) -> None:
        self.floating = values.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        flat = values.reshape(-1)
        if not self.floating:
            for value in flat.tolist():
                self.width = max(self.width, len(f"{value}"))
            return
        finite = flat[np.isfinite(flat) & (flat != 0)]
        if finite.size:
            magnitudes = np.abs(finite).astype(np.float64)
            low, high = float(magnitudes.min()), float(magnitudes.max())
            self.int_mode = bool(np.all(finite == np.ceil(finite)))
            p = OPTIONS.precision
            items = finite.tolist()
            if high / low > 1000.0 or high > 1.0e8 or (not self.int_mode and low < 1.0e-4):
                self.sci_mode = True
                lengths = [len(f"{v:.{p}e}") for v in items]
            elif self.int_mode:
                lengths = [len(f"{v:.0f}") + 1 for v in items]
            else:
                lengths = [len(f"{v:.{p}f}") for v in items]
            self.width = max(self.width, *lengths)
        if OPTIONS.sci_mode is not None:
            self.sci_mode = OPTIONS.sci_mode

    def format(self, value: Any) -> str:
        p = OPTIONS.precision
        if not self.floating:
            text = f"{value}"
        elif self.sci_mode:
            text = f"{value:{self.width}.{p}e}"
        elif self.int_mode:
            text = f"{value:.0f}"
            if not (math.isinf(value) or math.isnan(value)):
                text += "."
        else:
            text = f"{value:.{p}f}"
        return (self.width - len(text)) * " " + text


def _summarised(values: np.ndarray) -> np.ndarray:
    """The elements that a summarised print shows (edge items of every dim)."""
    e = OPTIONS.edgeitems
    if values.ndim == 0:
        return values
    if values.ndim == 1:
        return np.concatenate([values[:e], values[-e:]]) if values.shape[0] > 2 * e else values
    rows = list(range(e)) + list(range(values.shape[0] - e, values.shape[0]))
    picked = values[rows] if values.shape[0] > 2 * e else values
    return np.stack([_summarised(row) for row in picked])


def _vector(values: np.ndarray, indent: int, summarise: bool, fmt: _Formatter) -> str:
    e = OPTIONS.edgeitems
    per_line = max(1, int(math.floor((OPTIONS.linewidth - indent) / (fmt.width + 2))))
    if summarise and values.shape[0] > 2 * e:
        data = [fmt.format(v) for v in values[:e].tolist()] + [" ..."]
        data += [fmt.format(v) for v in values[-e:].tolist()]
    else:
        data = [fmt.format(v) for v in values.tolist()]
    lines = [", ".join(data[i : i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _body(values: np.ndarray, indent: int, summarise: bool, fmt: _Formatter) -> str:
    if values.ndim == 0:
        return fmt.format(values.item())
    if values.ndim == 1:
        return _vector(values, indent, summarise, fmt)
    e, n = OPTIONS.edgeitems, values.shape[0]
    if summarise and n > 2 * e:
        parts = [_body(values[i], indent + 1, summarise, fmt) for i in range(e)] + ["..."]
        parts += [_body(values[i], indent + 1, summarise, fmt) for i in range(n - e, n)]
    else:
        parts = [_body(values[i], indent + 1, summarise, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (values.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def array_str(values: np.ndarray, indent: int) -> str:
    """The bracketed body of a tensor's repr (what ``str(t)`` shows inside ``tensor(...)``)."""
    if values.size == 0:
        return "[]"
    if values.dtype == np.float16:
        values = values.astype(np.float32)
    summarise = values.size > OPTIONS.threshold
    fmt = _Formatter(_summarised(values) if summarise else values)
    return _body(values, indent, summarise, fmt)


def tensor_repr(values: np.ndarray, suffixes: list[str], default_float: np.dtype) -> str:
    """``tensor([...], dtype=..., grad_fn=<...>)`` laid out as PyTorch does."""
    prefix = "tensor("
    indent = len(prefix)
    extras: list[str] = []
    if values.size == 0:
        if values.ndim != 1:
            extras.append(f"size={tuple(values.shape)}")
        if values.dtype != default_float:
            extras.append(f"dtype=chainrule.{values.dtype.name}")
        body = "[]"
    else:
        if values.dtype not in (default_float, np.dtype(np.int64), np.dtype(np.bool_)):
            extras.append(f"dtype=chainrule.{values.dtype.name}")
        body = array_str(values, indent)
    text = prefix + body
    pieces = [text]
    last = len(text) - text.rfind("\n") + 1
    for suffix in extras + suffixes:
        if last + len(suffix) + 2 > OPTIONS.linewidth:
            pieces.append(",\n" + " " * indent + suffix)
            last = indent + len(suffix)
        else:
            pieces.append(", " + suffix)
            last += len(suffix) + 2
    return "".join(pieces) + ")"
