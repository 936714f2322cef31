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

import dataclasses
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chainrule import checkpoint, limits, nn, optim
from chainrule.autograd import no_grad
from chainrule.data import Standardizer, load_dataset, train_test_split
from chainrule.data.registry import DatasetInfo
from chainrule.data.tabular import load_features
from chainrule.files import atomic_write_json
from chainrule.random import Generator, get_rng_state, manual_seed, set_rng_state
from chainrule.run_folder import claim, clear_results
from chainrule.run_schema import RunFolderError, check_run_entries, check_settings_types
from chainrule.tensor import Tensor
from chainrule.train import Callback, History, TrainState, fit, metrics, predict

ACTIVATIONS: dict[str, type[nn.Module]] = nn.registry.activation_names()
"""`--activation` choices: every layer declared with an activation name (nn.registry)."""

OPTIMIZERS = optim.OPTIMIZER_NAMES
MODEL_FILE = "model.safetensors"
MAX_PLOTTED_CLASSES = 100  # more classes than this get no confusion-matrix plot


@dataclass
class RunConfig:
    """The settings of a training run (`chainrule train`'s options)."""

    data: str = "digits"
    hidden: tuple[int, ...] = (64,)
    activation: str = "relu"
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    dropout: float = 0.0
    epochs: int = 20
    batch_size: int = 32
    seed: int = 0
    samples: int = 1000
    noise: float = 0.1
    test_fraction: float = 0.2
    val_fraction: float = 0.1
    out: str = "runs/latest"

    def check(self) -> RunConfig:
        """Raise ValueError with a one-line reason for any setting out of range (the
        limits are those of `chainrule.limits`)."""
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {self.activation!r}: choose from {', '.join(ACTIVATIONS)}"
            )
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {self.optimizer!r}: choose from {', '.join(OPTIMIZERS)}"
            )
        _in_range("learning rate", self.lr, 0.0, limits.MAX_LR, low_open=True)
        _in_range("weight_decay", self.weight_decay, 0.0, limits.MAX_WEIGHT_DECAY)
        _in_range("noise", self.noise, 0.0, limits.MAX_NOISE)
        _in_range("dropout", self.dropout, 0.0, 1.0, high_open=True)
        _in_range("test_fraction", self.test_fraction, 0.0, 1.0, low_open=True, high_open=True)
        _in_range("val_fraction", self.val_fraction, 0.0, 1.0, high_open=True)
        if len(self.hidden) > limits.MAX_HIDDEN_LAYERS:
            raise ValueError(
                f"{len(self.hidden)} hidden layers: at most {limits.MAX_HIDDEN_LAYERS}"
            )
        if any(not 1 <= width <= limits.MAX_WIDTH for width in self.hidden):
            raise ValueError(
                f"hidden layer sizes must lie in 1..{limits.MAX_WIDTH}, got {list(self.hidden)}"
            )
        for name, high in (("epochs", limits.MAX_EPOCHS), ("batch_size", limits.MAX_BATCH_SIZE),
                           ("samples", limits.MAX_SAMPLES)):  # fmt: skip
            if not 1 <= getattr(self, name) <= high:
                raise ValueError(f"{name} must lie in 1..{high}, got {getattr(self, name)}")
        return self

    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["hidden"] = list(self.hidden)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str = "run settings") -> RunConfig:
        """The settings saved by `to_dict`, each type-checked (RunFolderError naming
        `where` and the field); unknown keys are ignored. Call `check` for the ranges."""
        defaults = cls().to_dict()
        defaults["hidden"] = tuple(defaults["hidden"])
        check_settings_types(values, defaults, where)
        known = {f.name for f in dataclasses.fields(cls)}
        kept = {k: v for k, v in values.items() if k in known}
        kept["hidden"] = tuple(kept.get("hidden", ()))
        return cls(**kept)


def _in_range(
    name: str,
    value: float,
    low: float,
    high: float,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """ValueError unless `value` is a finite number in the interval (inf and nan never are)."""
    ok = math.isfinite(value) and (low < value if low_open else low <= value)
    ok = ok and (value < high if high_open else value <= high)
    if not ok:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{name} must be a finite number in {left}{low:g}, {high:g}{right}, "
                         f"got {value}")  # fmt: skip


def is_builtin_data(spec: str) -> bool:
    """Whether a data spec names a built-in dataset (generated or shipped: 'spiral',
    'digits', ...) rather than files ('csv:PATH:T', 'mnist:DIR'): a spec with an argument
    after a colon may name a path, and a path stored in a run folder is never opened."""
    return ":" not in spec


