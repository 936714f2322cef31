"""Callbacks: EarlyStopping, ModelCheckpoint, CSVLogger, LRSchedulerCallback, TerminateOnNaN."""

from __future__ import annotations

import csv
import math
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.train import (
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    LRSchedulerCallback,
    ModelCheckpoint,
    TerminateOnNaN,
    fit,
)
from chainrule.train.callbacks import resolve_mode


def data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, (X[:, 0] > X[:, 1]).astype(np.int64)


def mlp(seed=0):
    cr.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))


def weights(model):
    return [p.detach().numpy().copy() for p in model.parameters()]


def assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


class Scripted(Callback):
    """Puts a scripted 'score' into the epoch logs, so monitoring is deterministic."""

    def __init__(self, scores):
        self.scores = scores

    def on_epoch_end(self, state):
        state.logs["score"] = self.scores[state.epoch]


class Recorder(Callback):
    """Copies the weights at every batch end and epoch end."""

    def __init__(self):
        self.batches, self.epochs = [], []

    def on_batch_end(self, state):
        self.batches.append(weights(state.model))

    def on_epoch_end(self, state):
        self.epochs.append(weights(state.model))


def train(model, callbacks, epochs=6, lr=0.1, optimizer=None, **kwargs):
    optimizer = optimizer or optim.SGD(model.parameters(), lr=lr)
    kwargs.setdefault("progress", False)
    return fit(
        model,
        nn.CrossEntropyLoss(),
        optimizer,
        data(),
        epochs=epochs,
        batch_size=8,
        callbacks=callbacks,
        **kwargs,
    )


# ---------------------------------------------------------------------- EarlyStopping
def test_early_stopping_stops_after_patience():
    stopper = EarlyStopping(monitor="score", patience=2, mode="min")
    history = train(mlp(), [Scripted([1.0, 0.5, 0.6, 0.7, 0.1, 0.1]), stopper])
    # best 0.5 at epoch 1; epochs 2 and 3 do not improve -> stop after epoch 3
    assert history.epoch == [0, 1, 2, 3]
    assert stopper.stopped_epoch == 3 and stopper.best_epoch == 1 and stopper.best == 0.5
    assert "early stopping at epoch 4" in history.stopped_reason
    assert "score did not improve for 2 epochs" in history.stopped_reason
    assert history.stopped_epoch == 3


def test_early_stopping_min_delta_and_max_mode():
    stopper = EarlyStopping(monitor="score", patience=1, min_delta=0.1, mode="max")
    history = train(mlp(), [Scripted([0.5, 0.55, 0.9, 0.95]), stopper])
    assert history.epoch == [0, 1]  # +0.05 is less than min_delta
    assert resolve_mode("auto", "val_accuracy") == "max"
    assert resolve_mode("auto", "f1") == "max"
    assert resolve_mode("auto", "val_loss") == "min"
    with pytest.raises(ValueError):
        resolve_mode("best", "loss")


def test_early_stopping_restores_best_weights():
    model, recorder = mlp(), Recorder()
    stopper = EarlyStopping(monitor="score", patience=3, restore_best_weights=True)
    history = train(model, [Scripted([3.0, 1.0, 2.0, 2.0, 2.0, 0.0]), stopper, recorder])
    assert history.epoch == [0, 1, 2, 3, 4]
    assert_same(weights(model), recorder.epochs[1])
    with pytest.raises(AssertionError):
        assert_same(weights(model), recorder.epochs[-1])


def test_early_stopping_warns_without_the_monitored_key():
    with pytest.warns(RuntimeWarning, match="val_loss"):
        history = train(mlp(), [EarlyStopping(patience=0)], epochs=2)
    assert history.epoch == [0, 1] and history.stopped_reason is None


def test_early_stopping_on_real_validation_loss():
    rng = np.random.default_rng(1)
    noise = (rng.normal(size=(32, 2)), rng.integers(0, 2, 32))  # nothing to learn here
    history = train(mlp(), [EarlyStopping(patience=2)], epochs=50, lr=0.5, val=noise)
    assert len(history.epoch) < 50 and "val_loss" in history.stopped_reason


