"""chainrule.data: datasets, batching and splits, as `torch.utils.data` plus ready-made data.

- `Dataset`, `IterableDataset`, `TensorDataset`, `Subset`, `ConcatDataset`, `ChainDataset`,
  `StackDataset`, `random_split`, the samplers, `DataLoader`, `default_collate`,
  `default_convert`, `get_worker_info`, `DistributedSampler`: PyTorch's data pipeline;
- `train_test_split`, `Standardizer`, `standardize`: hold-out splits and feature scaling;
- toy 2-D problems with TensorFlow Playground's definitions: `circle`, `xor`, `gauss`,
  `spiral`, `reg_plane`, `reg_gauss`, plus `moons`, `spiral_multiclass`, `sine`;
- real data from local files: `digits`, `mnist`, `load_idx`, `load_csv`, `load_features`;
- `load_dataset(spec)` / `list_datasets()`: the named datasets of the command line.

Example::

    from chainrule.data import DataLoader, TensorDataset, circle
    X, y = circle(400, noise=0.1, seed=0)
    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
"""

from chainrule.data.base import ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset
from chainrule.data.collate import default_collate, default_convert
from chainrule.data.dataset import Subset, TensorDataset, random_split
from chainrule.data.distributed import DistributedSampler, ShardedLoader
from chainrule.data.idx import load_idx
from chainrule.data.loader import DataLoader, get_worker_info
from chainrule.data.real import digits, mnist, mnist_files
from chainrule.data.registry import (
    DatasetEntry,
    DatasetInfo,
    known_names,
    list_datasets,
    load_dataset,
)
from chainrule.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from chainrule.data.split import Standardizer, standardize, train_test_split
from chainrule.data.tabular import load_csv, load_features
from chainrule.data.toy import (
    circle,
    gauss,
    moons,
    reg_gauss,
    reg_plane,
    sine,
    spiral,
    spiral_multiclass,
    xor,
)

__all__ = [
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "StackDataset",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "default_convert",
    "get_worker_info",
    "DataLoader",
    "Dataset",
    "DatasetEntry",
    "DatasetInfo",
    "DistributedSampler",
    "ShardedLoader",
    "Standardizer",
    "Subset",
    "TensorDataset",
    "circle",
    "default_collate",
    "digits",
    "gauss",
    "known_names",
    "list_datasets",
    "load_csv",
    "load_features",
    "load_dataset",
    "load_idx",
    "mnist",
    "mnist_files",
    "moons",
    "random_split",
    "reg_gauss",
    "reg_plane",
    "sine",
    "spiral",
    "spiral_multiclass",
    "standardize",
    "train_test_split",
    "xor",
]