def _stored_data(spec: str, where: str, given: str | None, command: str) -> str:
    """The data spec to use for a saved run: the one the user named, else the stored one
    when it is built-in. A stored spec that names files is refused (class 1 of issue 14:
    a run folder never chooses what chainrule reads)."""
    if given is not None:
        return given
    if is_builtin_data(spec):
        return spec
    raise RunFolderError(
        f"{where} says its data is {spec!r}, which names files; chainrule does not open a "
        f"path stored in a run folder: name the data yourself, e.g. {command} --data SPEC"
    )


def _param_count(n_features: int, hidden: tuple[int, ...], n_outputs: int) -> int:
    widths = [n_features, *hidden, n_outputs]
    return sum((a + 1) * b for a, b in zip(widths, widths[1:], strict=False))


def check_run_size(
    config: RunConfig, n_samples: int, n_features: int, n_outputs: int, num_classes: int | None
) -> None:
    """Refuse, before anything is allocated for it, a run whose model or memory would be
    over the limits of `chainrule.limits` (one clear line saying which and by how much)."""
    if not 1 <= n_features <= limits.MAX_FEATURES:
        raise ValueError(f"the data has {n_features} features: between 1 and "
                         f"{limits.MAX_FEATURES} are supported")  # fmt: skip
    if num_classes is not None and num_classes > limits.MAX_CLASSES:
        raise ValueError(
            f"the target has {num_classes} classes, more than {limits.MAX_CLASSES}: if it is a "
            "number to predict, write it with a decimal point (regression)"
        )
    params = _param_count(n_features, config.hidden, n_outputs)
    if params > limits.MAX_PARAMETERS:
        raise ValueError(
            f"--hidden {','.join(map(str, config.hidden))} makes a model of {params:,} "
            f"parameters, over the limit of {limits.MAX_PARAMETERS:,}"
        )
    width = n_features + 2 * sum(config.hidden) + n_outputs
    batch = min(config.batch_size, max(n_samples, 1))
    estimate = 4 * (
        4 * params  # weights, gradients, two optimizer moments
        + 3 * max(batch, 1024) * width  # a batch's activations and gradients (predict: 1024)
        + 4 * n_samples * (n_features + n_outputs)  # the data, its split and standardised copy
    )
    if estimate > limits.MAX_RUN_BYTES:
        raise ValueError(
            f"this run would need about {estimate / limits.GiB:.1f} GiB of memory, over the "
            f"{limits.MAX_RUN_BYTES / limits.GiB:.0f} GiB limit: use fewer samples, smaller "
            "layers or a smaller batch"
        )


# Settings that differ from RunConfig's for a dataset, used when `chainrule train` is not
# given them (measured with --seed 0; the README has the figures):
# - digits: 97.8% test accuracy with the plain defaults, 98.6% with these (mean over seeds
#   0-4: 96.9% -> 97.7%);
# - mnist: 256 hidden units, as scikit-learn's MLPClassifier((256,)) it is compared with;
# - mnist1d: the MLP width, learning rate and batch of Greydanus (2020), about the 6,000
#   steps of the paper (40 batches of 100 an epoch).
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "digits": {"hidden": (128,), "epochs": 40, "lr": 2e-3},
    "mnist": {"hidden": (256,)},
    "mnist1d": {"hidden": (100, 100), "lr": 1e-2, "batch_size": 100, "epochs": 150},
}


def defaults_for(data: str) -> dict[str, Any]:
    """RunConfig's settings for `data`: the dataclass defaults, with DATASET_DEFAULTS' on top.

    Only the plain name counts: 'mnist' has defaults, 'mnist:DIR' (the full IDX files) not.
    """
    values = RunConfig().to_dict()
    values["hidden"] = tuple(values["hidden"])
    values.update(DATASET_DEFAULTS.get(data, {}))
    values["data"] = data
    return values


def build_model(
    n_features: int, hidden: tuple[int, ...], activation: str, n_outputs: int, dropout: float
) -> nn.Sequential:
    """An MLP: [Linear → activation (→ Dropout)] per hidden layer, then a Linear head."""
    return nn.mlp([n_features, *hidden, n_outputs], activation, dropout=dropout)


def make_optimizer(name: str, params: Any, lr: float, weight_decay: float) -> optim.Optimizer:
    return optim.by_name(name, params, lr, weight_decay)


@dataclass
class PreparedData:
    """The dataset split into train / validation / test, standardised with train's stats."""

    info: DatasetInfo
    scaler: Standardizer
    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray] | None
    test: tuple[np.ndarray, np.ndarray]
    raw_test_X: np.ndarray = field(repr=False)

    @property
    def classification(self) -> bool:
        return self.info.task == "classification"

    @property
    def n_outputs(self) -> int:
        return int(self.info.num_classes or 0) if self.classification else 1