# ---------------------------------------------------------------------- ModelCheckpoint
checkpoint = pytest.importorskip("chainrule.checkpoint")


def test_model_checkpoint_saves_every_epoch(tmp_path):
    model = mlp()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    saver = ModelCheckpoint(tmp_path / "ckpt-{epoch:02d}.safetensors", monitor="loss")
    history = train(model, [saver], epochs=3, optimizer=optimizer)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["ckpt-01.safetensors", "ckpt-02.safetensors", "ckpt-03.safetensors"]
    assert saver.saved == [str(tmp_path / name) for name in names]

    fresh = mlp(seed=5)
    ckpt = checkpoint.load(tmp_path / "ckpt-03.safetensors", model=fresh)
    assert_same(weights(fresh), weights(model))
    assert ckpt.epoch == 2  # the index of the epoch just completed: resume at epoch + 1
    saved = History.from_dict(ckpt["history"])
    assert saved.epoch == [0, 1, 2] and saved["loss"] == history["loss"]
    resumed = optim.Adam(fresh.parameters(), lr=0.01)
    resumed.load_state_dict(ckpt.optimizer_state)
    assert resumed.state_dict()["state"][0]["step"] == optimizer.state_dict()["state"][0]["step"]


def test_model_checkpoint_save_best_only(tmp_path):
    model, recorder = mlp(), Recorder()
    saver = ModelCheckpoint(
        tmp_path / "e{epoch}-{score:.1f}.safetensors", monitor="score", save_best_only=True
    )
    train(model, [Scripted([0.5, 0.9, 0.4, 0.4, 0.2]), saver, recorder], epochs=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "e1-0.5.safetensors",
        "e3-0.4.safetensors",
        "e5-0.2.safetensors",
    ]
    assert saver.best_path == str(tmp_path / "e5-0.2.safetensors") and saver.best == 0.2
    fresh = mlp(seed=5)
    checkpoint.load(tmp_path / "e3-0.4.safetensors", model=fresh)
    assert_same(weights(fresh), recorder.epochs[2])


def test_model_checkpoint_fixed_path_is_overwritten_atomically(tmp_path):
    path = tmp_path / "best.safetensors"
    train(mlp(), [ModelCheckpoint(path, monitor="loss")], epochs=3)
    assert [p.name for p in tmp_path.iterdir()] == ["best.safetensors"]  # no temporary left
    assert checkpoint.load(path).epoch == 2


def test_resume_from_a_checkpoint_reproduces_the_uninterrupted_run(tmp_path):
    def run(model, optimizer, generator, **kwargs):
        return fit(
            model,
            nn.CrossEntropyLoss(),
            optimizer,
            data(),
            epochs=4,
            batch_size=8,
            generator=generator,
            progress=False,
            **kwargs,
        )

    straight = mlp()
    history = run(straight, optim.Adam(straight.parameters(), lr=0.01), cr.Generator(3))

    class Crash(Callback):
        def on_epoch_begin(self, state):
            if state.epoch == 2:
                raise ZeroDivisionError

    first = mlp()
    path = tmp_path / "last.safetensors"
    saver = ModelCheckpoint(path, monitor="loss")
    with pytest.raises(ZeroDivisionError):  # a crash at the start of epoch 3
        run(
            first,
            optim.Adam(first.parameters(), lr=0.01),
            cr.Generator(3),
            callbacks=[saver, Crash()],
        )

    resumed = mlp(seed=9)
    ckpt = checkpoint.load(path, model=resumed)
    optimizer = optim.Adam(resumed.parameters(), lr=0.01)
    optimizer.load_state_dict(ckpt.optimizer_state)
    cr.set_rng_state(ckpt.rng_state)
    generator = cr.Generator()
    generator.set_state(ckpt["generator"])
    again = run(
        resumed,
        optimizer,
        generator,
        start_epoch=ckpt.epoch + 1,
        history=History.from_dict(ckpt["history"]),
    )
    assert again.epoch == [0, 1, 2, 3]
    assert again["loss"] == history["loss"]
    assert_same(weights(resumed), weights(straight))


