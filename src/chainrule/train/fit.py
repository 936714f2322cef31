"""`fit`, `evaluate`, `predict`: the PyTorch training loop, with Keras's bookkeeping around it.

`fit` is exactly the loop a learner writes by hand, once per batch::

    model.train()
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)      # forward
        loss.backward()                    # backward: the chain rule
        optimizer.step()                   # w <- w - lr · update

plus what makes it pleasant: validation under ``model.eval()`` and ``no_grad()``, metrics, a
`History`, callbacks, progress output and a guard against NaN. Writing the loop yourself stays
first-class; `fit` hides nothing more than this.

Example::

    history = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01),
                  (X_train, y_train), val=(X_val, y_val), epochs=20, metrics=["accuracy"])
    history.history["val_accuracy"][-1]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import numpy as np

from chainrule.autograd import no_grad
from chainrule.data import DataLoader, TensorDataset
from chainrule.random import Generator
from chainrule.tensor import Tensor
from chainrule.train.accumulate import Accumulator, array_of, logits_hint
from chainrule.train.callbacks import Callback, TerminateOnNaN, TrainState
from chainrule.train.history import History
from chainrule.train.metrics import Metric, get_metric
from chainrule.train.progress import make_progress
from chainrule.train.types import ArrayLike, LossFn, Model, OptimizerLike, TrainData
from chainrule.types import Batch

__all__ = ["Reducer", "as_loader", "check_finite", "evaluate", "fit", "predict"]


class Reducer(Protocol):
    """The seam for data-parallel training: what `fit` asks of the other processes.

    Each process runs `fit` on its share of every batch; the reducer makes the step and
    the logs global (`chainrule.train.distributed.GradientAllReduce` does it over MPI)::

        g <- Σ_r n_r·g_r / Σ_r n_r        (reduce_step: the mean over the whole batch)
        loss, metrics of the epoch over all processes' samples   (reduce_totals, gather)
    """

    def reduce_step(self, model: Any, loss: float, n: int) -> tuple[float, int]:
        """Replace the gradients by the sample-weighted mean over processes (this one
        had `n` samples, mean loss `loss`); return the whole batch's loss and size."""
        ...

    def reduce_totals(
        self, samples: int, loss_sum: float, predictions: list[np.ndarray],
        targets: list[np.ndarray],
    ) -> tuple[int, float, list[np.ndarray], list[np.ndarray]]:  # fmt: skip
        """Sum the sample counts and loss sums, gather everyone's predictions and targets
        (kept for custom metric functions only; empty lists otherwise)."""
        ...

    def gather(self, vector: np.ndarray) -> list[np.ndarray]:
        """Every process's `vector`, in rank order (the streamed metrics' counts)."""
        ...


# ---------------------------------------------------------------------- data
def _float_dtype(model: Any) -> np.dtype | None:
    """The dtype of the model's first floating parameter (float32 for default layers)."""
    for param in model.parameters():
        if param._data.dtype.kind == "f":
            return param._data.dtype
    return None


def _as_tensor(values: Any, float_dtype: np.dtype | None) -> Tensor:
    """A Tensor as given, or an array wrapped without a copy (floats cast to the model's)."""
    if isinstance(values, Tensor):
        return values
    array = np.asarray(values)
    if float_dtype is not None and array.dtype.kind == "f" and array.dtype != float_dtype:
        array = array.astype(float_dtype)
    return Tensor._make(array, False)


_MAX_ROWS_SHOWN = 10
# values checked at a time: the isfinite mask (a bool per value) stays small whatever the
# data's size (a fixed 65,536 rows made a mask as large as 1.3 MB for 20 features, which
# `fit`'s peak memory at 10x the data showed)
_CHECK_VALUES = 65_536


def _column_name(index: int) -> str:
    return ("X", "y")[index] if index < 2 else f"column {index}"