def _targets(y: np.ndarray, classification: bool) -> np.ndarray:
    return y.astype(np.int64) if classification else y.astype(np.float32).reshape(-1, 1)


def prepare_data(config: RunConfig) -> PreparedData:
    """Load the dataset and split it; the split depends only on the seed (the test set is
    fixed for datasets that come with one, such as mnist and mnist1d)."""
    info = load_dataset(config.data, n=config.samples, noise=config.noise, seed=config.seed)
    classification = info.task == "classification"
    stratify = classification
    if info.test_mask is not None:  # the dataset's own test set (mnist, mnist1d)
        X_train, X_test = info.X[~info.test_mask], info.X[info.test_mask]
        y_train, y_test = info.y[~info.test_mask], info.y[info.test_mask]
    else:
        X_train, X_test, y_train, y_test = train_test_split(
            info.X, info.y, config.test_fraction, stratify=stratify, seed=config.seed
        )
    val = None
    if config.val_fraction:
        X_train, X_val, y_train, y_val = train_test_split(
            X_train, y_train, config.val_fraction, stratify=stratify, seed=config.seed + 1
        )
    scaler = Standardizer().fit(X_train)
    if info.image_shape is not None:
        # pixels share one scale: a per-pixel std would blow up a border pixel that is dark
        # in almost every training image (MNIST's test accuracy drops by a point with it)
        scaler.mean = np.full_like(scaler.mean, X_train.mean(dtype=np.float64))
        scaler.std = np.full_like(scaler.std, X_train.std(dtype=np.float64))
    if config.val_fraction:
        val = (scaler.transform(X_val), _targets(y_val, classification))
    return PreparedData(
        info=info,
        scaler=scaler,
        train=(scaler.transform(X_train), _targets(y_train, classification)),
        val=val,
        test=(scaler.transform(X_test), _targets(y_test, classification)),
        raw_test_X=X_test,
    )


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


