"""Round trip with Python: the session's model as a checkpoint `chainrule.load` reads, the
equivalent Python script, and a checkpoint uploaded from Python back into a session."""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
from typing import Any

import numpy as np

from chainrule import nn
from chainrule.checkpoint import load, restore_optimizer, save
from chainrule.playground import network, upload
from chainrule.playground.datasets import N_CLASSIFY, N_REGRESS
from chainrule.playground.features import FEATURE_SOURCE
from chainrule.playground.messages import (
    MAX_CHECKPOINT_BYTES,
    MAX_LAYERS,
    MAX_NEURONS,
    PlaygroundConfig,
    ProtocolError,
)
from chainrule.playground.session import ENGINE_LOCK, Session

CHECKPOINT_NAME = "playground.safetensors"


def checkpoint_bytes(session: Session) -> bytes:
    """A training checkpoint: the model (rebuilt by `chainrule.load(path).model`), the
    optimizer state, the epoch and the playground config (as JSON data)."""
    with ENGINE_LOCK, tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, CHECKPOINT_NAME)
        save(
            {
                "model": session.model,
                "optimizer": session.optimizer,
                "epoch": session.epoch,
                "playground": session.config.model_dump(),
            },
            path,
            metadata={"playground.config": json.dumps(session.config.model_dump())},
        )
        with open(path, "rb") as file:
            return file.read()


def _model_from(checkpoint: Any) -> nn.Sequential:
    model = checkpoint.model
    if not isinstance(model, nn.Sequential) or len(model) == 0:
        raise ProtocolError("the checkpoint does not hold a Sequential model")
    modules = list(model)
    if not isinstance(modules[0], nn.Linear) or not isinstance(modules[-1], nn.Linear):
        raise ProtocolError("the model must start and end with a Linear layer")
    for i, module in enumerate(modules):
        if isinstance(module, nn.Linear):
            if module.bias is None:
                raise ProtocolError("every Linear layer needs a bias")
            if i + 1 < len(modules) and module.out_features > MAX_NEURONS:
                raise ProtocolError(f"a hidden layer has more than {MAX_NEURONS} neurons")
        elif type(module).__name__ not in network.ACTIVATION_NAMES:
            raise ProtocolError(f"the playground has no {type(module).__name__} layer")
        elif not isinstance(modules[i - 1], nn.Linear):
            raise ProtocolError("two activations in a row")
    if len(network.linear_layers(model)) - 1 > MAX_LAYERS:
        raise ProtocolError(f"more than {MAX_LAYERS} hidden layers")
    return model


def load_checkpoint(session: Session, data_b64: str) -> PlaygroundConfig:
    """Install an uploaded checkpoint's model in `session`; returns the config now in force."""
    try:
        raw = base64.b64decode(data_b64, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError("the checkpoint is not valid base64") from None
    if len(raw) > MAX_CHECKPOINT_BYTES:
        raise ProtocolError(f"the checkpoint is larger than {MAX_CHECKPOINT_BYTES:,} bytes")
    upload.check_header(raw)  # the limits, before anything is built
    with ENGINE_LOCK, tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "upload.safetensors")
        with open(path, "wb") as file:
            file.write(raw)
        try:
            checkpoint = load(path)
        except (ValueError, TypeError, KeyError, OSError) as error:
            problem = upload.reason(error, folder)
            raise ProtocolError(f"cannot read the checkpoint: {problem}") from None
        model = _model_from(checkpoint)
        converted = _to_float32(model)
        config = _config_for(session, checkpoint, model)
        session.replace_model(model, config)
        if isinstance(checkpoint.epoch, int) and checkpoint.epoch >= 0:
            session.epoch = checkpoint.epoch
        optimizer_state = checkpoint.optimizer_state
        if optimizer_state is not None and "playground" in checkpoint and not converted:
            try:
                restore_optimizer(checkpoint, session.optimizer)
            except (ValueError, TypeError, KeyError):
                session.optimizer = network.build_optimizer(model, config)
        return config


def _to_float32(model: nn.Sequential) -> bool:
    """The playground computes in float32: a float64 or float16 model is converted (float64
    loses digits beyond float32's 7, float16 gains none). True if anything was."""
    dtypes = {p.detach().numpy().dtype for p in model.parameters()}
    if dtypes == {np.dtype(np.float32)}:
        return False
    model.to(dtype=np.float32)
    return True


