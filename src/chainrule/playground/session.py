"""One browser tab's playground: its data, model, optimizer and training, computed by chainrule.

A `Session` is plain Python with no web code: the server makes one per WebSocket and calls
its methods; tests call them directly. Every method that runs chainrule holds `ENGINE_LOCK`:
grad mode is per thread, but the backward observers that the backprop view installs (and
the random generator that seeds a new model) are process-wide, so two sessions computing at
once in two threads would see each other's backward passes.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import numpy as np

import chainrule
from chainrule import nn
from chainrule.playground import network
from chainrule.playground.datasets import Dataset, make_dataset, parse_csv
from chainrule.playground.encoding import class_bytes, number, numbers, rounded, scaled, unit_bytes
from chainrule.playground.features import grid_points, make_features
from chainrule.playground.messages import (
    DOMAIN,
    MAX_POINTS,
    PlaygroundConfig,
    ProtocolError,
)

ENGINE_LOCK = threading.RLock()
OUTPUT_GRID = 100
NEURON_GRID = 20
FRAME_BUDGET_S = 0.035  # at most this long training per frame, and at most one epoch
LEARNING_RATES = (1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0)

_DATA_KEYS = ("dataset", "problem", "classes", "noise", "train_ratio", "seed")
_MODEL_KEYS = ("features", "layers", "activations", "init", "seed", "problem")
_OPTIMIZER_KEYS = ("optimizer",)


def suggest_learning_rate(lr: float) -> float:
    """A tenth of `lr`, rounded down to one of the Playground's learning rates."""
    smaller = [r for r in LEARNING_RATES if r <= lr / 10 * 1.0001]
    return smaller[-1] if smaller else LEARNING_RATES[0]


class Diverged(Exception):
    """A step produced NaN or inf: `layer` (1-based, or None) is where it showed first."""

    def __init__(self, layer: int | None, what: str) -> None:
        super().__init__(what)
        self.layer, self.what = layer, what