def loss_for(classification: bool) -> nn.Module:
    """Cross-entropy on logits for classes, mean squared error for regression."""
    return nn.CrossEntropyLoss() if classification else nn.MSELoss()


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
        stored.data = _stored_data(stored.data, str(model_path), data_spec,
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
        _check_model_fits(model, data.info.n_features, data.n_outputs, str(model_path))
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


def test_metrics(outputs: np.ndarray, data: PreparedData) -> dict[str, float]:
    """Loss and task metrics of the model's outputs on the test split, under keys test_*."""
    y = data.test[1]
    if len(y) == 0:
        return {}
    with no_grad():
        loss = float(loss_for(data.classification)(Tensor(outputs), Tensor(y)).item())
    if data.classification:
        labels = outputs.argmax(axis=1)
        return {
            "test_loss": loss,
            "test_accuracy": metrics.accuracy(y, labels),
            "test_precision": metrics.precision(y, labels),
            "test_recall": metrics.recall(y, labels),
            "test_f1": metrics.f1(y, labels),
            "test_samples": len(y),
        }
    return {
        "test_loss": loss,
        "test_mse": metrics.mse(y, outputs),
        "test_mae": metrics.mae(y, outputs),
        "test_r2": metrics.r2(y, outputs),
        "test_samples": len(y),
    }


def draw_plots(
    out: Path, model: nn.Module, data: PreparedData, history: History, outputs: np.ndarray
) -> list[Path]:
    """The run's PNG plots, from the model's `outputs` on the test split and, for 2-D data,
    its predictions over the plane (matplotlib is optional: skipped with a note if missing)."""
    from chainrule import plots  # imports matplotlib only when it plots

    try:
        written = [plots.plot_history(history.history, out / "history.png")]
    except ImportError as error:  # the first plot finds matplotlib missing
        print(f"note: no plots written ({error})", file=sys.stderr)
        return []
    X, y = data.test
    if len(X) == 0:
        return written
    if data.classification:
        labels = outputs.argmax(axis=1)
        k = int(data.info.num_classes or outputs.shape[1])
        if k <= MAX_PLOTTED_CLASSES:  # a k x k matrix: 10,000 classes would be 800 MB
            matrix = metrics.confusion_matrix(y, labels, k)
            written.append(plots.plot_confusion_matrix(matrix, out / "confusion_matrix.png",
                                                       data.info.class_names))  # fmt: skip
        if data.info.n_features == 2:
            written.append(plots.plot_decision_boundary(
                lambda grid: predict(model, grid, batch_size=1024).argmax(axis=1), X, y,
                out / "decision_boundary.png"))  # fmt: skip
        if data.info.image_shape is not None:
            written.append(plots.plot_misclassified(data.raw_test_X, y, labels,
                                                    out / "misclassified.png"))  # fmt: skip
    else:
        written.append(plots.plot_predictions(y.ravel(), outputs.ravel(), out / "predictions.png"))
    return written


def _check_model_fits(model: nn.Module, n_features: int, n_outputs: int, where: str) -> None:
    """One row of zeros through the model: it must take `n_features` and give `n_outputs`
    (a checkpoint's layer widths are bounded, so this is cheap)."""
    try:
        with no_grad():
            was_training = model.training
            model.eval()
            output = model(Tensor(np.zeros((1, n_features), dtype=np.float32)))
            model.train(was_training)
        shape = tuple(output.shape)
    except (ValueError, RuntimeError, TypeError, IndexError) as error:
        raise RunFolderError(
            f"{where}: its model does not take the run's {n_features} features ({error})"
        ) from None
    if shape != (1, n_outputs):
        raise RunFolderError(
            f"{where}: its model gives outputs of shape {shape[1:]} for the run's "
            f"{n_outputs} output(s)"
        )


def load_run(run_dir: str | Path) -> tuple[checkpoint.Checkpoint, nn.Module, RunConfig]:
    """The saved checkpoint of a run folder, its model and its settings, every field of
    its metadata checked (`chainrule.run_schema`): RunFolderError naming the field."""
    path = Path(run_dir) / MODEL_FILE
    if not path.exists() and not path.is_symlink():
        raise FileNotFoundError(f"{path} does not exist: is {run_dir} a chainrule run folder?")
    saved = checkpoint.load(path)
    where = str(path)
    if "run" not in saved or saved.model is None:
        raise RunFolderError(f"{path} is not a chainrule training run checkpoint")
    check_run_entries(saved.entries, where)
    config = RunConfig.from_dict(saved["run"], where)
    try:
        config.check()
    except ValueError as error:
        raise RunFolderError(f"{where}: run metadata 'run': {error}") from None
    if saved.epoch >= config.epochs:
        raise RunFolderError(
            f"{where}: run metadata 'epoch' is {saved.epoch}, not below the run's "
            f"{config.epochs} epochs"
        )
    n_outputs = saved["num_classes"] if saved["task"] == "classification" else 1
    _check_model_fits(saved.model, len(saved["feature_names"]), n_outputs, where)
    return saved, saved.model, config


def evaluate_run(run_dir: str | Path, data_spec: str | None = None) -> dict[str, float]:
    """Test metrics of a saved run, on its own test split or on another dataset spec.

    The run's own data is used only when it is a built-in dataset; data from files must
    be named by the caller (`data_spec`), never taken from the folder.
    """
    saved, model, config = load_run(run_dir)
    config.data = _stored_data(config.data, str(Path(run_dir) / MODEL_FILE), data_spec,
                               f"chainrule evaluate {run_dir}")  # fmt: skip
    data = prepare_data(config)
    expected = len(saved["feature_names"])
    if data.info.n_features != expected:
        raise ValueError(
            f"dataset {config.data!r} has {data.info.n_features} features but the model in "
            f"{run_dir} expects {expected}"
        )
    check_run_size(config, data.info.n_samples, data.info.n_features, data.n_outputs,
                   data.info.num_classes)  # fmt: skip
    data.scaler.mean, data.scaler.std = saved["scaler_mean"], saved["scaler_std"]
    data.test = (data.scaler.transform(data.raw_test_X), data.test[1])
    return test_metrics(predict(model, data.test[0], batch_size=1024), data)


def predict_file(run_dir: str | Path, input_csv: str | Path) -> tuple[list[str], np.ndarray]:
    """Predictions of a saved run for each row of a CSV of features (header required).

    Returns (column names, rows): class and per-class probabilities for classification,
    the predicted value for regression.
    """
    saved, model, _config = load_run(run_dir)
    features = list(saved["feature_names"])
    X = load_features(input_csv, features)
    mean, std = np.asarray(saved["scaler_mean"]), np.asarray(saved["scaler_std"])
    Z = ((X - mean) / np.where(std > 0, std, 1.0)).astype(np.float32)
    outputs = predict(model, Z, batch_size=1024)
    if saved["task"] == "classification":
        shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
        probabilities = shifted / shifted.sum(axis=1, keepdims=True)
        names = saved.get("class_names") or [str(i) for i in range(outputs.shape[1])]
        columns = ["prediction", *[f"p_{name}" for name in names]]
        rows = np.column_stack([outputs.argmax(axis=1), probabilities])
        return columns, rows
    return ["prediction"], outputs