def _config_for(session: Session, checkpoint: Any, model: nn.Sequential) -> PlaygroundConfig:
    linears = network.linear_layers(model)
    shape = {
        "layers": [layer.out_features for layer in linears[:-1]],
        "activations": network.layer_activations(model),
    }
    if "playground" in checkpoint:
        try:
            saved = dict(checkpoint["playground"])
            saved.update(shape)
            config = PlaygroundConfig.model_validate(saved)
        except (ValueError, TypeError) as error:
            raise ProtocolError(
                f"the checkpoint's playground settings are invalid: {error}"
            ) from None
    else:
        inputs = linears[0].in_features
        features = session.config.features
        if inputs != len(features):
            if inputs != 2:
                raise ProtocolError(
                    f"the model takes {inputs} inputs but {len(features)} features are on"
                )
            features = ["x1", "x2"]
        try:
            config = session.config.model_copy(update={**shape, "features": features})
            config = PlaygroundConfig.model_validate(config.model_dump())
        except ValueError as error:
            raise ProtocolError(f"the model does not fit the playground: {error}") from None
    if linears[0].in_features != len(config.features):
        raise ProtocolError("the model's input size does not match its features")
    expected = network.output_size(config, _classes(config, session))
    if linears[-1].out_features != expected:
        raise ProtocolError(
            f"the model has {linears[-1].out_features} outputs; this problem needs {expected}"
        )
    return config


def _classes(config: PlaygroundConfig, session: Session) -> int:
    if config.problem == "regression":
        return 0
    if config.dataset in ("spiral_multi", "blobs"):
        return config.classes
    if config.dataset == "custom":
        return session.num_classes
    return 2


def python_code(session: Session) -> str:
    """A script that rebuilds the data, features, network and training loop in Python."""
    c = session.config
    lines = [
        '"""The chainrule playground\'s setup as a script: same data, network and training."""',
        "",
        "import numpy as np",
        "",
        "import chainrule",
        "import chainrule.nn.functional as F",
        "from chainrule import nn, optim",
        "from chainrule.checkpoint import restore_optimizer",
        "from chainrule.data import toy",
        "",
        *_data_lines(session),
        "",
        "",
        "def features(points):",
        "    x1 = points[:, 0].astype(np.float64)",
        "    x2 = points[:, 1].astype(np.float64)",
        "    columns = [" + ", ".join(FEATURE_SOURCE[f] for f in c.features) + "]",
        "    return np.stack(columns, axis=1).astype(np.float32)",
        "",
        "",
        "X_train, y_train = features(X[:n_train]), y[:n_train]",
        "X_test, y_test = features(X[n_train:]), y[n_train:]",
        "",
        "model = " + _model_source(session.model),
        f"# the weights trained in the browser (from {CHECKPOINT_NAME}; remove these lines",
        "# and restore_optimizer below to start afresh)",
        f'checkpoint = chainrule.load("{CHECKPOINT_NAME}")',
        "model = checkpoint.model",
        "optimizer = " + _optimizer_source(c),
        "restore_optimizer(checkpoint, optimizer)  # its state too: training goes on as it was",
        "",
        "",
        "def loss_fn(output, target):",
        *_loss_lines(session),
        "",
        "",
        "with chainrule.no_grad():  # the first check: the loaded model's loss, as the page showed",
        "    train_loss = loss_fn(model(chainrule.tensor(X_train)), y_train).item()",
        "    test_loss = loss_fn(model(chainrule.tensor(X_test)), y_test).item()",
        'print(f"loaded model: train loss {train_loss:.4f}, test loss {test_loss:.4f}")',
        "",
        *_penalty_lines(c),
        "rng = np.random.default_rng(0)",
        f"batch_size = {'n_train' if c.full_batch else c.batch_size}",
        "for epoch in range(100):",
        "    order = rng.permutation(n_train)",
        "    for start in range(0, n_train, batch_size):",
        "        batch = order[start : start + batch_size]",
        "        loss = loss_fn(model(chainrule.tensor(X_train[batch])), y_train[batch])",
        "        total = loss + penalty(model)"
        if c.regularization != "none"
        else "        total = loss",
        "        optimizer.zero_grad()",
        "        total.backward()",
        "        optimizer.step()",
        "    with chainrule.no_grad():",
        "        train_loss = loss_fn(model(chainrule.tensor(X_train)), y_train).item()",
        "        test_loss = loss_fn(model(chainrule.tensor(X_test)), y_test).item()",
        "    if epoch % 10 == 0:",
        '        print(f"epoch {epoch}: train loss {train_loss:.4f}, test loss {test_loss:.4f}")',
        "",
    ]
    return "\n".join(lines)


