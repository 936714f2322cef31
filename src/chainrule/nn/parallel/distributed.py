"""`DistributedDataParallel`: the same model on every rank, gradients averaged after backward.

As PyTorch's DDP: construction broadcasts rank 0's parameters and buffers to every rank, so
all start from the same weights; each rank runs forward and backward on its own share of
the data; once backward has finished, the gradients are averaged across ranks
(g <- (1/W) Σ_r g_r, bucketed: `GradientBuckets`), so every rank's optimizer takes the same
step and the weights stay identical without ever being sent again.

What is and is not synchronised (as in PyTorch without SyncBatchNorm):

- parameters: once at construction; gradients: every backward (outside `no_sync`);
- buffers (BatchNorm's running_mean / running_var / num_batches_tracked): rank 0's are
  broadcast at the start of each forward that follows a training forward (PyTorch's
  ``broadcast_buffers=True``); the batch statistics BatchNorm normalises with are each
  rank's own batch's (no SyncBatchNorm);
- dropout masks and any other randomness: each rank's own generator.

Differences from PyTorch: the gradients are reduced after backward rather than bucket by
bucket during it (NumPy's backward holds the core, so there is nothing to overlap with);
a parameter that got no gradient on a rank counts as zeros there (PyTorch would need
``find_unused_parameters=True``); a step compiled with `chainrule.capture.compile_step`
bypasses the engine's hooks and is not reduced.
"""

from __future__ import annotations

import weakref
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from chainrule.autograd import is_grad_enabled, register_post_backward_hook
from chainrule.distributed.collectives import allgather_arrays
from chainrule.distributed.group import group
from chainrule.nn.modules.module import Module
from chainrule.nn.parallel.buckets import DEFAULT_BUCKET_CAP_MB, GradientBuckets, broadcast_tensors
from chainrule.tensor import Tensor

__all__ = ["DistributedDataParallel"]


class _WeakHook:
    """The engine keeps this, not the DDP object: a dropped DDP unregisters itself."""

    def __init__(self, ddp: DistributedDataParallel) -> None:
        self.ref = weakref.ref(ddp)
        self.handle: Any = None

    def __call__(self, leaves: Sequence[Tensor]) -> None:
        ddp = self.ref()
        if ddp is None:
            self.handle.remove()
            return
        ddp._after_backward(leaves)


def _check_same_model(named: list[tuple[str, np.ndarray]]) -> None:
    """Every rank must wrap the same architecture: compare a fingerprint of names/shapes."""
    text = ";".join(f"{name}:{a.dtype}:{a.shape}" for name, a in named)
    mine = np.array([zlib.crc32(text.encode()), len(named)], dtype=np.int64)
    everyone = allgather_arrays(mine.reshape(1, 2))
    for rank, theirs in enumerate(everyone):
        if not np.array_equal(theirs.reshape(-1), mine):
            raise ValueError(
                f"DistributedDataParallel: rank {rank}'s model differs from rank "
                f"{group().rank}'s (parameter or buffer names, shapes or dtypes); every rank "
                "must build the same model"
            )


class DistributedDataParallel(Module):
    """Data parallelism across the ranks of `chainrule.distributed` (PyTorch's class).

    Args:
        module: the model; available as ``.module`` (``ddp.module.state_dict()`` saves it
            without the ``module.`` prefix, as in PyTorch).
        broadcast_buffers: broadcast rank 0's buffers before each training forward.
        bucket_cap_mb: the size of a gradient bucket in MB (default 25, PyTorch's).
        init_sync: broadcast rank 0's parameters and buffers at construction.
        device_ids, output_device, dim, process_group, find_unused_parameters, ...:
            accepted for PyTorch's signature (CPU and the default group only).

    Example::

        dist.init_process_group(backend="mpi")
        model = DistributedDataParallel(build_model())
        for xb, yb in loader:                 # a DistributedSampler shards the data
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward() # gradients averaged over the ranks here
            optimizer.step()
    """

    def __init__(
        self,
        module: Module,
        device_ids: Any = None,
        output_device: Any = None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        process_group: Any = None,
        bucket_cap_mb: float | None = None,
        find_unused_parameters: bool = False,
        check_reduction: bool = False,
        gradient_as_bucket_view: bool = False,
        static_graph: bool = False,
        init_sync: bool = True,
        **_ignored: Any,
    ) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps an nn.Module, got {type(module)}")
        group()  # RuntimeError if init_process_group was not called
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self._reduce_after_backward = False
        params = [p for p in module.parameters() if p.requires_grad]
        self._param_ids = {id(p) for p in params}
        cap = DEFAULT_BUCKET_CAP_MB if bucket_cap_mb is None else float(bucket_cap_mb)
        self._buckets = GradientBuckets(params, cap)
        named = [(n, t.detach().numpy()) for n, t in module.state_dict(keep_vars=True).items()]
        _check_same_model(named)
        if init_sync:
            broadcast_tensors([*module.parameters(), *self._module_buffers()], src=0)
        hook = _WeakHook(self)
        hook.handle = register_post_backward_hook(hook)

    def _module_buffers(self) -> list[Tensor]:
        return [b for b in self.module.buffers() if b is not None]

    @property
    def buckets(self) -> GradientBuckets:
        """The gradient buckets (``.buckets`` has their layout, ``.reduce_seconds`` the time)."""
        return self._buckets

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if self.require_forward_param_sync and self.broadcast_buffers:
            buffers = self._module_buffers()
            if buffers:
                broadcast_tensors(buffers, src=0)
        sync = is_grad_enabled() and self.require_backward_grad_sync
        self.require_forward_param_sync = sync  # PyTorch's rule for the next forward's buffers
        self._reduce_after_backward = sync
        return self.module(*inputs, **kwargs)

    def _after_backward(self, leaves: Sequence[Tensor]) -> None:
        if not self._reduce_after_backward:
            return
        if not any(id(leaf) in self._param_ids for leaf in leaves):
            return  # a backward that did not reach this model
        self._reduce_after_backward = False
        self._buckets.reduce()

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Forwards inside skip the gradient averaging of their backward: gradients
        accumulate locally, and the first backward after the block averages the sum."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous
