"""A saved run read back: `load_run` (every field of its metadata checked), its test
metrics, `evaluate_run` and `predict_file`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from chainrule import checkpoint, nn
from chainrule.autograd import no_grad
from chainrule.cli.factories import loss_for
from chainrule.cli.preparation import PreparedData, prepare_data
from chainrule.cli.run_config import MODEL_FILE, RunConfig, check_run_size, stored_data
from chainrule.cli.run_schema import RunFolderError, check_run_entries
from chainrule.data.tabular import load_features
from chainrule.tensor import Tensor
from chainrule.train import metrics, predict


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


def check_model_fits(model: nn.Module, n_features: int, n_outputs: int, where: str) -> None:
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
    its metadata checked (`run_schema`): RunFolderError naming the field."""
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
    check_model_fits(saved.model, len(saved["feature_names"]), n_outputs, where)
    return saved, saved.model, config


def evaluate_run(run_dir: str | Path, data_spec: str | None = None) -> dict[str, float]:
    """Test metrics of a saved run, on its own test split or on another dataset spec.

    The run's own data is used only when it is a built-in dataset; data from files must
    be named by the caller (`data_spec`), never taken from the folder.
    """
    saved, model, config = load_run(run_dir)
    config.data = stored_data(config.data, str(Path(run_dir) / MODEL_FILE), data_spec,
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