def check_finite(columns: Sequence[Any], what: str = "training data") -> None:
    """Raise ValueError if a floating column of (X, y, ...) holds NaN or ±inf, naming the
    rows (0-based, as the arrays index them; at most 10 shown) and the column::

        training data has NaN or inf in rows 3, 17, 42 (of 1000) of X: clean or impute
        them first

    Integer and boolean columns cannot hold either and are skipped.
    """
    for index, column in enumerate(columns):
        array = np.asarray(column._data if isinstance(column, Tensor) else column)
        if array.dtype.kind not in "fc" or array.size == 0:
            continue
        rows = array.reshape(len(array), -1) if array.ndim else array.reshape(1, 1)
        bad: list[int] = []
        count = 0
        step = max(1, _CHECK_VALUES // max(1, rows.shape[1]))
        for start in range(0, len(rows), step):
            finite = np.isfinite(rows[start : start + step]).all(axis=1)
            found = np.flatnonzero(~finite)
            count += int(found.size)
            bad.extend(int(i) + start for i in found[: _MAX_ROWS_SHOWN - len(bad)])
        if count:
            listed = ", ".join(map(str, bad))
            if count > len(bad):
                listed += f" and {count - len(bad)} more"
            raise ValueError(
                f"{what} has NaN or inf in {'rows' if count > 1 else 'row'} {listed} "
                f"(of {len(rows)}) of {_column_name(index)}: clean or impute them first"
            )


def as_loader(
    data: TrainData,
    model: Model | None = None,
    batch_size: int = 32,
    shuffle: bool = False,
    generator: Generator | None = None,
    *,
    finite: str | None = None,
) -> Iterable[Batch]:
    """Something to iterate over once per epoch, yielding (input, target, ...) batches.

    * an ``(X, y)`` tuple of ndarrays, lists or Tensors → ``DataLoader(TensorDataset(X, y))``;
      floating ndarrays are cast to the dtype of the model's parameters (so float64 NumPy
      data trains a float32 model); Tensors are used as they are;
    * a Dataset (``len`` and ``[i]``) → ``DataLoader(dataset, batch_size, shuffle, generator)``;
    * a DataLoader, or any other re-iterable of batches → used as it is (its own batch size
      and shuffling apply).

    With `finite` (what to call the data: ``"training data"``), NaN or inf in an ``(X, y)``
    tuple or a `TensorDataset` (also inside a DataLoader) raises ValueError naming the rows
    (`check_finite`), after the cast to the model's dtype (so a float64 value too large for
    float32 counts as inf). `fit` checks its training and validation data so.
    """
    if isinstance(data, DataLoader):
        if finite is not None and isinstance(data.dataset, TensorDataset):
            check_finite(data.dataset.tensors, finite)
        return data
    if isinstance(data, (tuple, list)) and len(data) >= 2:
        float_dtype = _float_dtype(model) if model is not None else None
        columns = [_as_tensor(column, float_dtype) for column in data]
        if finite is not None:
            check_finite(columns, finite)
        dataset = TensorDataset(*columns)
        return DataLoader(dataset, batch_size, shuffle=shuffle, generator=generator)
    if hasattr(data, "__getitem__") and hasattr(data, "__len__"):
        if finite is not None and isinstance(data, TensorDataset):
            check_finite(data.tensors, finite)
        # duck-typed map-style data (__getitem__ and __len__) is welcome, as in torch's loader
        return DataLoader(data, batch_size, shuffle=shuffle, generator=generator)  # type: ignore[arg-type]
    if isinstance(data, Iterable) and iter(data) is not data:
        return data
    raise TypeError(
        f"cannot train on a {type(data).__name__}: pass an (X, y) tuple, a Dataset or a "
        "DataLoader (a one-shot iterator or generator would be empty after the first epoch)"
    )


def _split_batch(batch: Any) -> tuple[Any, Any]:
    if isinstance(batch, (tuple, list)) and len(batch) >= 2:
        return batch[0], batch[1]
    raise TypeError(
        f"each batch must be an (input, target) pair, got {type(batch).__name__}: "
        "fit needs targets for the loss"
    )


def _num_samples(x: Any) -> int:
    return int(x.shape[0]) if hasattr(x, "shape") and len(x.shape) else 1


# ---------------------------------------------------------------------- fit
def _call(callbacks: Sequence[Callback], hook: str, state: TrainState) -> None:
    for callback in callbacks:
        getattr(callback, hook)(state)


def _train_epoch(
    state: TrainState,
    loader: Iterable[Any],
    callbacks: Sequence[Callback],
    metrics: Sequence[tuple[str, Metric]],
    live: bool,
    reducer: Reducer | None = None,
) -> dict[str, float] | None:
    """One epoch of the plain loop; the logs, or None when a callback stopped it midway."""
    model, loss_fn, optimizer = state.model, state.loss_fn, state.optimizer
    totals = Accumulator(metrics, logits_hint(loss_fn))
    for index, batch in enumerate(loader):
        x, y = _split_batch(batch)
        n = _num_samples(x)
        state.batch, state.batch_size = index, n
        state.inputs, state.targets = x, y
        _call(callbacks, "on_batch_begin", state)

        optimizer.zero_grad()
        output: Any = None
        local_loss = 0.0
        if n or reducer is None:
            output = model(x)
            loss = loss_fn(output, y)
            loss.backward()
            local_loss = float(loss.item())
        # else: this process's share of a batch smaller than the world is empty: it only
        # takes part in the reduction (zero gradient, no samples)
        state.loss = local_loss
        if reducer is not None:  # every process now holds the whole batch's gradient
            state.loss, state.batch_size = reducer.reduce_step(model, local_loss, n)
        _call(callbacks, "on_after_backward", state)
        if state.stop_training:  # e.g. a NaN gradient: the step is never applied
            return None
        optimizer.step()
        state.steps += 1

        totals.add(local_loss, output, y, n, live, shown=(state.loss, state.batch_size))
        state.logs = totals.running()
        _call(callbacks, "on_batch_end", state)
        if state.stop_training:
            return None
    return totals.result(reducer=reducer)


def fit(
    model: Model,
    loss_fn: LossFn,
    optimizer: OptimizerLike,
    train: TrainData,
    val: TrainData | None = None,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    shuffle: bool = True,
    callbacks: Sequence[Callback] = (),
    metrics: Sequence[str | Metric] = (),
    progress: bool = True,
    generator: Generator | None = None,
    start_epoch: int = 0,
    history: History | None = None,
    terminate_on_nan: bool = True,
    reducer: Reducer | None = None,
) -> History:
    """Train `model` for epochs ``start_epoch, ..., epochs - 1`` and return its `History`.

    Args:
        model: an ``nn.Module``; trained under ``model.train()``, validated under
            ``model.eval()`` and ``no_grad()``.
        loss_fn: ``loss_fn(output, target) -> scalar Tensor`` (``nn.CrossEntropyLoss()``,
            ``F.mse_loss``, ...).
        optimizer: a ``chainrule.optim`` optimizer over the model's parameters.
        train: an ``(X, y)`` tuple of ndarrays or Tensors, a Dataset, or a DataLoader (see
            `as_loader`). NaN or inf in its floating arrays (an ``(X, y)`` tuple or a
            TensorDataset) is refused up front: ValueError naming the rows.
        val: validation data in the same forms, or None; its logs are prefixed ``val_``.
        epochs: the epoch index at which training ends (as Keras: with ``start_epoch=5``
            and ``epochs=10``, five more epochs run).
        batch_size, shuffle, generator: how ``(X, y)`` and Datasets are batched; a seeded
            ``chainrule.Generator`` reproduces the order. Ignored for a DataLoader.
        callbacks: `Callback` instances, called in order.
        metrics: names from ``metrics.METRICS`` ('accuracy', 'f1', 'mse', ...) or functions
            ``fn(y_true, y_pred) -> float`` (named by their ``__name__``).
        progress: show progress (a tqdm bar on a terminal, one line per epoch otherwise).
        start_epoch, history: resume a run: the first epoch index, and the `History` to
            extend (a new one if None).
        terminate_on_nan: add a `TerminateOnNaN` unless ``callbacks`` has one already.
        reducer: data-parallel training (`Reducer`): `train` and `val` are this process's
            shares, and the reducer makes each step's gradient and the logs global
            (`chainrule train --nproc N` passes one; see docs/distributed.md).

    Returns:
        The `History`: per epoch 'loss', each metric, 'val_loss' and 'val_<metric>' with
        validation data, and 'lr' (the first parameter group's rate during the epoch).
        An epoch cut short by a callback (a NaN, ...) is not recorded; why training
        stopped is in ``history.stopped_reason``.
    """
    if start_epoch < 0 or epochs < start_epoch:
        raise ValueError(f"need 0 <= start_epoch <= epochs, got {start_epoch} and {epochs}")
    train_loader = as_loader(train, model, batch_size, shuffle, generator, finite="training data")
    val_loader = (
        None if val is None else as_loader(val, model, batch_size, finite="validation data")
    )
    named_metrics = [get_metric(metric) for metric in metrics]

    history = History() if history is None else history
    hooks = list(callbacks)
    if terminate_on_nan and not any(isinstance(c, TerminateOnNaN) for c in hooks):
        hooks.append(TerminateOnNaN())
    progress_callback = make_progress(progress)
    if progress_callback is not None:
        hooks.append(progress_callback)
    live = bool(named_metrics) and any(c.live_metrics for c in hooks)

    size = getattr(train_loader, "__len__", None)
    state = TrainState(
        model=model,
        optimizer=optimizer,
        loss_fn=loss_fn,
        epochs=epochs,
        history=history,
        generator=generator,
        num_batches=size() if size is not None else None,
    )
    try:
        _call(hooks, "on_train_begin", state)
        for epoch in range(start_epoch, epochs):
            if state.stop_training:  # e.g. TerminateOnNaN found a NaN weight before training
                break
            state.epoch, state.batch, state.logs = epoch, 0, {}
            model.train()
            _call(hooks, "on_epoch_begin", state)
            logs = _train_epoch(state, train_loader, hooks, named_metrics, live, reducer)
            if logs is None:
                break
            if val_loader is not None:
                scores = _evaluate_loader(model, loss_fn, val_loader, named_metrics, reducer)
                logs.update({f"val_{key}": value for key, value in scores.items()})
            logs["lr"] = state.current_lr()
            state.logs = logs
            history.append(epoch, logs)
            _call(hooks, "on_epoch_end", state)
            if state.stop_training:
                break
        if state.stopped_reason is not None:
            history.stopped_reason, history.stopped_epoch = state.stopped_reason, state.epoch
        _call(hooks, "on_train_end", state)
    finally:
        close = getattr(progress_callback, "close", None)
        if close is not None:
            close()
    return history


# ---------------------------------------------------------------------- evaluate, predict
def _evaluate_loader(
    model: Any,
    loss_fn: Any,
    loader: Iterable[Any],
    metrics: Sequence[tuple[str, Metric]],
    reducer: Reducer | None = None,
) -> dict[str, float]:
    totals = Accumulator(metrics, logits_hint(loss_fn))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            for batch in loader:
                x, y = _split_batch(batch)
                output = model(x)
                loss = None if loss_fn is None else float(loss_fn(output, y).item())
                totals.add(loss, output, y, _num_samples(x), live=False)
    finally:
        model.train(was_training)
    return totals.result(with_loss=loss_fn is not None, reducer=reducer)


def evaluate(
    model: Model,
    loss_fn: LossFn,
    data: TrainData,
    metrics: Sequence[str | Metric] = (),
    batch_size: int = 256,
) -> dict[str, float]:
    """The loss and metrics of `model` on `data`, under ``model.eval()`` and ``no_grad()``.

    `data` takes the forms of `fit`'s ``train``. The loss is the sample-weighted mean of the
    batch losses; metrics are computed on all predictions at once. `loss_fn` may be None
    (metrics only). The model's train/eval mode is restored afterwards.

    Example: ``evaluate(model, nn.CrossEntropyLoss(), (X, y), ["accuracy"])`` →
    ``{'loss': 0.31, 'accuracy': 0.9}``.
    """
    loader = as_loader(data, model, batch_size)
    return _evaluate_loader(model, loss_fn, loader, [get_metric(m) for m in metrics])


def predict(model: Model, X: ArrayLike, batch_size: int = 256) -> np.ndarray:  # X as in Keras
    """The model's outputs for `X` as one ndarray, computed in batches under eval and no_grad.

    `X` is an ndarray, list or Tensor of inputs (floating ndarrays cast to the model's
    dtype), or a Dataset/DataLoader whose batches are inputs or (input, ...) tuples.
    """
    if isinstance(X, (Tensor, np.ndarray, list)):
        inputs = _as_tensor(X, _float_dtype(model))
        batches: Iterable[Any] = (
            inputs[start : start + batch_size] for start in range(0, len(inputs), batch_size)
        )
    else:
        batches = as_loader(X, model, batch_size)
    outputs = []
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            for batch in batches:
                x = batch[0] if isinstance(batch, (tuple, list)) else batch
                outputs.append(array_of(model(x)))
    finally:
        model.train(was_training)
    return np.concatenate(outputs) if outputs else np.zeros(0)
