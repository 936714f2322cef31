"""`from chainrule.utils.data import DataLoader, TensorDataset`: PyTorch's import path for
`chainrule.data`'s pipeline (the swap of ``torch`` for ``chainrule`` lands here)."""

from chainrule.data import DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split

__all__ = [
    "DataLoader",
    "Dataset",
    "Subset",
    "TensorDataset",
    "default_collate",
    "random_split",
]
