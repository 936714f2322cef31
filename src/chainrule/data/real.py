"""Real datasets from local files: `digits` (bundled with scikit-learn) and `mnist` (IDX files).

Nothing is downloaded. `load_idx` and `load_csv` (the file readers) are re-exported here.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from chainrule.data.idx import load_idx
from chainrule.data.tabular import load_csv

__all__ = ["digits", "load_csv", "load_idx", "mnist", "mnist_files"]

_INSTALL_HINT = 'pip install "chainrule[datasets]"'


def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 handwritten digits: X float32 (1797, 64) in [0, 1], y int64 in 0..9.

    Pixel intensities 0..16 are divided by 16; rows are the flattened 8x8 images.
    Requires scikit-learn (imported on first use).
    """
    try:
        from sklearn.datasets import load_digits  # optional dependency
    except ImportError as error:
        raise ImportError(f"chainrule.data.digits needs scikit-learn: {_INSTALL_HINT}") from error
    bunch = load_digits()
    X = np.asarray(bunch.data, dtype=np.float32) / np.float32(16.0)
    return X, np.asarray(bunch.target, dtype=np.int64)


def mnist_files(kind: str = "train") -> tuple[str, str]:
    """The (images, labels) IDX file names for `kind` 'train' or 'test' (without '.gz')."""
    if kind not in ("train", "test"):
        raise ValueError(f"kind must be 'train' or 'test', got {kind!r}")
    prefix = "train" if kind == "train" else "t10k"
    return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"


def _find(folders: list[Path], stem: str) -> Path | None:
    for folder in folders:
        for candidate in (folder / stem, folder / f"{stem}.gz"):
            if candidate.is_file():
                return candidate
    return None


def mnist(
    root: str | os.PathLike[str], kind: str = "train", fashion: bool = False, flatten: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST (or Fashion-MNIST) from IDX files already in `root`.

    Looks for ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (kind='train') or
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (kind='test'), each raw or with
    ``.gz``, in `root` and then in torchvision's layout ``root/MNIST/raw`` (``FashionMNIST``
    when fashion=True; both datasets use the same file names).

    Returns:
        X: float32 in [0, 1], shape (N, 784) when flatten, else (N, 1, 28, 28) (N, C, H, W).
        y: int64 labels in 0..9, shape (N,).

    Raises FileNotFoundError listing the expected file names when they are absent, and
    ValueError when the files are not valid or disagree.
    """
    images_stem, labels_stem = mnist_files(kind)
    base = Path(root)
    folders = [base, base / ("FashionMNIST" if fashion else "MNIST") / "raw"]
    found = [_find(folders, stem) for stem in (images_stem, labels_stem)]
    if found[0] is None or found[1] is None:
        where = " or ".join(str(folder) for folder in folders)
        raise FileNotFoundError(
            f"{'Fashion-MNIST' if fashion else 'MNIST'} {kind} files not found in {where}: "
            f"expected {images_stem}[.gz] and {labels_stem}[.gz] (nothing is downloaded)"
        )
    images, labels = load_idx(found[0]), load_idx(found[1])
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"{found[0]}: expected uint8 images of shape (N, rows, cols), got {images.dtype} "
            f"{images.shape}"
        )
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(
            f"{found[1]}: expected {len(images)} labels (one per image), got shape {labels.shape}"
        )
    if labels.size and int(labels.max()) > 9:
        raise ValueError(f"{found[1]}: labels must lie in 0..9, found {int(labels.max())}")
    X = images.astype(np.float32) / np.float32(255.0)
    X = X.reshape(len(X), -1) if flatten else X[:, None, :, :]
    return X, labels.astype(np.int64)
