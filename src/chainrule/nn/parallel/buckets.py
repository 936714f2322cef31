"""Gradient buckets: a few large allreduces per step instead of one per parameter.

The gradients of consecutive parameters (taken from the output back, the order backward
finishes them in) are copied into one flat buffer per bucket of up to `bucket_cap_mb`
megabytes (25 MB as in PyTorch, so a model of a few million parameters is one bucket), and
every bucket is summed across ranks with one non-blocking allreduce; all buckets are in
flight together, then each is waited for (with the group's deadline) and copied back::

    flat_b = concat(pre_scale · g_p for p in bucket b)        # per rank r
    flat_b <- Σ_r flat_b                                      # MPI_Iallreduce(SUM)
    g_p    <- post_scale · flat_b[offset_p : offset_p + size_p]

A parameter without a gradient on this rank contributes zeros, and afterwards has the
reduced gradient like the others. Parameters of different dtypes go to different buckets.
`extra`, a few floats (per-step statistics), rides along in the last bucket, so they cost
no separate message.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from chainrule.distributed.collectives import allreduce_array, broadcast_array
from chainrule.distributed.group import group
from chainrule.distributed.wait import wait
from chainrule.tensor import Tensor

DEFAULT_BUCKET_CAP_MB = 25.0


class _Bucket:
    def __init__(self, params: list[Tensor], dtype: np.dtype) -> None:
        self.params, self.dtype = params, dtype
        sizes = [int(p.detach().numpy().size) for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int).tolist()
        self.extra = 0  # slots for `extra` at the end (last bucket only)
        self.flat = np.empty(self.offsets[-1], dtype=dtype)

    def room_for(self, extra: int) -> None:
        if extra != self.extra:
            self.extra = extra
            self.flat = np.empty(self.offsets[-1] + extra, dtype=self.dtype)


class GradientBuckets:
    """Sum the gradients of `params` across ranks, bucketed (see the module docstring).

    ``reduce_seconds`` and ``reductions`` add up the time spent waiting for the allreduces
    (the benchmark reports it per step) and how many steps were reduced.
    """

    def __init__(self, params: Sequence[Tensor], bucket_cap_mb: float = DEFAULT_BUCKET_CAP_MB):
        if bucket_cap_mb < 0:
            raise ValueError(f"bucket_cap_mb must be >= 0, got {bucket_cap_mb}")
        cap = bucket_cap_mb * 1024 * 1024
        self.buckets: list[_Bucket] = []
        current: list[Tensor] = []
        current_bytes, current_dtype = 0, None
        for param in reversed(list(params)):
            array = param.detach().numpy()
            if current and (array.dtype != current_dtype or current_bytes + array.nbytes > cap):
                self.buckets.append(_Bucket(current, np.dtype(current_dtype)))
                current, current_bytes = [], 0
            current.append(param)
            current_bytes += array.nbytes
            current_dtype = array.dtype
        if current:
            self.buckets.append(_Bucket(current, np.dtype(current_dtype)))
        self.reduce_seconds = 0.0
        self.reductions = 0

    def reduce(
        self,
        pre_scale: float = 1.0,
        post_scale: float | None = None,
        extra: np.ndarray | None = None,
    ) -> np.ndarray | None:
        """Sum ``pre_scale · grad`` across ranks into every parameter's grad, times
        `post_scale` (None: 1 / world_size, the mean); return Σ_r extra_r if given."""
        summed = self.sum_gradients(pre_scale, extra)
        self.write_gradients(1.0 / group().size if post_scale is None else post_scale)
        return summed

    def sum_gradients(
        self, pre_scale: float = 1.0, extra: np.ndarray | None = None
    ) -> np.ndarray | None:
        """Step one: fill the buckets and allreduce them; Σ_r extra_r (float64) if given."""
        live = group()
        extra_size = 0 if extra is None else int(np.size(extra))
        if extra is not None and not self.buckets:
            return allreduce_array(np.array(extra, dtype=np.float64))
        for index, bucket in enumerate(self.buckets):
            bucket.room_for(extra_size if index == len(self.buckets) - 1 else 0)
            flat = bucket.flat
            for param, start, stop in zip(
                bucket.params, bucket.offsets[:-1], bucket.offsets[1:], strict=True
            ):
                grad = param.grad
                if grad is None:
                    flat[start:stop] = 0
                elif pre_scale == 1.0:
                    flat[start:stop] = grad.detach().numpy().reshape(-1)
                else:
                    np.multiply(grad.detach().numpy().reshape(-1), pre_scale, out=flat[start:stop])
            if bucket.extra:
                flat[bucket.offsets[-1] :] = np.asarray(extra).reshape(-1)
        started = time.perf_counter()
        if live.size > 1:
            requests = [
                live.comm.Iallreduce(live.mpi.IN_PLACE, b.flat, op=live.mpi.SUM)
                for b in self.buckets
            ]
            for request in requests:
                wait(request, "the gradient all_reduce")
        self.reduce_seconds += time.perf_counter() - started
        self.reductions += 1
        if extra is None:
            return None
        last = self.buckets[-1]
        return last.flat[last.offsets[-1] :].astype(np.float64)

    def write_gradients(self, post_scale: float) -> None:
        """Step two: each parameter's grad <- post_scale · its slice of the summed bucket."""
        for bucket in self.buckets:
            flat = bucket.flat
            for param, start, stop in zip(
                bucket.params, bucket.offsets[:-1], bucket.offsets[1:], strict=True
            ):
                values = flat[start:stop].reshape(param.shape)
                grad = param.grad
                if grad is None:
                    param.grad = Tensor(values * bucket.dtype.type(post_scale))
                else:
                    np.multiply(values, post_scale, out=grad.detach().numpy(), casting="unsafe")


def broadcast_tensors(tensors: Sequence[Tensor], src: int = 0) -> None:
    """Overwrite every tensor with rank `src`'s values, one broadcast per dtype."""
    if group().size == 1:
        return
    by_dtype: dict[np.dtype, list[np.ndarray]] = {}
    for tensor in tensors:
        array = tensor.detach().numpy()
        by_dtype.setdefault(array.dtype, []).append(array)
    for dtype in sorted(by_dtype, key=str):  # the same order on every rank
        arrays = by_dtype[dtype]
        flat = np.concatenate([a.reshape(-1) for a in arrays]) if arrays else np.empty(0, dtype)
        broadcast_array(flat, src)
        start = 0
        for array in arrays:
            array[...] = flat[start : start + array.size].reshape(array.shape)
            start += array.size
