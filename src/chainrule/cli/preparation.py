"""A run's data: loaded, split into train / validation / test by the seed, standardised
with the training split's statistics."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from chainrule.cli.run_config import RunConfig
from chainrule.data import Standardizer, load_dataset, train_test_split
from chainrule.data.registry import DatasetInfo


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
    """Load the dataset and split it; the split depends only on the seed (the test set is
    fixed for datasets that come with one, such as mnist and mnist1d)."""
    info = load_dataset(config.data, n=config.samples, noise=config.noise, seed=config.seed)
    classification = info.task == "classification"
    stratify = classification
    if info.test_mask is not None:  # the dataset's own test set (mnist, mnist1d)
        X_train, X_test = info.X[~info.test_mask], info.X[info.test_mask]
        y_train, y_test = info.y[~info.test_mask], info.y[info.test_mask]
    else:
        X_train, X_test, y_train, y_test = train_test_split(
            info.X, info.y, config.test_fraction, stratify=stratify, seed=config.seed
        )
    val = None
    if config.val_fraction:
        X_train, X_val, y_train, y_val = train_test_split(
            X_train, y_train, config.val_fraction, stratify=stratify, seed=config.seed + 1
        )
    scaler = Standardizer().fit(X_train)
    if info.image_shape is not None:
        # pixels share one scale: a per-pixel std would blow up a border pixel that is dark
        # in almost every training image (MNIST's test accuracy drops by a point with it)
        scaler.mean = np.full_like(scaler.mean, X_train.mean(dtype=np.float64))
        scaler.std = np.full_like(scaler.std, X_train.std(dtype=np.float64))
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
