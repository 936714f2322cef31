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
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chainrule import checkpoint, nn, optim
from chainrule.autograd import no_grad
from chainrule.data import Standardizer, load_dataset, train_test_split
from chainrule.data.registry import DatasetInfo
from chainrule.data.tabular import load_features
from chainrule.io import atomic_write_json
from chainrule.random import Generator, get_rng_state, manual_seed, set_rng_state
from chainrule.tensor import Tensor
from chainrule.train import Callback, History, TrainState, fit, metrics, predict

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}

OPTIMIZERS = ("sgd", "momentum", "adam", "adamw", "rmsprop", "adagrad")
MODEL_FILE = "model.safetensors"


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
        """Raise ValueError with a one-line reason for any setting out of range."""
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {self.activation!r}: choose from {', '.join(ACTIVATIONS)}"
            )
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {self.optimizer!r}: choose from {', '.join(OPTIMIZERS)}"
            )
        if not self.lr > 0:
            raise ValueError(f"learning rate must be > 0, got {self.lr}")
        if any(width < 1 for width in self.hidden):
            raise ValueError(f"hidden layer sizes must be >= 1, got {list(self.hidden)}")
        for name in ("epochs", "batch_size", "samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not 0 < self.test_fraction < 1:
            raise ValueError(f"test_fraction must be in (0, 1), got {self.test_fraction}")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        return self

    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["hidden"] = list(self.hidden)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        kept = {k: v for k, v in values.items() if k in known}
        kept["hidden"] = tuple(kept.get("hidden", ()))
        return cls(**kept)


def build_model(
    n_features: int, hidden: tuple[int, ...], activation: str, n_outputs: int, dropout: float
) -> nn.Sequential:
    """An MLP: [Linear → activation (→ Dropout)] per hidden layer, then a Linear head."""
    layers: list[nn.Module] = []
    width = n_features
    for size in hidden:
        layers += [nn.Linear(width, size), ACTIVATIONS[activation]()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = size
    layers.append(nn.Linear(width, n_outputs))
    return nn.Sequential(*layers)


def make_optimizer(name: str, params: Any, lr: float, weight_decay: float) -> optim.Optimizer:
    if name == "sgd":
        return optim.SGD(params, lr=lr, weight_decay=weight_decay)
    if name == "momentum":
        return optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr, weight_decay=weight_decay)
    return optim.Adagrad(params, lr=lr, weight_decay=weight_decay)


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
    """Load the dataset and split it; the split depends only on the seed."""
    info = load_dataset(config.data, n=config.samples, noise=config.noise, seed=config.seed)
    classification = info.task == "classification"
    stratify = classification
    X_train, X_test, y_train, y_test = train_test_split(
        info.X, info.y, config.test_fraction, stratify=stratify, seed=config.seed
    )
    val = None
    if config.val_fraction:
        X_train, X_val, y_train, y_val = train_test_split(
            X_train, y_train, config.val_fraction, stratify=stratify, seed=config.seed + 1
        )
    scaler = Standardizer().fit(X_train)
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


def train_run(
    config: RunConfig, resume: bool = False, progress: bool = True, plots: bool = True
) -> dict[str, float]:
    """Train (or resume) the run in `config.out` and return the final test metrics."""
    out = Path(config.out)
    model_path = out / MODEL_FILE
    saved = None
    if resume:
        if not model_path.exists():
            raise FileNotFoundError(f"cannot resume: {model_path} does not exist")
        saved = checkpoint.load(model_path)
        epochs = config.epochs
        config = RunConfig.from_dict(saved["run"])
        config.out, config.epochs = str(out), max(epochs, config.epochs)
    config.check()
    manual_seed(config.seed)
    data = prepare_data(config)
    classification = data.classification
    if saved is not None:
        model = saved.model
        assert model is not None
    else:
        model = build_model(data.info.n_features, config.hidden, config.activation,
                            data.n_outputs, config.dropout)  # fmt: skip
    optimizer = make_optimizer(config.optimizer, model.parameters(), config.lr, config.weight_decay)
    loader_rng = Generator().manual_seed(config.seed)
    history, start_epoch = History(), 0
    if saved is not None:
        checkpoint.restore_optimizer(saved, optimizer)
        set_rng_state(saved["rng"])
        loader_rng.set_state(saved["loader_rng"])
        history = History.from_dict(saved["history"])
        start_epoch = int(saved.epoch) + 1
    out.mkdir(parents=True, exist_ok=True)
    history = fit(
        model,
        loss_for(classification),
        optimizer,
        data.train,
        val=data.val,
        epochs=config.epochs,
        batch_size=config.batch_size,
        metrics=["accuracy"] if classification else ["mae"],
        progress=progress,
        generator=loader_rng,
        start_epoch=start_epoch,
        history=history,
        callbacks=[EpochCheckpoint(model_path, config, data, loader_rng)],
    )
    atomic_write_json(out / "history.json", history.to_dict())
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


def load_run(run_dir: str | Path) -> tuple[checkpoint.Checkpoint, nn.Module, RunConfig]:
    """The saved checkpoint of a run folder, its model and its settings."""
    path = Path(run_dir) / MODEL_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: is {run_dir} a chainrule run folder?")
    saved = checkpoint.load(path)
    if "run" not in saved or saved.model is None:
        raise ValueError(f"{path} is not a chainrule training run checkpoint")
    return saved, saved.model, RunConfig.from_dict(saved["run"])


def evaluate_run(run_dir: str | Path, data_spec: str | None = None) -> dict[str, float]:
    """Test metrics of a saved run, on its own test split or on another dataset spec."""
    saved, model, config = load_run(run_dir)
    if data_spec is not None:
        config.data = data_spec
    data = prepare_data(config)
    expected = len(saved["feature_names"])
    if data.info.n_features != expected:
        raise ValueError(
            f"dataset {config.data!r} has {data.info.n_features} features but the model in "
            f"{run_dir} expects {expected}"
        )
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
        names = saved["class_names"] or [str(i) for i in range(outputs.shape[1])]
        columns = ["prediction", *[f"p_{name}" for name in names]]
        rows = np.column_stack([outputs.argmax(axis=1), probabilities])
        return columns, rows
    return ["prediction"], outputs
