"""One browser tab's playground: its data, model and optimizer, and the edits to them.

A `Session` is plain Python with no web code: the server makes one per WebSocket and calls
its methods (on the engine thread, see engine.py); tests call them directly. Training is
in `training.py`, what the page draws in
`frames.py`, the backprop view in `probe.py`. Every method that runs chainrule holds
`ENGINE_LOCK`: grad mode is per thread, but the backward observers that the backprop view
installs (and the random generator that seeds a new model) are process-wide, so two
sessions computing at once in two threads would see each other's backward passes.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np

import chainrule
from chainrule import nn
from chainrule.playground import frames, network, probe, training
from chainrule.playground.datasets import Dataset, make_dataset, parse_csv
from chainrule.playground.features import grid_points, make_features
from chainrule.playground.frames import NEURON_GRID, OUTPUT_GRID
from chainrule.playground.messages import (
    DOMAIN,
    MAX_POINTS,
    PlaygroundConfig,
    ProtocolError,
)
from chainrule.playground.training import FRAME_BUDGET_S

ENGINE_LOCK = threading.RLock()

_DATA_KEYS = ("dataset", "problem", "classes", "noise", "train_ratio", "seed")
_MODEL_KEYS = ("features", "layers", "activations", "init", "seed", "problem")
_OPTIMIZER_KEYS = ("optimizer",)


class Session:
    def __init__(self, config: PlaygroundConfig | None = None) -> None:
        self.config = config or PlaygroundConfig()
        self.custom = np.zeros((0, 3), np.float32)
        self.playing = False
        self.probe: tuple[str, int] | None = None
        self.divergence: dict[str, Any] | None = None
        self.grad_sums, self.grad_steps = np.zeros(0), 0  # per layer, since the last frame
        self.use_captured = True  # False: always the eager step (tests compare the two)
        self.captured: Any = None  # (key, compiled step, parameters, their saved copies)
        self.healthy: tuple[int, list[np.ndarray]] | None = None  # (step, parameters)
        self.group_cache: Any = None  # batched.group_key's last answer and what it saw
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
        self.grad_sums, self.grad_steps = np.zeros(0), 0
        self.healthy = (0, [p.detach().numpy().copy() for p in self.model.parameters()])

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

    def train(self, budget: float = FRAME_BUDGET_S, max_steps: int | None = None) -> bool:
        """Train until the end of the current epoch, `budget` seconds or `max_steps` steps
        (see `training.train`); True when an epoch ended."""
        with ENGINE_LOCK:
            return training.train(self, budget, max_steps)

    def take_grad_norms(self) -> np.ndarray | None:
        """The mean gradient norm per layer over the steps since the last call (None: none)."""
        return training.take_grad_norms(self)

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

    # ------------------------------------------------------------------ what the page draws
    def data_message(self) -> dict:
        return frames.data_message(self)

    def frame(self, grad_norms: np.ndarray | None = None) -> dict:
        """Everything the page draws after a step (see `frames.frame`)."""
        with ENGINE_LOCK:
            return frames.frame(self, grad_norms)

    def backprop(self) -> dict[str, Any]:
        """The probed point's forward and backward (see `probe.backprop`)."""
        with ENGINE_LOCK:
            return probe.backprop(self)
