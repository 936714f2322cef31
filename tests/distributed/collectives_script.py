"""chainrule's collectives and their edge cases, checked inside the ranks (exit 1 on error)."""

import sys

import numpy as np

import chainrule as torch
import chainrule.distributed as dist
from chainrule.distributed.collectives import allgather_arrays

assert not dist.is_initialized()
dist.init_process_group(backend="mpi")
assert dist.is_initialized()
rank, world = dist.get_rank(), dist.get_world_size()
assert world == int(sys.argv[1]), (world, sys.argv)

t = torch.tensor(np.arange(6, dtype=np.float32).reshape(2, 3) * (rank + 1))
dist.all_reduce(t, op=dist.ReduceOp.AVG)
expected = np.arange(6).reshape(2, 3) * np.mean(np.arange(1, world + 1))
np.testing.assert_allclose(t.numpy(), expected, rtol=1e-6)
assert t.dtype == torch.float32

t = torch.tensor(np.array([rank + 1], dtype=np.int64))
dist.all_reduce(t, op=dist.ReduceOp.PRODUCT)
assert t.item() == np.prod(np.arange(1, world + 1)), t

# uneven pieces: rank r contributes r + 1 rows
pieces = allgather_arrays(np.full((rank + 1, 2), rank, dtype=np.float64))
assert [p.shape for p in pieces] == [(r + 1, 2) for r in range(world)]
assert all((p == r).all() for r, p in enumerate(pieces))

for bad in (lambda: dist.broadcast(torch.zeros(2), src=world),
            lambda: dist.all_gather([torch.zeros(2)] * (world + 1), torch.zeros(2)),
            lambda: dist.all_reduce(torch.tensor([1, 2]), op=dist.ReduceOp.AVG),
            lambda: dist.init_process_group("mpi")):  # fmt: skip
    try:
        bad()
    except (ValueError, TypeError, RuntimeError):
        pass
    else:
        raise AssertionError("expected an error")
# DDP refuses models that differ between ranks, on every rank, naming one
from chainrule import nn  # noqa: E402
from chainrule.nn.parallel import DistributedDataParallel  # noqa: E402

try:
    DistributedDataParallel(nn.Linear(3, 2 + (rank == world - 1)))
except ValueError as error:
    assert "differs" in str(error), error
else:
    raise AssertionError("a model that differs between ranks was accepted")
dist.barrier()
import os  # noqa: E402

import threadpoolctl  # noqa: E402

blas = [pool for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]
assert blas and all(pool["num_threads"] == int(os.environ["CHAINRULE_THREADS"]) for pool in blas)
dist.destroy_process_group()
assert not dist.is_initialized()
sys.stdout.write(f"ok {rank}\n")
