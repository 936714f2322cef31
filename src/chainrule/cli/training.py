"""A training run on disk: what `chainrule train`, `evaluate`, `predict` and `make demo` do.

A run folder holds:

- ``model.safetensors``: the model, its architecture, the optimizer state, the epoch, both
  random streams, the history and the run's settings; rewritten atomically after every
  epoch, so an interrupted run resumes from it (``chainrule train --resume DIR``);
- ``history.json``, ``metrics.json`` (final test metrics: ``test_loss``, ``test_accuracy``,
  ... or ``test_mse``, ``test_r2``, ...);
- PNG plots: ``history.png``, ``confusion_matrix.png`` (classification),
  ``decision_boundary.png`` (2-D data), ``predictions.png`` (regression),
  ``misclassified.png`` (image data).

Resuming gives the same weights as an uninterrupted run: the data split depends only on the
seed, and the checkpoint carries the shuffling and dropout random streams as they were at
the end of its epoch.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chainrule import checkpoint, nn, optim
from chainrule.cli.evaluation import check_model_fits, load_run, test_metrics
from chainrule.cli.factories import build_model, loss_for, make_optimizer
from chainrule.cli.plotting import draw_plots
from chainrule.cli.preparation import PreparedData, prepare_data
from chainrule.cli.run_config import MODEL_FILE, RunConfig, check_run_size, stored_data
from chainrule.cli.run_folder import claim, clear_results
from chainrule.cli.run_schema import RunFolderError
from chainrule.files import atomic_write_json
from chainrule.random import Generator, get_rng_state, manual_seed, set_rng_state
from chainrule.tensor import Tensor
from chainrule.train import Callback, History, TrainState, fit, predict


class EpochCheckpoint(Callback):
    """Save everything a resume needs after every epoch, atomically, to DIR/model.safetensors."""

    def __init__(self, path: Path, config: RunConfig, data: PreparedData, loader_rng: Generator):
        self.path, self.config, self.data, self.loader_rng = path, config, data, loader_rng

    def on_epoch_end(self, state: TrainState) -> None:
        save_run_checkpoint(self.path, state.model, state.optimizer, state.epoch,
                            state.history, self.config, self.data, self.loader_rng)  # fmt: skip


def save_run_checkpoint(
    path: Path,
    model: nn.Module,
    optimizer: optim.Optimizer,
    epoch: int,
    history: History,
    config: RunConfig,
    data: PreparedData,
    loader_rng: Generator,
) -> None:
    checkpoint.save(
        {
            "model": model,
            "optimizer": optimizer,
            "epoch": epoch,
            "history": history.to_dict(),
            "rng": get_rng_state(),
            "loader_rng": loader_rng.get_state(),
            "run": config.to_dict(),
            "task": data.info.task,
            "num_classes": data.info.num_classes,
            "feature_names": list(data.info.feature_names),
            "class_names": data.info.class_names,
            "scaler_mean": data.scaler.mean,
            "scaler_std": data.scaler.std,
        },
        path,
    )


class RunFailed(ValueError):
    """Training stopped before its last epoch (a NaN, an overflow): the run is not a result."""


def _restore(saved: checkpoint.Checkpoint, optimizer: optim.Optimizer, loader_rng: Generator,
             where: str) -> tuple[History, int]:  # fmt: skip
    """Put a saved run's optimizer and random streams back; the history and next epoch."""
    try:
        checkpoint.restore_optimizer(saved, optimizer)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
        raise RunFolderError(f"{where}: its optimizer state cannot be restored: {error}") from None
    for group in optimizer.param_groups:
        numbers = [v for k, v in group.items() if k != "params" and not isinstance(v, str)]
        flat = [x for v in numbers for x in (v if isinstance(v, (tuple, list)) else (v,))]
        if not all(isinstance(x, (int, float)) and math.isfinite(x) for x in flat if x is not None):
            raise RunFolderError(f"{where}: its optimizer settings hold a non-finite value")
    set_rng_state(saved["rng"])
    loader_rng.set_state(saved["loader_rng"])
    return History.from_dict(saved["history"]), int(saved.epoch) + 1


class _RankDropoutStream(Callback):
    """Data-parallel runs: each rank draws its dropout masks from its own stream, seeded by
    (seed, rank, epoch) at every epoch, so ranks do not repeat each other's masks and a
    resumed run draws what the uninterrupted one would have."""

    def __init__(self, seed: int, rank: int) -> None:
        self.seed, self.rank = seed, rank

    def on_epoch_begin(self, state: TrainState) -> None:
        entropy = np.random.SeedSequence([self.seed, self.rank, state.epoch])
        manual_seed(int(entropy.generate_state(1, np.uint64)[0] >> np.uint64(1)))


@dataclass
class _RankShare:
    """This rank's part of a data-parallel run (see `_rank_share`)."""

    rank: int
    train: Any
    val: Any
    callbacks: list[Callback]
    reducer: Any


def _rank_share(
    data: PreparedData, model: nn.Module, config: RunConfig, loader_rng: Generator
) -> _RankShare:
    """Its piece of every global batch, its contiguous share of the validation split, its
    dropout stream, and the reducer that makes the steps and logs global."""
    from chainrule import distributed
    from chainrule.data import ShardedLoader, TensorDataset
    from chainrule.nn.parallel.buckets import broadcast_tensors
    from chainrule.train.distributed import GradientAllReduce

    rank, world = distributed.get_rank(), distributed.get_world_size()
    broadcast_tensors([*model.parameters(), *model.buffers()], src=0)  # identical already
    dtype = next(model.parameters()).detach().numpy().dtype
    X, y = data.train
    train = ShardedLoader(TensorDataset(Tensor(np.asarray(X, dtype=dtype)), Tensor(y)),
                          config.batch_size, shuffle=True, generator=loader_rng,
                          num_replicas=world, rank=rank)  # fmt: skip
    val = None
    if data.val is not None:
        m = len(data.val[0])
        start, stop = rank * m // world, (rank + 1) * m // world
        val = (data.val[0][start:stop], data.val[1][start:stop])
    streams: list[Callback] = [_RankDropoutStream(config.seed, rank)] if world > 1 else []
    return _RankShare(rank, train, val, streams, GradientAllReduce(model))


