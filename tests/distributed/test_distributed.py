"""chainrule.distributed over real MPI processes: collectives, DDP against PyTorch's DDP,
DistributedSampler against torch's, and what happens when a rank fails."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chainrule.data import DistributedSampler
from tests.support.mpi import HERE, free_port, run_ranks


@pytest.mark.parametrize("n", [2, 3])
def test_collectives_in_ranks(n: int) -> None:
    done = run_ranks(n, [str(HERE / "collectives_script.py"), str(n)])
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("ok") == n  # each rank checked its results and said so


@pytest.mark.parametrize("n", [2, 3])
def test_torch_ddp_script_runs_on_chainrule_and_matches_torch(n: int, tmp_path) -> None:
    """The same DDP script (Adam, BatchNorm1d, DistributedSampler with padding, no_sync)
    under PyTorch's gloo backend and under chainrule's MPI: same collectives, same final
    weights and BatchNorm buffers (rank 0's, per-rank statistics as in torch)."""
    script = str(HERE / "ddp_script.py")
    ours, theirs = tmp_path / "chainrule.npz", tmp_path / "torch.npz"
    done = run_ranks(n, [script, "chainrule", str(ours)])
    assert done.returncode == 0, done.stderr
    reference = run_ranks(n, [script, "torch", str(theirs)], TORCH_PORT=str(free_port()))
    assert reference.returncode == 0, reference.stderr
    a, b = np.load(ours), np.load(theirs)
    assert sorted(a.files) == sorted(b.files)
    for key in b.files:
        assert a[key].shape == b[key].shape, key
        # 0.bias feeds BatchNorm, which cancels it: its gradient is rounding noise that
        # Adam normalises, so it (and the running mean it shifts) drift apart at 1e-9;
        # everything else agrees to 1e-15
        tolerance = 1e-7 if key in ("state.0.bias", "state.1.running_mean") else 1e-10
        np.testing.assert_allclose(a[key], b[key], rtol=0, atol=tolerance, err_msg=key)
    assert a["broadcast"].tolist() == [n - 1.0] * 3
    assert a["sum"].tolist() == (np.arange(4.0) * n * (n + 1) / 2).tolist()
    # the parameters are the same on every rank (the averaged gradients keep them so)
    ranks = [np.load(f"{ours}.rank{r}.npz") for r in range(n)]
    for key in ranks[0].files:
        name = key.split(".", 1)[1]
        for r in range(1, n):
            np.testing.assert_array_equal(ranks[r][f"rank{r}.{name}"], ranks[0][key])


def test_without_a_process_group_the_calls_say_so() -> None:
    import chainrule.distributed as dist
    from chainrule import nn
    from chainrule.nn.parallel import DistributedDataParallel

    assert not dist.is_initialized()
    with pytest.raises(RuntimeError, match="init_process_group"):
        dist.get_rank()
    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedDataParallel(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="backend 'nccl' is not available"):
        dist.init_process_group(backend="nccl")


# ---------------------------------------------------------------------- DistributedSampler
CASES = [(n, w, drop) for n in (0, 1, 5, 10, 11, 12, 43) for w in (1, 2, 3, 4, 7)
         for drop in (False, True)]  # fmt: skip


@pytest.mark.parametrize(("n", "world", "drop_last"), CASES)
def test_sampler_indices_equal_torch_without_shuffle(n: int, world: int, drop_last: bool) -> None:
    from torch.utils.data import DistributedSampler as TorchSampler

    for rank in range(world):
        ours = DistributedSampler(range(n), world, rank, shuffle=False, drop_last=drop_last)
        theirs = TorchSampler(range(n), world, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs)


@pytest.mark.parametrize(
    ("n", "world", "drop_last"), [(10, 4, False), (11, 3, True), (43, 2, False), (3, 7, False)]
)
def test_sampler_shuffled_equals_torch_given_the_same_permutation(
    n: int, world: int, drop_last: bool, monkeypatch
) -> None:
    """chainrule's randperm is not torch's, so torch's sampler is given chainrule's
    permutation for its seed + epoch: then every rank's indices agree for every epoch."""
    import torch
    from torch.utils.data import DistributedSampler as TorchSampler

    from chainrule import Generator, randperm

    def chainrule_randperm(size: int, generator: torch.Generator) -> torch.Tensor:
        order = randperm(size, generator=Generator().manual_seed(generator.initial_seed()))
        return torch.from_numpy(order.numpy().copy())

    monkeypatch.setattr(torch, "randperm", chainrule_randperm)
    for epoch in (0, 1, 5):
        orders = []
        for rank in range(world):
            ours = DistributedSampler(range(n), world, rank, seed=3, drop_last=drop_last)
            theirs = TorchSampler(range(n), world, rank, seed=3, drop_last=drop_last)
            ours.set_epoch(epoch)
            theirs.set_epoch(epoch)
            assert list(ours) == list(theirs)
            orders.append(list(ours))
        covered = {i for order in orders for i in order}
        assert covered == (set(range(n)) if not drop_last else covered)
    assert len(ours) == (n // world if drop_last else math.ceil(n / world))


def test_sampler_epochs_differ_and_bad_rank_is_refused() -> None:
    sampler = DistributedSampler(range(20), 2, 0)
    first = list(sampler)
    sampler.set_epoch(1)
    assert list(sampler) != first
    with pytest.raises(ValueError, match="Invalid rank 2"):
        DistributedSampler(range(20), 2, 2)


# ---------------------------------------------------------------------- faults
@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("raise", "rank 1 failed with ValueError: the data on this rank is bad"),
        ("exit", "rank 1 exited"),
        ("hang", "all_reduce timed out after 3 s"),
    ],
)
def test_a_failing_rank_stops_the_job_with_a_message(mode: str, message: str) -> None:
    """No hang: every rank exits (well within the test's 60 s liveness bound) and the
    stderr names what happened."""
    done = run_ranks(3, [str(HERE / "fault_script.py"), mode], timeout=60,
                     CHAINRULE_DIST_TIMEOUT="3")  # fmt: skip
    assert done.returncode != 0
    assert message in done.stderr, done.stderr
    assert "finished without noticing" not in done.stdout
