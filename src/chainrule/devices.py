"""Devices, as far as a CPU-only framework has them: enough for PyTorch scripts to run.

A learner's script says ``device = "cuda" if torch.cuda.is_available() else "cpu"`` and
``model.to(device)``; with chainrule that picks "cpu" and `.to` accepts it. Any other
device is a clear error.
"""

from __future__ import annotations

from typing import Any

_DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu", "meta")


class device:  # PyTorch's name
    """`chainrule.device("cpu")`: the only device chainrule computes on."""

    def __init__(self, type: str = "cpu", index: int | None = None) -> None:
        check_device(type)
        self.type = "cpu"
        self.index = index

    def __repr__(self) -> str:
        return "device(type='cpu')"

    def __str__(self) -> str:
        return "cpu"

    def __eq__(self, other: object) -> bool:
        return str(other) == "cpu"

    def __hash__(self) -> int:
        return hash("cpu")


def is_device(value: Any) -> bool:
    """True for a `device` or a device string such as 'cpu' or 'cuda:0'."""
    if isinstance(value, device):
        return True
    return isinstance(value, str) and value.split(":")[0] in _DEVICE_TYPES


def check_device(value: Any) -> None:
    """Accept None and 'cpu'; anything else is a clear error (chainrule has no GPU code)."""
    if value is not None and str(value) != "cpu":
        raise ValueError(f"chainrule runs on the CPU only; got device={str(value)!r}")


def target_dtype(args: tuple[Any, ...], dtype: Any = None, device: Any = None) -> Any:
    """The dtype asked for by ``.to(*args, dtype=..., device=...)``, PyTorch's way: each
    positional argument is a device ('cpu', a `device`), a tensor (take its dtype) or a
    dtype. A device other than the CPU is an error; None means "keep the dtype"."""
    for arg in args:
        if is_device(arg):
            device = arg
        elif hasattr(arg, "dtype") and hasattr(arg, "data"):  # a tensor
            dtype = arg.dtype
        else:
            dtype = arg
    check_device(device)
    return dtype


class cuda:  # PyTorch's namespace `torch.cuda`
    """`chainrule.cuda.is_available()` is False: scripts that check it fall back to the CPU."""

    @staticmethod
    def is_available() -> bool:
        return False

    @staticmethod
    def device_count() -> int:
        return 0
