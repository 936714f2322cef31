"""`GradientAllReduce`: `fit`'s `Reducer` over MPI, for data-parallel training.

Each rank holds a share of every global batch (`chainrule.data.ShardedLoader`: n_r of its
N = Σ_r n_r samples) and computes the mean-loss gradient g_r of its share. One bucketed
allreduce per step (`GradientBuckets`) then gives every rank

    g = Σ_r n_r·g_r / N        (the gradient of the mean loss over the whole batch)

together with N and Σ_r n_r·loss_r, which ride in the same message. So the step equals
the single-process step on the same global batch, up to floating-point summation order,
also when the shares are uneven or some are empty. At the end of an epoch (and of a
validation pass), `reduce_totals` sums the sample counts and loss sums in float64 and
`gather` hands every rank all ranks' streamed metric counts and sums (O(classes), not the
outputs: `chainrule.train.streaming`), so loss, accuracy, F1, R² are those of all samples,
the same on every rank (callbacks such as EarlyStopping agree). Only a custom metric
function, which needs every output, has the predictions and targets gathered.

Unlike `DistributedDataParallel`'s plain mean, the weights n_r / N make uneven shares
exact; both use the same buckets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.distributed.collectives import allgather_arrays, allreduce_array, broadcast_array
from chainrule.distributed.group import get_rank
from chainrule.nn.parallel.buckets import DEFAULT_BUCKET_CAP_MB, GradientBuckets

__all__ = ["GradientAllReduce"]


class GradientAllReduce:
    """Sample-weighted gradient averaging and global logs for `fit(..., reducer=...)`."""

    def __init__(self, model: Any, bucket_cap_mb: float = DEFAULT_BUCKET_CAP_MB) -> None:
        params = [p for p in model.parameters() if p.requires_grad]
        self.buckets = GradientBuckets(params, bucket_cap_mb)

    def reduce_step(self, model: Any, loss: float, n: int) -> tuple[float, int]:
        stats = np.array([n, loss * n if n else 0.0], dtype=np.float64)
        summed = self.buckets.sum_gradients(pre_scale=float(n), extra=stats)
        assert summed is not None
        total = float(summed[0])
        self.buckets.write_gradients(1.0 / total if total else 0.0)
        return (float(summed[1]) / total if total else float("nan")), int(round(total))

    def reduce_totals(
        self,
        samples: int,
        loss_sum: float,
        predictions: list[np.ndarray],
        targets: list[np.ndarray],
    ) -> tuple[int, float, list[np.ndarray], list[np.ndarray]]:
        sums = allreduce_array(np.array([samples, loss_sum], dtype=np.float64))
        gathered_predictions = _gather(predictions)
        gathered_targets = _gather(targets)
        return int(round(sums[0])), float(sums[1]), gathered_predictions, gathered_targets

    def gather(self, vector: np.ndarray) -> list[np.ndarray]:
        return allgather_arrays(np.asarray(vector, dtype=np.float64))


def _gather(pieces: list[np.ndarray]) -> list[np.ndarray]:
    """Every rank's pieces, concatenated per rank (a rank without any sends an empty one
    shaped like the others': their trailing shape and dtype are agreed on first)."""
    local = np.concatenate(pieces) if pieces else None
    has = allgather_arrays(np.array([local is not None], dtype=np.int64))
    if local is None or not all(int(h[0]) for h in has):
        if not any(int(h[0]) for h in has):
            return []
        donor = next(r for r, h in enumerate(has) if int(h[0]))  # the first rank with data
        template = _broadcast_template(local, donor)
        local = template if local is None else local
    return [piece for piece in allgather_arrays(local) if len(piece)]


def _broadcast_template(local: np.ndarray | None, donor: int) -> np.ndarray:
    """An empty array with the donor rank's trailing shape and dtype, on every rank."""
    header = np.zeros(8, dtype=np.int64)  # ndim, dtype code, up to 6 trailing sizes
    if get_rank() == donor and local is not None:
        header[0], header[1] = local.ndim, ord(local.dtype.char)
        header[2 : 1 + local.ndim] = local.shape[1:]
    broadcast_array(header, donor)
    ndim, code = int(header[0]), chr(int(header[1]))
    return np.empty((0, *header[2 : 1 + ndim].tolist()), dtype=np.dtype(code))
