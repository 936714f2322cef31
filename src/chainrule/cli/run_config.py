"""A run's settings (`RunConfig`: `chainrule train`'s options), their ranges, the per-dataset
defaults, and the size check made before anything is allocated."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from chainrule import limits
from chainrule.cli.factories import ACTIVATIONS, OPTIMIZERS
from chainrule.cli.run_schema import RunFolderError, check_settings_types

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


def stored_data(spec: str, where: str, given: str | None, command: str) -> str:
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