class Session:
    def __init__(self, config: PlaygroundConfig | None = None) -> None:
        self.config = config or PlaygroundConfig()
        self.custom = np.zeros((0, 3), np.float32)
        self.playing = False
        self.probe: tuple[str, int] | None = None
        self.divergence: dict[str, Any] | None = None
        self._grad_sums, self._grad_steps = np.zeros(0), 0
        self._captured: Any = None  # (key, compiled step, parameters, their saved copies)
        self._healthy: tuple[int, list[np.ndarray]] | None = None  # (step, parameters)
        self.draws = 0  # resets so far: each draws other initial weights
        with ENGINE_LOCK:
            self._build_data()
            self._build_model()

    # ------------------------------------------------------------------ building
    def _build_data(self) -> None:
        self.data: Dataset = make_dataset(self.config, self.custom)
        names = self.config.features
        self.x_all = make_features(self.data.points, names)
        self.grid_features = make_features(grid_points(OUTPUT_GRID, DOMAIN), names)
        self.neuron_grid = grid_points(NEURON_GRID, DOMAIN)
        self.neuron_features = make_features(self.neuron_grid, names)
        self.probe = None

    @property
    def num_classes(self) -> int:
        return self.data.num_classes

    def _build_model(self, draw: int = 0) -> None:
        """The config's network; `draw` > 0: the draw-th other set of initial weights (Reset)."""
        self.model: nn.Sequential = network.build_model(self.config, self.num_classes)
        if draw:
            seed = (self.config.seed + 104_729 * draw) % 2**31
            network.initialise(self.model, self.config.model_copy(update={"seed": seed}))
        self.optimizer = network.build_optimizer(self.model, self.config)
        self._reset_counters()

    def _reset_counters(self) -> None:
        self.epoch = 0
        self.steps = 0
        self.cursor = 0
        self.rng = np.random.default_rng(self.config.seed)
        self.order = self.rng.permutation(self.data.n_train)
        self.divergence = None
        self._grad_sums, self._grad_steps = np.zeros(0), 0
        self._healthy = (0, [p.detach().numpy().copy() for p in self.model.parameters()])

    def apply_config(self, config: PlaygroundConfig, keep_model: bool = False) -> set[str]:
        """Adopt a new config; returns what was rebuilt ({'data', 'model', 'optimizer'}).

        `keep_model` (the page's Regenerate): when only the seed changed, new data is drawn
        and the network keeps its weights and optimizer."""
        old, changed = self.config, set()
        others = {k for k in PlaygroundConfig.model_fields if getattr(config, k) != getattr(old, k)}
        if keep_model and others == {"seed"}:
            with ENGINE_LOCK:
                self.config = config
                self._build_data()
                self.cursor = 0
                self.order = self.rng.permutation(self.data.n_train)
            return {"data"}
        with ENGINE_LOCK:
            self.config = config
            if config.features != old.features or any(
                getattr(config, k) != getattr(old, k) for k in _DATA_KEYS
            ):
                classes_before = self.num_classes
                self._build_data()
                changed.add("data")
                if self.num_classes != classes_before:
                    changed.add("model")
            if any(getattr(config, k) != getattr(old, k) for k in _MODEL_KEYS) or changed:
                changed.add("model")
            if "model" in changed:
                self._build_model()
                changed.add("optimizer")
            elif any(getattr(config, k) != getattr(old, k) for k in _OPTIMIZER_KEYS):
                self.optimizer = network.build_optimizer(self.model, config)
                changed.add("optimizer")
            elif config.learning_rate != old.learning_rate:
                for group in self.optimizer.param_groups:
                    group["lr"] = config.learning_rate
            if config.batch_size != old.batch_size or config.full_batch != old.full_batch:
                self.cursor = 0
        return changed

    def reset(self) -> None:
        """New random weights (a new draw each time), counters back to zero (the data stay).
        The draws follow from the seed, so the n-th reset of a link is the same everywhere."""
        with ENGINE_LOCK:
            self.draws += 1
            self._build_model(self.draws)
        self.playing = False

    # ------------------------------------------------------------------ your own data
    def _set_custom(self, rows: np.ndarray) -> None:
        self.custom = rows.astype(np.float32)
        if self.config.dataset != "custom":
            self.config = self.config.model_copy(update={"dataset": "custom"})
        with ENGINE_LOCK:
            classes_before = self.num_classes
            self._build_data()
            if self.num_classes != classes_before:
                self._build_model()
            else:
                self.cursor = 0
                self.order = self.rng.permutation(self.data.n_train)

    def add_point(self, x1: float, x2: float, label: float) -> None:
        if len(self.custom) >= MAX_POINTS:
            raise ProtocolError(f"at most {MAX_POINTS:,} points")
        if self.config.problem == "classification" and (label != round(label) or label < 0):
            raise ProtocolError("a classification label must be a class index 0..4")
        if self.config.problem == "regression" and not -1 <= label <= 1:
            raise ProtocolError("a regression target must lie in [-1, 1]")
        rows = self.custom
        if self.config.dataset != "custom" and len(self.data.points):
            # the first point joins the data on screen (rounded as a link holds them),
            # rather than replacing it; "Clear points" starts from nothing
            labels = self.data.labels.astype(np.float32)[:, None]
            rows = np.round(np.hstack([self.data.points, labels]), 3)
        if len(rows) >= MAX_POINTS:
            raise ProtocolError(f"at most {MAX_POINTS:,} points")
        self._set_custom(np.vstack([rows, [[x1, x2, label]]]))

    def clear_points(self) -> None:
        self._set_custom(np.zeros((0, 3), np.float32))

    def upload_csv(self, text: str) -> int:
        rows = parse_csv(text, self.config.problem)
        self._set_custom(rows)
        return len(rows)

    # ------------------------------------------------------------------ training
    @property
    def batch_size(self) -> int:
        return self.data.n_train if self.config.full_batch else self.config.batch_size

    def _train_xy(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x_all[: self.data.n_train], self.data.labels[: self.data.n_train]

    def _step(self, idx: np.ndarray, grad_sums: np.ndarray) -> float:
        x, y = self._train_xy()
        out = self.model(chainrule.tensor(x[idx]))
        loss = network.data_loss(out, y[idx], self.config)
        extra = network.penalty(self.model, self.config)
        total = loss if extra is None else loss + extra
        self.optimizer.zero_grad()
        total.backward()
        layers = network.linear_layers(self.model)
        norms = np.array([_grad_norm(layer) for layer in layers])
        if not (math.isfinite(loss.item()) and np.all(np.isfinite(norms))):
            raise Diverged(*self._where_it_blew_up(x[idx], norms))
        before = [p._data.copy() for p in self.model.parameters()]
        self.optimizer.step()
        for i, layer in enumerate(layers):
            if not (np.all(np.isfinite(layer.weight._data)) and _finite(layer.bias)):
                for param, saved in zip(self.model.parameters(), before, strict=True):
                    param._data[...] = saved
                self.optimizer = network.build_optimizer(self.model, self.config)
                raise Diverged(i + 1, "its weights became infinite after the update")
        grad_sums += norms
        self.steps += 1
        return float(loss.item())

    def _where_it_blew_up(self, x: np.ndarray, norms: np.ndarray) -> tuple[int | None, str]:
        hidden, out = network.hidden_forward(self.model, x)
        for i, values in enumerate([*hidden, out]):
            if not np.all(np.isfinite(values)):
                return i + 1, "its outputs became NaN or infinite in the forward pass"
        for i, value in enumerate(norms):
            if not math.isfinite(value):
                return i + 1, "its gradient became NaN or infinite"
        return None, "the loss became NaN or infinite"

    def train(self, budget: float = FRAME_BUDGET_S, max_steps: int | None = None) -> bool:
        """Train until the end of the current epoch, `budget` seconds or `max_steps` steps,
        whichever comes first; returns True when an epoch ended. The gradient norms of the
        steps add up until the next `frame`."""
        started = time.perf_counter()
        taken = 0
        with ENGINE_LOCK:
            n_train = self.data.n_train
            layers = len(network.linear_layers(self.model))
            if len(self._grad_sums) != layers:
                self._grad_sums, self._grad_steps = np.zeros(layers), 0
            fast = self._fast_step()
            while n_train > 0:
                if self.cursor >= n_train:
                    self.cursor = 0
                    self.order = self.rng.permutation(n_train)
                idx = self.order[self.cursor : self.cursor + self.batch_size]
                try:
                    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                        if fast is not None:
                            self._step_captured(fast, idx, self._grad_sums)
                        else:
                            self._step(idx, self._grad_sums)
                except Diverged as error:
                    self._diverged(error)
                    return False
                self._grad_steps += 1
                self.cursor += len(idx)
                taken += 1
                if self.cursor >= n_train:
                    self.epoch += 1
                    return True
                if max_steps is not None and taken >= max_steps:
                    break
                if time.perf_counter() - started > budget:
                    break
        return False

    def take_grad_norms(self) -> np.ndarray | None:
        """The mean gradient norm per layer over the steps since the last call (None: none)."""
        if not self._grad_steps:
            return None
        norms = self._grad_sums / self._grad_steps
        self._grad_sums, self._grad_steps = np.zeros(len(norms)), 0
        return norms

    def train_frame(self, budget: float = FRAME_BUDGET_S, max_steps: int | None = None) -> dict:
        """Train for up to one epoch (or `budget` seconds, or `max_steps`), then a frame."""
        with ENGINE_LOCK:
            self.train(budget, max_steps)
            return self.frame(grad_norms=self.take_grad_norms())

    def step_once(self) -> dict:
        """The page's 'step' button: the rest of the current epoch (from its start: one
        epoch), so the epoch counter moves by one."""
        with ENGINE_LOCK:
            start = self.epoch
            while self.epoch == start and self.divergence is None and self.data.n_train:
                self.train(budget=math.inf)
            return self.frame(grad_norms=self.take_grad_norms())

    # ------------------------------------------------------------------ the captured step
    def _fast_step(self) -> Any:
        """`chainrule.compile_step` of this model, loss and optimizer (remade when one of them
        is), or None where it does not apply: a weight penalty is not part of its loss."""
        if self.config.regularization != "none" and self.config.reg_rate > 0:
            return None
        key = (id(self.model), id(self.optimizer))
        if self._captured is None or self._captured[0] != key:
            step = chainrule.compile_step(
                self.model,
                lambda output, target: network.data_loss(output, target, self.config),
                self.optimizer,
            )
            params = list(self.model.parameters())
            saved = [p.detach().numpy().copy() for p in params]
            self._captured = (key, step, params, saved)
        return self._captured

    def _step_captured(self, fast: Any, idx: np.ndarray, grad_sums: np.ndarray) -> None:
        """One step through the captured program; on NaN or inf the weights of before the
        step come back and the optimizer starts afresh (its state saw the bad gradient)."""
        _, step, params, saved = fast
        arrays = [p.detach().numpy() for p in params]
        for buffer, array in zip(saved, arrays, strict=True):
            np.copyto(buffer, array)
        x, y = self._train_xy()
        loss = float(step(x[idx], y[idx]).item())
        norms = np.array([_grad_norm(layer) for layer in network.linear_layers(self.model)])
        healthy = math.isfinite(loss) and bool(np.all(np.isfinite(norms)))
        if healthy and all(math.isfinite(float(np.add.reduce(a, axis=None))) for a in arrays):
            grad_sums += norms
            self.steps += 1
            return
        for buffer, array in zip(saved, arrays, strict=True):
            np.copyto(array, buffer)
        self.optimizer = network.build_optimizer(self.model, self.config)
        if not healthy:
            raise Diverged(*self._where_it_blew_up(x[idx], norms))
        for i, layer in enumerate(network.linear_layers(self.model)):
            if not (np.all(np.isfinite(layer.weight.detach().numpy())) and _finite(layer.bias)):
                raise Diverged(i + 1, "its weights became infinite after the update")
        raise Diverged(None, "its weights became infinite after the update")

    def _finite_loss(self) -> bool:
        """Whether the current weights give a finite loss on all the training points."""
        x, y = self._train_xy()
        _, out = network.hidden_forward(self.model, x)
        with chainrule.no_grad():
            return math.isfinite(network.data_loss(chainrule.tensor(out), y, self.config).item())

    def _diverged(self, error: Diverged) -> None:
        self.playing = False
        lr = self.config.learning_rate
        where = f"layer {error.layer}" if error.layer else "the loss"
        suggestion = suggest_learning_rate(lr)
        restored = "those before that step"
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            finite = self._finite_loss()
        if not finite and self._healthy is not None:
            # the weights before the bad step already overflow on the whole data: go back
            # to the last ones whose loss was finite, so the page never shows loss NaN
            step, arrays = self._healthy
            for param, saved in zip(self.model.parameters(), arrays, strict=True):
                np.copyto(param.detach().numpy(), saved)
            self.optimizer = network.build_optimizer(self.model, self.config)
            restored = f"those of step {step}, the last with a finite loss"
        self.divergence = {
            "layer": error.layer,
            "step": self.steps + 1,
            "learning_rate": lr,
            "suggested_lr": suggestion,
            "message": (
                f"Training diverged at step {self.steps + 1}: {where} blew up ({error.what}). "
                f"Training is paused and the weights are {restored}. "
                f"The learning rate {lr:g} is too large for this network: try {suggestion:g}."
            ),
        }

    # ------------------------------------------------------------------ editing
    def set_weight(self, layer: int, target: int, source: int, value: float) -> None:
        layers = network.linear_layers(self.model)
        if layer >= len(layers):
            raise ProtocolError(f"layer {layer} does not exist (the network has {len(layers)})")
        linear = layers[layer]
        if target >= linear.out_features or source >= linear.in_features:
            raise ProtocolError(f"no such weight in layer {layer}: {target} <- {source}")
        with ENGINE_LOCK, chainrule.no_grad():
            if source < 0:
                assert linear.bias is not None
                linear.bias._data[target] = value
            else:
                linear.weight._data[target, source] = value

    def set_probe(self, split: str, index: int | None) -> None:
        if index is None:
            self.probe = None
            return
        size = self.data.n_train if split == "train" else len(self.data.points) - self.data.n_train
        if index >= size:
            raise ProtocolError(f"there is no {split} point {index} (there are {size})")
        self.probe = (split, index)

    def replace_model(self, model: nn.Sequential, config: PlaygroundConfig) -> None:
        """Install a model (from a checkpoint) that matches `config`."""
        with ENGINE_LOCK:
            self.config = config
            self._build_data()
            self.model = model
            self.optimizer = network.build_optimizer(model, config)
            self._reset_counters()
        self.playing = False

    # ------------------------------------------------------------------ frames
    def data_message(self) -> dict:
        points, labels = self.data.points, self.data.labels
        rows = np.column_stack([points, labels]).astype(np.float64)
        return {
            "type": "data",
            "train": rounded(rows[: self.data.n_train], 3),
            "test": rounded(rows[self.data.n_train :], 3),
            "num_classes": self.num_classes,
            "problem": self.config.problem,
            "dataset": self.config.dataset,
            "custom_points": len(self.custom),
            # your own points as added (unshuffled), for the page's URL hash
            "custom": rounded(self.custom, 3) if self.config.dataset == "custom" else [],
        }

    def _losses(self, out: np.ndarray) -> dict[str, Any]:
        """Loss and accuracy on the training and test points, from their outputs `out`."""
        n = self.data.n_train
        result: dict[str, Any] = {"confusion": None}
        with chainrule.no_grad():
            for name, o, y in (
                ("train", out[:n], self.data.labels[:n]),
                ("test", out[n:], self.data.labels[n:]),
            ):
                result[f"{name}_loss"] = result[f"{name}_accuracy"] = None
                if len(o) == 0:
                    continue
                loss = network.data_loss(chainrule.tensor(o), y, self.config)
                result[f"{name}_loss"] = number(loss.item())
                if self.config.problem == "classification":
                    predicted = network.probabilities(o, self.config).argmax(axis=1)
                    result[f"{name}_accuracy"] = number(float(np.mean(predicted == y)), 4)
                    if name == "test":
                        result["confusion"] = _confusion(y, predicted, max(2, self.num_classes))
        return result

    def _output_heatmap(self, out: np.ndarray) -> dict[str, Any]:
        if self.config.problem == "regression":
            return {"kind": "value", "values": unit_bytes(out[:, 0])}
        probs = network.probabilities(out, self.config)
        if probs.shape[1] == 2:
            return {"kind": "value", "values": unit_bytes(2 * probs[:, 1] - 1)}
        winner, confidence = class_bytes(probs)
        return {"kind": "classes", "classes": winner, "confidence": confidence}

    def _neuron_heatmaps(self, hidden: list[np.ndarray]) -> list[list[str]]:
        features = self.neuron_features
        inputs = [unit_bytes(scaled(features[:, i])) for i in range(features.shape[1])]
        return [inputs] + [[unit_bytes(h[:, j]) for j in range(h.shape[1])] for h in hidden]

    def _dead_units(self, hidden: list[np.ndarray]) -> list[float | None]:
        """Per hidden layer: the fraction of ReLU units that output 0 on every training point
        (None for other activations, which cannot die that way)."""
        acts = network.layer_activations(self.model)
        return [
            number(float(np.mean(np.all(h <= 0, axis=0))), 4) if act == "relu" and len(h) else None
            for h, act in zip(hidden, acts, strict=True)
        ]

    def frame(self, grad_norms: np.ndarray | None = None) -> dict:
        """Everything the page draws after a step: losses, weights, heatmaps, health.

        One vectorised forward pass covers the 100x100 output grid, the 20x20 neuron grid
        and every data point; the heatmaps and losses are slices of it."""
        with ENGINE_LOCK, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            layers = network.linear_layers(self.model)
            g, m = len(self.grid_features), len(self.neuron_features)
            stacked = np.concatenate([self.grid_features, self.neuron_features, self.x_all])
            hidden, out = network.hidden_forward(self.model, stacked)
            n_train = self.data.n_train
            message: dict[str, Any] = {
                "type": "frame",
                "epoch": self.epoch,
                "step": self.steps,
                "playing": self.playing,
                "weights": [rounded(layer.weight._data) for layer in layers],
                "biases": [rounded(layer.bias._data) for layer in layers if layer.bias is not None],
                "activations": network.layer_activations(self.model),
                "output": self._output_heatmap(out[:g]),
                "output_grid": OUTPUT_GRID,
                "neurons": self._neuron_heatmaps([h[g : g + m] for h in hidden]),
                "neuron_grid": NEURON_GRID,
                "grad_norms": None if grad_norms is None else numbers(grad_norms, 4),
                "dead_relu": self._dead_units([h[g + m : g + m + n_train] for h in hidden]),
                "num_classes": self.num_classes,
                "divergence": self.divergence,
                "backprop": self.backprop() if self.probe else None,
            }
            message.update(self._losses(out[g + m :]))
            if message["train_loss"] is not None and self.divergence is None:
                # the last weights with a finite loss on the data: what a divergence restores
                self._healthy = (
                    self.steps,
                    [p.detach().numpy().copy() for p in self.model.parameters()],
                )
        return message

    # ------------------------------------------------------------------ backprop view
    def backprop(self) -> dict[str, Any]:
        """Forward and backward for the probed point alone: every neuron's value z (before
        the activation) and a (after), dL/dz, dL/da, every weight's dL/dw, and the chain of
        backward nodes that ran (from `chainrule.autograd.observe_backward`)."""
        assert self.probe is not None
        split, index = self.probe
        row = index if split == "train" else self.data.n_train + index
        x = self.x_all[row : row + 1]
        target = self.data.labels[row : row + 1]
        gates: list[dict[str, Any]] = []

        def observe(node: Any, upstream: np.ndarray, downstream: Any) -> None:
            gates.append(
                {"node": node.name, "upstream_norm": number(float(np.linalg.norm(upstream)), 4)}
            )

        with ENGINE_LOCK:
            modules = list(self.model)
            h = inputs = chainrule.tensor(x, requires_grad=True)
            records: list[dict[str, Any]] = []
            i = 0
            while i < len(modules):
                linear = modules[i]
                assert isinstance(linear, nn.Linear)
                z = linear(h)
                z.retain_grad()
                a = z
                activation = "linear"
                if i + 1 < len(modules) and not isinstance(modules[i + 1], nn.Linear):
                    a = modules[i + 1](z)
                    a.retain_grad()
                    activation = network.ACTIVATION_NAMES.get(type(modules[i + 1]).__name__, "?")
                    i += 1
                records.append({"linear": linear, "input": h, "z": z, "a": a, "act": activation})
                h = a
                i += 1
            loss = network.data_loss(h, target, self.config)
            self.model.zero_grad()
            with chainrule.autograd.observe_backward(observe):
                loss.backward()
            layers = []
            for record in records:
                linear, z, a = record["linear"], record["z"], record["a"]
                assert linear.bias is not None and linear.weight.grad is not None
                local = _activation_derivative(record["act"], z._data, modules, linear)
                layers.append(
                    {
                        "activation": record["act"],
                        "z": numbers(z._data[0]),
                        "a": numbers(a._data[0]),
                        "dz": numbers(z.grad.numpy()[0]) if z.grad is not None else None,
                        "da": numbers(a.grad.numpy()[0]) if a.grad is not None else None,
                        "local": numbers(local[0]),
                        "w": numbers(linear.weight._data),
                        "b": numbers(linear.bias._data),
                        "dw": numbers(linear.weight.grad.numpy()),
                        "db": numbers(linear.bias.grad.numpy())
                        if linear.bias.grad is not None
                        else None,
                    }
                )
            self.model.zero_grad()
            prediction = network.probabilities(h._data, self.config)
        return {
            "split": split,
            "index": index,
            "point": numbers(self.data.points[row]),
            "label": number(float(target[0])),
            "inputs": numbers(x[0]),
            "dinputs": numbers(inputs.grad._data[0]) if inputs.grad is not None else None,
            "loss": number(loss.item()),
            "prediction": numbers(np.atleast_1d(prediction[0])),
            "learning_rate": self.config.learning_rate,
            "optimizer": self.config.optimizer,
            "layers": layers,
            "gates": gates[:40],
        }


def _grad_norm(layer: nn.Linear) -> float:
    """‖(∂L/∂W, ∂L/∂b)‖₂ of one layer (a display figure: float32 dot products suffice)."""
    total = 0.0
    for param in (layer.weight, layer.bias):
        if param is not None and param.grad is not None:
            g = param.grad._data.ravel()
            total += float(np.dot(g, g))
    return math.sqrt(total) if math.isfinite(total) else math.inf


def _finite(param: Any) -> bool:
    return param is None or bool(np.all(np.isfinite(param._data)))


def _confusion(y: np.ndarray, predicted: np.ndarray, classes: int) -> list[list[int]]:
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (y.astype(np.int64), predicted.astype(np.int64)), 1)
    return matrix.tolist()


def _activation_derivative(
    activation: str, z: np.ndarray, modules: list[nn.Module], linear: nn.Linear
) -> np.ndarray:
    """f'(z) of the activation after `linear`, by chainrule's own backward on a copy of z."""
    if activation == "linear":
        return np.ones_like(z)
    position = modules.index(linear)
    probe = chainrule.tensor(z.copy(), requires_grad=True)
    modules[position + 1](probe).sum().backward()
    assert probe.grad is not None
    return probe.grad.numpy()