# ---------------------------------------------------------------------- CSVLogger
def read_csv(path):
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def test_csv_logger_one_row_per_epoch(tmp_path):
    path = tmp_path / "logs" / "train.csv"
    history = train(mlp(), [CSVLogger(path)], epochs=3, metrics=["accuracy"], val=data(16, 1))
    rows = read_csv(path)
    assert list(rows[0]) == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"]
    assert [row["epoch"] for row in rows] == ["0", "1", "2"]
    for row, loss, accuracy in zip(rows, history["loss"], history["val_accuracy"], strict=True):
        assert float(row["loss"]) == loss and float(row["val_accuracy"]) == accuracy
    assert [p.name for p in path.parent.iterdir()] == ["train.csv"]


def test_csv_logger_keeps_the_files_permissions(tmp_path):
    """It writes through files.atomic_write_text, which gives the new file the mode of the one it
    replaces (its own writer once left a 0600 temporary in place)."""
    path = tmp_path / "train.csv"
    path.write_text("")
    path.chmod(0o640)
    train(mlp(), [CSVLogger(path)], epochs=2)
    assert path.stat().st_mode & 0o777 == 0o640 and len(read_csv(path)) == 2


def test_csv_logger_append_and_late_columns(tmp_path):
    path = tmp_path / "train.csv"
    model = mlp()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    history = train(model, [CSVLogger(path)], epochs=2, optimizer=optimizer)
    train(
        model,
        [Scripted([0, 0, 7.0, 8.0]), CSVLogger(path, append=True)],
        epochs=4,
        optimizer=optimizer,
        start_epoch=2,
        history=history,
    )
    rows = read_csv(path)
    assert [row["epoch"] for row in rows] == ["0", "1", "2", "3"]
    assert list(rows[0])[-1] == "score"  # a column that appears late gets its header
    assert [row["score"] for row in rows] == ["", "", "7.0", "8.0"]


# ---------------------------------------------------------------------- LRSchedulerCallback
def test_lr_scheduler_callback_steps_per_epoch():
    model = mlp()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    history = train(model, [LRSchedulerCallback(scheduler)], epochs=3, optimizer=optimizer)
    assert history["lr"] == pytest.approx([0.1, 0.05, 0.025])  # the rate used in each epoch
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0125)


def test_lr_scheduler_callback_passes_the_metric_to_reduce_on_plateau():
    model = mlp()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    plateau = optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=0, factor=0.5)
    callbacks = [Scripted([1.0, 1.0, 0.5, 0.9]), LRSchedulerCallback(plateau, monitor="score")]
    history = train(model, callbacks, epochs=4, optimizer=optimizer)
    # epoch 1 does not improve on 1.0 -> halve; epoch 2 improves; epoch 3 does not -> halve
    assert history["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05])
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.025)


def test_lr_scheduler_callback_plateau_falls_back_to_training_loss():
    model = mlp()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    plateau = optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=0)
    train(model, [LRSchedulerCallback(plateau)], epochs=2, optimizer=optimizer)
    assert plateau.best < math.inf  # stepped with 'loss' (no validation data)
    with pytest.raises(KeyError, match="nothing"):
        train(model, [LRSchedulerCallback(plateau, monitor="nothing")], epochs=1)


# ---------------------------------------------------------------------- TerminateOnNaN
class PoisonGradient(Callback):
    """Sets one gradient entry to inf at a chosen (epoch, batch), before the step."""

    def __init__(self, epoch, batch, parameter, value=np.inf):
        self.at, self.parameter, self.value = (epoch, batch), parameter, value

    def on_after_backward(self, state):
        if (state.epoch, state.batch) == self.at:
            grad = dict(state.model.named_parameters())[self.parameter].grad
            grad.data[0] = self.value


