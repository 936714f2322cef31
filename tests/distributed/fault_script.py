"""Ranks that fail in various ways, for the fault tests: python fault_script.py MODE.

raise: rank 1 raises during training; exit: rank 1 leaves the program early; hang: rank 1
sleeps while the others wait in an all_reduce (the deadline must end it). The ranks that
do not fail train in a loop of all_reduces until something stops them.
"""

import sys
import time

import numpy as np

import chainrule as torch
import chainrule.distributed as dist

dist.init_process_group(backend="mpi")
mode, rank = sys.argv[1], dist.get_rank()
t = torch.zeros(1000)
for step in range(100_000):
    if rank == 1 and step == 20:
        if mode == "raise":
            raise ValueError("the data on this rank is bad")
        if mode == "exit":
            sys.exit(0)
        if mode == "hang":
            time.sleep(600)
    dist.all_reduce(t)
    t.numpy()[:] = np.float32(rank)
print("rank", rank, "finished without noticing", flush=True)
