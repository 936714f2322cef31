"""`default_collate` (merge a list of B samples into one batch) and `default_convert` (turn
one sample's arrays into tensors), as `torch.utils.data`.

Rules, applied recursively (a sample may nest them):

- tensors of shape S -> a tensor of shape (B, *S) (`chainrule.stack` if any needs a gradient);
- ndarrays of shape S and NumPy scalars -> a tensor of shape (B, *S), dtype kept;
- Python bools -> bool (B,), ints -> int64 (B,), floats -> float64 (B,) (torch's choice
  here, not the default float);
- strings and bytes -> the list of them, unchanged;
- mappings -> the same keys, each collated; namedtuples -> the same type, fields collated;
  tuples and lists -> a list, collated position by position (as torch: a batch of
  ``(x, y)`` samples is ``[X, Y]``; ``x, y = batch`` unpacks it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from chainrule.joining import stack
from chainrule.tensor import Tensor
from chainrule.types import Batch, Sample


def _stack_arrays(arrays: Sequence[np.ndarray]) -> np.ndarray:
    first = arrays[0].shape
    for i, array in enumerate(arrays):
        if array.shape != first:
            raise RuntimeError(
                f"default_collate: sample {i} has shape {array.shape} but sample 0 has shape "
                f"{first}; every sample in a batch must have the same shape"
            )
    return np.stack(arrays)


def default_collate(batch: Sequence[Sample]) -> Batch:
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
        return Tensor._make(np.asarray(batch, dtype=np.float64), False)
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
        return fields
    raise TypeError(
        "default_collate: a batch must contain tensors, ndarrays, numbers, strings, dicts or "
        f"lists; found {type(elem).__name__}"
    )


def default_convert(data: Sample) -> Batch:
    """One sample with its ndarrays and NumPy scalars turned into tensors, recursively
    (mappings keep their keys, namedtuples their type, tuples become lists, as torch);
    tensors, Python numbers and strings are left as they are. The DataLoader applies it
    to each sample when batching is off (``batch_size=None``)."""
    if isinstance(data, (np.ndarray, np.generic)) and not isinstance(data, (np.str_, np.bytes_)):
        array = np.asarray(data)
        if array.dtype == object or array.dtype.kind in "USV":
            return data
        return Tensor._make(np.array(array), False)
    if isinstance(data, Mapping):
        converted = {key: default_convert(data[key]) for key in data}
        try:
            return type(data)(converted)  # type: ignore[call-arg]
        except TypeError:
            return converted
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])  # type: ignore[call-arg]
        except TypeError:
            return [default_convert(d) for d in data]
    return data
