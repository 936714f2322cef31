"""`mnist1d`: Greydanus's MNIST-1D (2020), generated offline by the `mnist1d` package.

"Scaling down deep learning" (Greydanus, 2020) turns the ten digits into 1-D templates of 12
points, then pads, scales, shears, translates and adds correlated and i.i.d. noise to get
5,000 signals of 40 samples each; the paper trains on the first 4,000 and tests on the last
1,000. Linear models reach ~32% on it, the paper's MLP ~68%, CNNs ~94%: unlike MNIST it
separates model families, while an MLP trains on it in seconds on a CPU.

The `mnist1d` package downloads a pickle by default; chainrule never does: it calls the
package's generator (`mnist1d.data.make_dataset`) with the paper's arguments (seed 42), which
reseeds NumPy's global random state, so that state is saved and put back around the call.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["mnist1d"]

_INSTALL_HINT = 'pip install "chainrule[datasets]"'


@functools.lru_cache(maxsize=2)
def _generate(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as error:
        raise ImportError(f"--data mnist1d needs the mnist1d package: {_INSTALL_HINT}") from error
    args = get_dataset_args()
    args.seed = seed
    state = np.random.get_state()  # noqa: NPY002 - the legacy stream mnist1d reseeds
    try:
        made = make_dataset(args)
    finally:
        np.random.set_state(state)  # noqa: NPY002
    arrays = (made["x"], made["y"], made["x_test"], made["y_test"])
    X, y, X_test, y_test = (np.asarray(a) for a in arrays)
    X, X_test = X.astype(np.float32), X_test.astype(np.float32)
    y, y_test = y.astype(np.int64), y_test.astype(np.int64)
    for array in (X, y, X_test, y_test):
        array.flags.writeable = False  # cached: callers get copies
    return X, y, X_test, y_test


def mnist1d(seed: int = 42) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST-1D as the paper uses it: X_train float32 (4000, 40), y_train int64 (4000,),
    X_test (1000, 40), y_test (1000,); labels 0..9. The same `seed` gives the same signals
    (42 is the paper's). Generation takes a few seconds; the result is cached per process.
    """
    return tuple(np.array(a) for a in _generate(int(seed)))  # type: ignore[return-value]
