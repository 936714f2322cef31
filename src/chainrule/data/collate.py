"""`default_collate`: merge a list of B samples into one batch, as `torch.utils.data`.

Rules, applied recursively (a sample may nest them):

- tensors of shape S -> a tensor of shape (B, *S) (`chainrule.stack` if any needs a gradient);
- ndarrays of shape S and NumPy scalars -> a tensor of shape (B, *S), dtype kept;
- Python bools -> bool (B,), ints -> int64 (B,), floats -> float32 (B,) (chainrule's default
  float; PyTorch gives float64 here);
- strings and bytes -> the list of them, unchanged;
- mappings -> the same keys, each collated; namedtuples -> the same type, fields collated;
  tuples -> a tuple and lists -> a list, collated position by position (PyTorch returns a
  list for tuples too; unpacking ``x, y = batch`` works the same).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from chainrule import dtypes
from chainrule.joining import stack
from chainrule.tensor import Tensor


def _stack_arrays(arrays: Sequence[np.ndarray]) -> np.ndarray:
    first = arrays[0].shape
    for i, array in enumerate(arrays):
        if array.shape != first:
            raise RuntimeError(
                f"default_collate: sample {i} has shape {array.shape} but sample 0 has shape "
                f"{first}; every sample in a batch must have the same shape"
            )
    return np.stack(arrays)


def default_collate(batch: Sequence[Any]) -> Any:
    """Stack a list of B samples into a batch (see the module docstring for the rules)."""
    if len(batch) == 0:
        raise ValueError("default_collate: the batch is empty")
    elem = batch[0]
    if isinstance(elem, Tensor):
        if any(sample.requires_grad for sample in batch):
            return stack(list(batch))
        return Tensor._make(_stack_arrays([sample._data for sample in batch]), False)
    if isinstance(elem, (np.ndarray, np.generic)) and not isinstance(elem, (np.str_, np.bytes_)):
        arrays = [np.asarray(sample) for sample in batch]
        if arrays[0].dtype == object or arrays[0].dtype.kind in "USV":
            raise TypeError(f"default_collate: cannot batch arrays of dtype {arrays[0].dtype}")
        return Tensor._make(_stack_arrays(arrays), False)
    if isinstance(elem, bool):
        return Tensor._make(np.asarray(batch, dtype=np.bool_), False)
    if isinstance(elem, int):
        return Tensor._make(np.asarray(batch, dtype=np.int64), False)
    if isinstance(elem, float):
        return Tensor._make(np.asarray(batch, dtype=dtypes.DEFAULT_FLOAT), False)
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, Mapping):
        collated = {key: default_collate([sample[key] for sample in batch]) for key in elem}
        try:
            return type(elem)(collated)  # type: ignore[call-arg]
        except TypeError:
            return collated
    if isinstance(elem, Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("default_collate: each element in the batch should be of equal size")
        fields = [default_collate(list(samples)) for samples in zip(*batch, strict=True)]
        if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
            return type(elem)(*fields)
        if isinstance(elem, tuple):
            return tuple(fields)
        return fields
    raise TypeError(
        "default_collate: a batch must contain tensors, ndarrays, numbers, strings, dicts or "
        f"lists; found {type(elem).__name__}"
    )