def train_run(
    config: RunConfig,
    resume: bool = False,
    progress: bool = True,
    plots: bool = True,
    data: str | None = None,
    distributed: bool = False,
) -> dict[str, float]:
    """Train (or resume) the run in `config.out` and return the final test metrics.

    The folder is locked for the whole run (a second writer is refused) and always holds
    one run: before the model changes, the previous results (metrics, history, plots; and
    for a new run the old model) are removed, and they are written again at the end. With
    `resume`, the saved settings are used; a saved data source that names files is read
    only when the user names it again as `data`. Raises `RunFailed` when training
    diverges (the folder then holds the last good epoch's model, if any, and its history).

    With `distributed`, this process is one rank of an MPI job (`chainrule train --nproc`,
    or started by mpiexec/srun): `config.batch_size` is the global batch, split across the
    ranks, so the weights equal the one-process run's (docs/distributed.md). Rank 0 alone
    locks and writes the folder and shows progress; the other ranks return {}.
    """
    out = Path(config.out)
    if not resume:
        config.check()  # bad settings never create or touch the folder
    if distributed:
        from chainrule import distributed as dist

        if not dist.is_initialized():
            dist.init_process_group(backend="mpi")
        if dist.get_rank() != 0:  # rank 0 holds the lock and alone writes
            return _train_locked(config, out, resume, False, False, data, distributed)
    with claim(out):
        return _train_locked(config, out, resume, progress, plots, data, distributed)


def _fit_run(
    model: nn.Module,
    classification: bool,
    optimizer: optim.Optimizer,
    data: PreparedData,
    config: RunConfig,
    progress: bool,
    loader_rng: Generator,
    start_epoch: int,
    history: History,
    model_path: Path,
    share: _RankShare | None = None,
) -> History:
    train, val, callbacks, reducer = data.train, data.val, [], None
    if share is not None:  # a data-parallel rank
        train, val, callbacks, reducer = share.train, share.val, share.callbacks, share.reducer
    if share is None or share.rank == 0:
        callbacks = [*callbacks, EpochCheckpoint(model_path, config, data, loader_rng)]
    return fit(
        model,
        loss_for(classification),
        optimizer,
        train,
        val=val,
        epochs=config.epochs,
        batch_size=config.batch_size,
        metrics=["accuracy"] if classification else ["mae"],
        progress=progress,
        generator=loader_rng,
        start_epoch=start_epoch,
        history=history,
        callbacks=callbacks,
        reducer=reducer,
    )


def _train_locked(
    config: RunConfig,
    out: Path,
    resume: bool,
    progress: bool,
    plots: bool,
    data_spec: str | None,
    distributed: bool = False,
) -> dict[str, float]:
    model_path = out / MODEL_FILE
    saved = None
    if resume:
        if not model_path.exists():
            raise FileNotFoundError(f"cannot resume: {model_path} does not exist")
        saved, _model, stored = load_run(out)
        epochs = config.epochs
        stored.data = stored_data(stored.data, str(model_path), data_spec,
                                   f"chainrule train --resume {out}")  # fmt: skip
        config = stored
        config.out, config.epochs = str(out), max(epochs, config.epochs)
    elif data_spec is not None:
        config.data = data_spec
    config.check()
    manual_seed(config.seed)
    data = prepare_data(config)
    check_run_size(config, data.info.n_samples, data.info.n_features, data.n_outputs,
                   data.info.num_classes)  # fmt: skip
    classification = data.classification
    if saved is not None:
        model = saved.model
        assert model is not None
        check_model_fits(model, data.info.n_features, data.n_outputs, str(model_path))
    else:
        model = build_model(data.info.n_features, config.hidden, config.activation,
                            data.n_outputs, config.dropout)  # fmt: skip
    optimizer = make_optimizer(config.optimizer, model.parameters(), config.lr, config.weight_decay)
    loader_rng = Generator().manual_seed(config.seed)
    history, start_epoch = History(), 0
    if saved is not None:
        history, start_epoch = _restore(saved, optimizer, loader_rng, str(model_path))
    share = _rank_share(data, model, config, loader_rng) if distributed else None
    if share is None or share.rank == 0:
        removed = clear_results(out, model_too=saved is None)  # the folder now holds one run
        if saved is None and MODEL_FILE in removed:
            print(f"note: replaced the previous run in {out}", file=sys.stderr)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # TerminateOnNaN says it
        history = _fit_run(model, classification, optimizer, data, config, progress, loader_rng,
                           start_epoch, history, model_path, share)  # fmt: skip
    if share is not None and share.rank != 0:
        return {}  # rank 0 writes the results and reports a failure
    atomic_write_json(out / "history.json", history.to_dict())
    if history.stopped_reason is not None:
        kept = (
            f"{out} keeps the model of epoch {history.epoch[-1] + 1} and its history"
            if history.epoch
            else f"no model was saved in {out}"
        )
        raise RunFailed(f"training did not finish: {history.stopped_reason} ({kept})")
    outputs = predict(model, data.test[0], batch_size=1024)  # once, for metrics and plots
    results = test_metrics(outputs, data)
    atomic_write_json(out / "metrics.json", results)
    if plots:
        draw_plots(out, model, data, history, outputs)
    return results
