"""`chainrule.utils`: the import paths PyTorch scripts use (``chainrule.utils.data``)."""

from chainrule.utils import data

__all__ = ["data"]
