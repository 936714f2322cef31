"""Hold-out splits and feature scaling on plain ndarrays: `train_test_split`, `Standardizer`.

Both fit on the training data only, so nothing about the test set leaks into training.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.types import TensorLike


def _test_count(n: int, test_size: float | int) -> int:
    """Samples in the test set: a fraction (rounded up, as scikit-learn) or an exact count."""
    if isinstance(test_size, bool):
        raise TypeError("test_size must be a fraction in (0, 1) or a positive int")
    if isinstance(test_size, (int, np.integer)):
        count = int(test_size)
    elif 0.0 < float(test_size) < 1.0:
        count = math.ceil(float(test_size) * n)
    else:
        raise ValueError(f"test_size must be a fraction in (0, 1) or a count, got {test_size}")
    if not 1 <= count <= n - 1:
        raise ValueError(
            f"test_size={test_size} gives {count} test samples out of {n}; both the train and "
            "the test set need at least one sample"
        )
    return count


def _stratified_test_indices(
    labels: np.ndarray, n_test: int, rng: np.random.Generator
) -> np.ndarray:
    """Pick n_test positions so each class keeps (as nearly as possible) its share.

    Class k with c_k of the N samples gets floor(n_test * c_k / N) test samples; the few left
    over go to the classes with the largest fractional parts (largest-remainder rounding).
    """
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    quotas = n_test * counts / len(labels)
    take = np.floor(quotas).astype(np.int64)
    leftover = n_test - int(take.sum())
    if leftover:
        by_remainder = np.argsort(-(quotas - take), kind="stable")
        take[by_remainder[:leftover]] += 1
    order = rng.permutation(len(labels))
    # positions grouped by class, each class's members in random order
    grouped = order[np.argsort(inverse[order], kind="stable")]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank_in_class = np.arange(len(labels)) - np.repeat(starts, counts)
    chosen = rank_in_class < np.repeat(take, counts)
    return grouped[chosen]


def train_test_split(
    X: TensorLike, y: TensorLike, test_size: float | int = 0.2, stratify: bool = True, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle and split (X, y) into a training and a test set.

    Args:
        X: features, shape (N, ...).
        y: targets, shape (N,) (or (N, ...)).
        test_size: the test fraction in (0, 1) (rounded up to whole samples) or a count.
        stratify: for integer or bool labels, keep each class's share in both sets; float
            targets (regression) are always split by a plain shuffle.
        seed: seed of the NumPy generator that shuffles; the same seed gives the same split.

    Returns:
        X_train, X_test, y_train, y_test as ndarrays (dtypes kept, rows shuffled).
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError("train_test_split: X and y need a first (sample) dimension")
    if len(X) != len(y):
        raise ValueError(f"train_test_split: X has {len(X)} samples but y has {len(y)}")
    n = len(X)
    n_test = _test_count(n, test_size)
    rng = np.random.default_rng(seed)
    is_test = np.zeros(n, dtype=bool)
    if stratify and y.ndim == 1 and y.dtype.kind in "iub":
        is_test[_stratified_test_indices(y, n_test, rng)] = True
    else:
        is_test[rng.permutation(n)[:n_test]] = True
    train = rng.permutation(np.flatnonzero(~is_test))
    test = rng.permutation(np.flatnonzero(is_test))
    return X[train], X[test], y[train], y[test]


class Standardizer:
    """Per-feature standardisation: z = (x - mean) / std, with mean and std from `fit` only.

    `fit(train)` takes train of shape (N, ...) and stores `mean` and `std` of shape (...)
    (population std, ddof=0). A constant feature has std 0 and is only centred (its scale is
    taken as 1), so it never divides by zero. Floating inputs keep their dtype; other inputs
    come out float32.
    """

    mean: np.ndarray
    std: np.ndarray

    def fit(self, train: TensorLike) -> Standardizer:
        data = np.asarray(train, dtype=np.float64)
        if data.ndim == 0 or len(data) == 0:
            raise ValueError("Standardizer.fit needs at least one sample")
        self.mean = data.mean(axis=0)
        self.std = data.std(axis=0)
        return self

    def _scale(self) -> np.ndarray:
        if not hasattr(self, "mean"):
            raise RuntimeError("Standardizer: call fit(train) first")
        return np.where(self.std > 0, self.std, 1.0)

    @staticmethod
    def _dtype(x: np.ndarray) -> np.dtype:
        return x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)

    def transform(self, x: TensorLike) -> np.ndarray:
        x = np.asarray(x)
        scale = self._scale()
        if x.shape[1:] != self.mean.shape:
            raise ValueError(
                f"Standardizer: fitted on samples of shape {self.mean.shape}, got {x.shape[1:]}"
            )
        return ((x - self.mean) / scale).astype(self._dtype(x))

    def inverse_transform(self, z: TensorLike) -> np.ndarray:
        z = np.asarray(z)
        return (z * self._scale() + self.mean).astype(self._dtype(z))

    def fit_transform(self, train: TensorLike) -> np.ndarray:
        return self.fit(train).transform(train)


def standardize(train: TensorLike, *others: TensorLike) -> tuple[np.ndarray, ...]:
    """Standardise `train` and each of `others` with the mean and std of `train` alone.

    Returns a tuple (train_z, *others_z), e.g. ``X_tr, X_te = standardize(X_tr, X_te)``
    (a 1-tuple when no others are given). Use `Standardizer` to keep the fitted statistics.
    """
    scaler = Standardizer().fit(train)
    return tuple(scaler.transform(x) for x in (train, *others))
