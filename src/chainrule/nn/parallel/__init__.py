"""chainrule.nn.parallel: `DistributedDataParallel` (needs chainrule[distributed] for MPI)."""

from chainrule.nn.parallel.distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