def test_terminate_on_nan_is_on_by_default_and_keeps_the_last_good_step(capsys):
    model, recorder = mlp(), Recorder()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    states = []
    snapshot = type(
        "OptimizerState",
        (Callback,),
        {"on_batch_end": lambda self, state: states.append(state.optimizer.state_dict())},
    )()
    history = train(
        model,
        [PoisonGradient(1, 2, "2.bias"), recorder, snapshot],
        epochs=4,
        optimizer=optimizer,
        progress=True,
    )
    reason = history.stopped_reason
    assert reason.startswith("TerminateOnNaN: at epoch 2, batch 3,")
    assert "'2.bias' (Linear layer '2') is inf" in reason
    assert "the step was not applied" in reason
    assert "try --lr 0.001 (10x lower)" in reason
    assert history.epoch == [0]  # the interrupted epoch is not recorded
    assert history.stopped_epoch == 1
    # 4 batches in epoch 0, 2 good ones in epoch 1: the weights are those after the last
    assert len(recorder.batches) == 6
    assert_same(weights(model), recorder.batches[-1])
    after = optimizer.state_dict()
    assert after["state"][0]["step"] == states[-1]["state"][0]["step"] == 6
    for index, values in states[-1]["state"].items():
        np.testing.assert_array_equal(after["state"][index]["exp_avg"], values["exp_avg"])
    # printed once, after the one line of the completed epoch
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("epoch 1/4") and lines[1] == reason


def test_terminate_on_nan_with_a_huge_learning_rate():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    y = X.sum(axis=1, keepdims=True)
    cr.manual_seed(0)
    model, recorder = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1)), Recorder()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's overflow warnings
        history = fit(
            model,
            nn.MSELoss(),
            optim.SGD(model.parameters(), lr=1e6),
            (X, y),
            epochs=5,
            batch_size=16,
            callbacks=[recorder],
            progress=False,
        )
    reason = history.stopped_reason
    assert reason.startswith("TerminateOnNaN: at epoch 1, batch 3,")
    assert "'2.bias' (Linear layer '2')" in reason and "'0.weight'" in reason
    assert "try --lr 100000 (10x lower)" in reason
    assert all(np.isfinite(p.detach().numpy()).all() for p in model.parameters())
    assert_same(weights(model), recorder.batches[-1])


def test_terminate_on_nan_restores_the_snapshot_when_a_step_overflows():
    """Finite gradients, but w - lr·g overflows float32: the epoch-start snapshot is restored."""
    model, recorder = mlp(), Recorder()
    optimizer = optim.SGD(model.parameters(), lr=10.0, momentum=0.9)
    poison = PoisonGradient(1, 1, "0.weight", value=1e38)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        history = train(model, [recorder, poison], epochs=3, optimizer=optimizer)
    assert "the step made '0.weight' (Linear layer '0') non-finite" in history.stopped_reason
    assert "restored from the start of epoch 2" in history.stopped_reason
    assert_same(weights(model), recorder.epochs[0])  # the end of epoch 1 = start of epoch 2
    assert all(
        np.isfinite(buf["momentum_buffer"]).all()
        for buf in optimizer.state_dict()["state"].values()
    )


def test_terminate_on_nan_step_snapshot_is_exact():
    model, recorder = mlp(), Recorder()
    optimizer = optim.SGD(model.parameters(), lr=10.0)
    poison = PoisonGradient(1, 2, "0.weight", value=1e38)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        history = train(
            model,
            [poison, TerminateOnNaN(snapshot="step"), recorder],
            epochs=3,
            optimizer=optimizer,
        )
    assert "restored from the last good step" in history.stopped_reason
    # TerminateOnNaN runs before the recorder here, which therefore never sees the bad step
    assert len(recorder.batches) == 4 + 3
    assert_same(weights(model), recorder.batches[-1])


def test_terminate_on_nan_can_be_turned_off_or_replaced():
    poison = PoisonGradient(0, 0, "2.bias", value=np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        history = train(mlp(), [poison], epochs=2, terminate_on_nan=False)
    assert history.stopped_reason is None and history.epoch == [0, 1]
    assert math.isnan(history["loss"][-1])

    mine = TerminateOnNaN()
    history = train(mlp(), [PoisonGradient(0, 1, "0.bias", value=np.nan), mine], epochs=2)
    assert mine.message == history.stopped_reason  # fit added no second one
    assert "'0.bias' (Linear layer '0') is nan" in mine.message
    with pytest.raises(ValueError, match="snapshot"):
        TerminateOnNaN(snapshot="batch")
