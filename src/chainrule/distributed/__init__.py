"""chainrule.distributed: data-parallel training over MPI, with torch.distributed's API.

    import chainrule.distributed as dist
    dist.init_process_group(backend="mpi")       # ranks and world size from mpiexec
    dist.get_rank(), dist.get_world_size()
    dist.all_reduce(t, op=dist.ReduceOp.SUM)     # in place, as torch
    dist.broadcast(t, src=0); dist.all_gather(tensors, t); dist.barrier()

Run with ``mpiexec -n 4 python script.py`` (the mpiexec of chainrule[distributed]'s
MPICH wheel sits next to the virtualenv's python). `nn.parallel.DistributedDataParallel`
and `data.DistributedSampler` build on it; `chainrule train --nproc N` uses it for the
command line. docs/distributed.md has the whole story.
"""

from chainrule.distributed.collectives import (
    ReduceOp,
    all_gather,
    all_reduce,
    barrier,
    broadcast,
)
from chainrule.distributed.group import (
    destroy_process_group,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_initialized,
    is_mpi_available,
)

__all__ = [
    "ReduceOp",
    "all_gather",
    "all_reduce",
    "barrier",
    "broadcast",
    "destroy_process_group",
    "get_rank",
    "get_world_size",
    "init_process_group",
    "is_available",
    "is_initialized",
    "is_mpi_available",
]
