"""Devices, as far as a CPU-only framework has them: enough for PyTorch scripts to run.

A learner's script says ``device = "cuda" if torch.cuda.is_available() else "cpu"`` and
``model.to(device)``; with chainrule that picks "cpu" and `.to` accepts it. Any other
device is a clear error.
"""

from __future__ import annotations

from typing import Any

from chainrule.types import DeviceLike

_DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu", "meta")


class device:  # PyTorch's name
    """`chainrule.device("cpu")`, or any of PyTorch's device names.

    As on a CPU-only PyTorch build, ``device("cuda")`` can be made (scripts often build
    one up front); the error comes when a tensor or model is moved there, since chainrule
    computes on the CPU only.
    """

    type: str
    index: int | None

    def __init__(self, type: device | str = "cpu", index: int | None = None) -> None:
        if isinstance(type, device):
            index = type.index if index is None else index
        name = type.type if isinstance(type, device) else str(type)
        if ":" in name:
            name, _, number = name.partition(":")
            if not number.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(number)
        if name not in _DEVICE_TYPES:
            raise RuntimeError(
                f"Expected one of {', '.join(_DEVICE_TYPES)} device type at start of device "
                f"string: {type}"
            )
        self.type = name
        self.index = index

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except RuntimeError:
                return False
        if not isinstance(other, device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


def is_device(value: Any) -> bool:
    """True for a `device` or a device string such as 'cpu' or 'cuda:0'."""
    if isinstance(value, device):
        return True
    return isinstance(value, str) and value.split(":")[0] in _DEVICE_TYPES


def check_device(value: Any) -> None:
    """Accept None and 'cpu'; anything else is a clear error (chainrule has no GPU code)."""
    if value is not None and str(value).split(":")[0] != "cpu":
        raise ValueError(
            f"chainrule runs on the CPU only; got device={str(value)!r} (scripts that pick "
            '`"cuda" if torch.cuda.is_available() else "cpu"` get "cpu")'
        )


_DEFAULT_DEVICE = "cpu"


def set_default_device(value: DeviceLike) -> None:
    """`torch.set_default_device`: only the CPU (or None) can be chosen."""
    check_device(value)


def get_default_device() -> device:
    return device(_DEFAULT_DEVICE)


def target_dtype(args: tuple[Any, ...], dtype: Any = None, device: Any = None) -> Any:
    """The dtype asked for by ``.to(*args, dtype=..., device=...)``, PyTorch's way: each
    positional argument is a device ('cpu', a `device`), a tensor (take its dtype) or a
    dtype. A device other than the CPU is an error; None means "keep the dtype"."""
    for arg in args:
        if is_device(arg):
            device = arg
        elif hasattr(arg, "dtype") and hasattr(arg, "shape"):  # a tensor
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

    @staticmethod
    def manual_seed(seed: int) -> None:
        """Seeds no GPU generator (there is none); scripts call it next to manual_seed."""

    manual_seed_all = manual_seed

    @staticmethod
    def is_initialized() -> bool:
        return False


class backends:  # PyTorch's namespace `torch.backends`
    """`torch.backends.mps.is_available()` / `cudnn` flags, as a CPU-only build has them."""

    class mps:
        @staticmethod
        def is_available() -> bool:
            return False

        @staticmethod
        def is_built() -> bool:
            return False

    class cudnn:
        enabled = False
        deterministic = False
        benchmark = False

        @staticmethod
        def is_available() -> bool:
            return False
