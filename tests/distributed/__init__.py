"""chainrule.distributed and DistributedDataParallel across real MPI ranks."""
