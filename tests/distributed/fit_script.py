"""fit() data-parallel (ShardedLoader + GradientAllReduce) against the one-process fit.

    mpiexec -n W python fit_script.py DTYPE N BATCH OUT.npz

Every rank trains on its pieces of the global batches; rank 0 then trains the same model
alone on the whole batches and saves both weights and both histories. N and BATCH are
chosen by the tests so that shares are uneven and the last global batch can be smaller
than the world (some ranks get no sample in it).
"""

import sys

import numpy as np

import chainrule as cr
import chainrule.distributed as dist
from chainrule import nn, optim
from chainrule.data import ShardedLoader, TensorDataset
from chainrule.train import fit
from chainrule.train.distributed import GradientAllReduce

dtype, n, batch, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
dist.init_process_group(backend="mpi")
rank, world = dist.get_rank(), dist.get_world_size()

data = np.random.default_rng(0)
X = data.normal(size=(n, 6)).astype(dtype)
y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(np.int64) + (X[:, 2] > 0.8)
X_val, y_val = X[: n // 3], y[: n // 3]


def build() -> nn.Module:
    cr.manual_seed(1)
    model = nn.Sequential(nn.Linear(6, 24), nn.Tanh(), nn.Linear(24, 3))
    return model.double() if dtype == "float64" else model


def train(model: nn.Module, parallel: bool):
    generator = cr.Generator().manual_seed(5)
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    dataset = TensorDataset(cr.tensor(X), cr.tensor(y))
    if parallel:
        loader = ShardedLoader(dataset, batch, shuffle=True, generator=generator,
                               num_replicas=world, rank=rank)  # fmt: skip
        start, stop = rank * len(X_val) // world, (rank + 1) * len(X_val) // world
        val = (X_val[start:stop], y_val[start:stop])
        reducer = GradientAllReduce(model, bucket_cap_mb=0.0005)  # several small buckets
    else:
        loader = ShardedLoader(dataset, batch, shuffle=True, generator=generator,
                               num_replicas=1, rank=0)  # fmt: skip
        val, reducer = (X_val, y_val), None
    history = fit(model, nn.CrossEntropyLoss(), optimizer, loader, val=val, epochs=4,
                  metrics=["accuracy", "f1"], progress=False, reducer=reducer)  # fmt: skip
    if reducer is not None:
        assert len(reducer.buckets.buckets) > 1
    return history


parallel_model = build()
parallel_history = train(parallel_model, parallel=True)
weights = {f"parallel.{k}": v.detach().numpy() for k, v in parallel_model.state_dict().items()}
np.savez(f"{out}.rank{rank}.npz", **weights)
if rank == 0:
    alone = build()
    alone_history = train(alone, parallel=False)
    weights.update({f"alone.{k}": v.detach().numpy() for k, v in alone.state_dict().items()})
    for key, values in parallel_history.history.items():
        weights[f"history.parallel.{key}"] = np.array(values)
        weights[f"history.alone.{key}"] = np.array(alone_history.history[key])
    np.savez(out, **weights)
