"""A PyTorch DDP training script that runs on chainrule with the imports swapped.

    mpiexec -n 2 python ddp_script.py chainrule OUT.npz      # chainrule, backend="mpi"
    mpiexec -n 2 python ddp_script.py torch OUT.npz          # PyTorch, gloo (the reference)

Everything below the import block is the same code for both. It trains an MLP with
BatchNorm1d under DistributedDataParallel with Adam, a DistributedSampler over a dataset
whose size does not divide by the ranks (so the sampler pads), and gradient accumulation
with no_sync(); it also records all_reduce / broadcast / all_gather results. Rank 0 writes
the final weights and buffers, every rank its own parameters (they must agree).
"""

import contextlib
import os
import sys

import numpy as np

FRAMEWORK, OUT = sys.argv[1], sys.argv[2]
if FRAMEWORK == "torch":
    import torch
    import torch.distributed as dist
    import torch.nn.functional as F
    from torch import nn
    from torch.nn.parallel import DistributedDataParallel as DDP
    from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{os.environ['TORCH_PORT']}",
        rank=int(os.environ["PMI_RANK"]),
        world_size=int(os.environ["PMI_SIZE"]),
    )
    torch.set_num_threads(1)
else:
    import chainrule as torch
    import chainrule.distributed as dist
    import chainrule.nn.functional as F
    from chainrule import nn
    from chainrule.data import DataLoader, DistributedSampler, TensorDataset
    from chainrule.nn.parallel import DistributedDataParallel as DDP

    dist.init_process_group(backend="mpi")

# ---------------------------------------------------------------- the same code for both
rank, world = dist.get_rank(), dist.get_world_size()
results = {}

t = torch.tensor(np.arange(4.0) * (rank + 1))
dist.all_reduce(t, op=dist.ReduceOp.SUM)
results["sum"] = t.numpy().copy()
for name in ("MAX", "MIN"):
    t = torch.tensor(np.array([rank, -rank, 5 - rank], dtype=np.int64))
    dist.all_reduce(t, op=getattr(dist.ReduceOp, name))
    results[name.lower()] = t.numpy().copy()
t = torch.tensor(np.full(3, float(rank)))
dist.broadcast(t, src=world - 1)
results["broadcast"] = t.numpy().copy()
gathered = [torch.zeros(2, dtype=torch.float64) for _ in range(world)]
dist.all_gather(gathered, torch.tensor(np.array([rank, rank * 10.0])))
results["all_gather"] = np.stack([g.numpy() for g in gathered])
dist.barrier()

# a different initialisation on every rank: DDP must start all ranks from rank 0's
rng = np.random.default_rng(100 + rank)
model = nn.Sequential(nn.Linear(5, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3)).double()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(scale=0.5, size=tuple(p.shape))))
ddp = DDP(model)
optimizer = torch.optim.Adam(ddp.parameters(), lr=0.01)

data = np.random.default_rng(0)
X = torch.from_numpy(data.normal(size=(43, 5)))  # 43: not divisible by 2 or 3 ranks
y = torch.from_numpy(data.integers(0, 3, size=43))
dataset = TensorDataset(X, y)
sampler = DistributedSampler(dataset, shuffle=False)
loader = DataLoader(dataset, batch_size=4, sampler=sampler)

for epoch in range(3):
    sampler.set_epoch(epoch)
    for i, (xb, yb) in enumerate(loader):
        step_now = i % 2 == 1 or i == len(loader) - 1  # accumulate two batches per step
        with contextlib.nullcontext() if step_now else ddp.no_sync():
            loss = F.cross_entropy(ddp(xb), yb)
            loss.backward()
        if step_now:
            optimizer.step()
            optimizer.zero_grad()

state = {k: v.detach().numpy().copy() for k, v in ddp.module.state_dict().items()}
mine = {f"rank{rank}.{k}": v.detach().numpy().copy() for k, v in model.named_parameters()}
np.savez(f"{OUT}.rank{rank}.npz", **mine)
if rank == 0:
    np.savez(OUT, **results, **{f"state.{k}": v for k, v in state.items()})
# all ranks reach the teardown together: gloo's reference run once ended with "terminate
# called without an active exception" (status 15) in a fresh-clone CI, likely a rank
# tearing its group down while rank 0 still wrote its file (not reproduced in 12 runs)
dist.barrier()
dist.destroy_process_group()