def _data_lines(session: Session) -> list[str]:
    c = session.config
    noise = c.noise / 100
    n = N_REGRESS if c.problem == "regression" else N_CLASSIFY
    if c.dataset == "custom":
        rows = [[round(float(v), 4) for v in row] for row in session.custom]
        return [
            f"rows = np.array({rows}, dtype=np.float32).reshape(-1, 3)  # your points",
            f"i, t = np.arange(len(rows)), {100 - c.train_ratio}  # test fraction in %",
            "test = (i + 1) * t // 100 > i * t // 100  # a stable split: see the playground",
            "rows = np.concatenate([rows[~test], rows[test]])  # training points first",
            "X = rows[:, :2]",
            "y = rows[:, 2]" + (".astype(np.int64)" if c.problem == "classification" else ""),
            f"n_train = {session.data.n_train}",
        ]
    if c.dataset == "spiral_multi":
        call = [f"X, y = toy.spiral_multiclass({n}, {c.classes}, noise={noise}, seed={c.seed})"]
    elif c.dataset == "blobs":
        call = [
            f"rng = np.random.default_rng({c.seed})",
            f"y = np.arange({n}) % {c.classes}",
            f"angle = 2 * np.pi * y / {c.classes} + np.pi / 2",
            "X = 3.5 * np.stack([np.cos(angle), np.sin(angle)], axis=1)",
            f"X = X + {0.6 + 3.0 * noise:g} * rng.standard_normal(({n}, 2))",
            f"order = rng.permutation({n})",
            "X, y = X[order].astype(np.float32), y[order].astype(np.int64)",
        ]
    elif c.dataset == "moons":
        call = [
            f"X, y = toy.moons({n}, noise={noise / 2.5:g}, seed={c.seed})",
            "X = ((X - np.array([0.5, 0.25])) * 3.0).astype(np.float32)  # onto [-6, 6]²",
        ]
    else:
        call = [f"X, y = toy.{c.dataset}({n}, noise={noise}, seed={c.seed})"]
    return [*call, f"n_train = {session.data.n_train}  # {c.train_ratio}% for training"]


def _model_source(model: nn.Sequential) -> str:
    parts = []
    for module in model:
        if isinstance(module, nn.Linear):
            parts.append(f"nn.Linear({module.in_features}, {module.out_features})")
        else:
            parts.append(f"nn.{type(module).__name__}()")
    return "nn.Sequential(\n    " + ",\n    ".join(parts) + ",\n)"


def _optimizer_source(c: PlaygroundConfig) -> str:
    if c.optimizer == "adam":
        return f"optim.Adam(model.parameters(), lr={c.learning_rate:g})"
    momentum = ", momentum=0.9" if c.optimizer == "momentum" else ""
    return f"optim.SGD(model.parameters(), lr={c.learning_rate:g}{momentum})"


def _loss_lines(session: Session) -> list[str]:
    c = session.config
    if c.problem == "regression":
        return ["    return F.mse_loss(output[:, 0], chainrule.tensor(target.astype(np.float32)))"]
    if network.output_size(c, session.num_classes) == 1:
        target = "chainrule.tensor(target.astype(np.float32))"
        if c.loss == "cross_entropy":
            return [f"    return F.binary_cross_entropy_with_logits(output[:, 0], {target})"]
        return [f"    return F.mse_loss(F.sigmoid(output[:, 0]), {target})"]
    if c.loss == "cross_entropy":
        return ["    return F.cross_entropy(output, chainrule.tensor(target.astype(np.int64)))"]
    return [
        "    one_hot = np.eye(output.shape[1], dtype=np.float32)[target.astype(np.int64)]",
        "    squared = F.mse_loss(\n"
        "        F.softmax(output, 1), chainrule.tensor(one_hot), reduction='none'\n"
        "    )",
        "    return squared.sum(1).mean()",
    ]


def _penalty_lines(c: PlaygroundConfig) -> list[str]:
    if c.regularization == "none":
        return []
    term = "w.abs().sum()" if c.regularization == "l1" else "0.5 * (w * w).sum()"
    return [
        "def penalty(model):",
        f"    # {c.regularization.upper()} on the weights (not the biases), rate {c.reg_rate:g}",
        "    weights = [m.weight for m in model if isinstance(m, nn.Linear)]",
        f"    return {c.reg_rate!r} * sum({term} for w in weights)",
        "",
        "",
    ]
