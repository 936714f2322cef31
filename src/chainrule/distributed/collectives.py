"""Collectives with torch.distributed's signatures: all_reduce, broadcast, all_gather, barrier.

Each works in place on chainrule Tensors as torch's do (``all_reduce(t)`` leaves the sum in
``t`` on every rank) and has an ndarray twin used inside chainrule (`allreduce_array`, ...).
All wait through `wait`, with the group's deadline. ``async_op=True`` is not offered: the
call returns once the result is in place.
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np

from chainrule.distributed.group import group as current_group
from chainrule.distributed.wait import wait
from chainrule.tensor import Tensor

__all__ = ["ReduceOp", "all_gather", "all_reduce", "barrier", "broadcast"]


class ReduceOp(enum.Enum):
    """How all_reduce combines the ranks' tensors: elementwise sum, mean, max or min."""

    SUM = "sum"
    AVG = "avg"
    MAX = "max"
    MIN = "min"
    PRODUCT = "product"


def _mpi_op(op: ReduceOp) -> Any:
    MPI = current_group().mpi
    return {
        ReduceOp.SUM: MPI.SUM,
        ReduceOp.AVG: MPI.SUM,
        ReduceOp.MAX: MPI.MAX,
        ReduceOp.MIN: MPI.MIN,
        ReduceOp.PRODUCT: MPI.PROD,
    }[op]


def _array_of(tensor: Tensor, what: str) -> np.ndarray:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{what} expects a chainrule Tensor, got {type(tensor).__name__}")
    array = tensor.detach().numpy()
    if not array.flags.c_contiguous:
        raise ValueError(f"{what}: the tensor must be contiguous")
    return array


# ---------------------------------------------------------------------- ndarray level
def allreduce_array(array: np.ndarray, op: ReduceOp = ReduceOp.SUM) -> np.ndarray:
    """Combine `array` across ranks in place (contiguous) and return it."""
    live = current_group()
    if op is ReduceOp.AVG and array.dtype.kind not in "fc":
        raise TypeError(f"ReduceOp.AVG needs a floating tensor, got {array.dtype}")
    if live.size > 1:
        request = live.comm.Iallreduce(live.mpi.IN_PLACE, array, op=_mpi_op(op))
        wait(request, "all_reduce")
    if op is ReduceOp.AVG:
        np.divide(array, live.size, out=array)
    return array


def broadcast_array(array: np.ndarray, src: int = 0) -> np.ndarray:
    """Overwrite `array` on every rank with rank `src`'s values (in place)."""
    live = current_group()
    _check_rank(src, live.size, "broadcast")
    if live.size > 1:
        wait(live.comm.Ibcast(array, root=src), "broadcast")
    return array


def allgather_arrays(array: np.ndarray) -> list[np.ndarray]:
    """Every rank's `array` (same dtype and trailing shape; the first dimension may differ)."""
    live = current_group()
    array = np.ascontiguousarray(array)
    if live.size == 1:
        return [array]
    counts = np.array([array.shape[0] if array.ndim else 1], dtype=np.int64)
    all_counts = np.empty(live.size, dtype=np.int64)
    wait(live.comm.Iallgather(counts, all_counts), "all_gather")
    row = int(np.prod(array.shape[1:], dtype=np.int64)) if array.ndim else 1
    out = np.empty((int(all_counts.sum()) * row,), dtype=array.dtype)
    sizes = [int(c) * row for c in all_counts]
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int).tolist()
    mpi_type = live.mpi._typedict[array.dtype.char]
    request = live.comm.Iallgatherv(
        [array.reshape(-1), mpi_type], [out, (sizes, offsets), mpi_type]
    )
    wait(request, "all_gather")
    shape = array.shape[1:] if array.ndim else ()
    return [
        out[offset : offset + size].reshape((-1, *shape) if array.ndim else ())
        for offset, size in zip(offsets, sizes, strict=True)
    ]


def _check_rank(rank: int, size: int, what: str) -> None:
    if not 0 <= rank < size:
        raise ValueError(f"{what}: rank {rank} is not in 0..{size - 1}")


# ---------------------------------------------------------------------- torch's API
def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group: Any = None,
               async_op: bool = False) -> None:  # fmt: skip
    """Reduce `tensor` across all ranks in place: afterwards every rank holds the result.

    SUM: Σ_r t_r; AVG: (1/W) Σ_r t_r (floating tensors); MAX / MIN: elementwise extremes.
    """
    _no_async(async_op, "all_reduce")
    allreduce_array(_array_of(tensor, "all_reduce"), op)


def broadcast(tensor: Tensor, src: int = 0, group: Any = None, async_op: bool = False) -> None:
    """Copy rank `src`'s `tensor` into `tensor` on every other rank (same shape and dtype)."""
    _no_async(async_op, "broadcast")
    broadcast_array(_array_of(tensor, "broadcast"), src)


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group: Any = None,
               async_op: bool = False) -> None:  # fmt: skip
    """Fill ``tensor_list[r]`` with rank r's `tensor`, on every rank (torch's call).

    `tensor_list` holds world_size tensors shaped like `tensor`; they are written in place.
    """
    _no_async(async_op, "all_gather")
    live = current_group()
    array = _array_of(tensor, "all_gather")
    if len(tensor_list) != live.size:
        raise ValueError(
            f"all_gather: tensor_list has {len(tensor_list)} tensors, world size is {live.size}"
        )
    targets = [_array_of(t, "all_gather") for t in tensor_list]
    for target in targets:
        if target.shape != array.shape or target.dtype != array.dtype:
            raise ValueError(
                f"all_gather: every output tensor must be {array.dtype} {array.shape}, got "
                f"{target.dtype} {target.shape}"
            )
    gathered = np.empty((live.size, *array.shape), dtype=array.dtype)
    if live.size > 1:
        wait(live.comm.Iallgather(array, gathered), "all_gather")
    else:
        gathered[0] = array
    for target, values in zip(targets, gathered, strict=True):
        target[...] = values


def barrier(group: Any = None, async_op: bool = False, device_ids: Any = None) -> None:
    """Wait until every rank has reached this call."""
    _no_async(async_op, "barrier")
    live = current_group()
    if live.size > 1:
        wait(live.comm.Ibarrier(), "barrier")


def _no_async(async_op: bool, what: str) -> None:
    if async_op:
        raise NotImplementedError(f"{what}(async_op=True) is not supported: the call waits")
