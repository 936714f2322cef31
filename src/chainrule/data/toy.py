"""Small synthetic 2-D problems, with TensorFlow Playground's definitions (and a few more).

Every generator is ``name(n, noise=0.0, seed=0) -> (X, y)``: X is float32 of shape (n, 2)
(``sine``: (n, 1)); y is int64 of shape (n,) with labels in {0, 1} for classification (the
Playground's +1 is 1 here, its -1 is 0) or float32 of shape (n,) for regression. `noise`
must lie in [0, 0.5]; the same `seed` always gives the same data. Rows come out shuffled.

Playground definitions (U(a, b) is uniform on [a, b]; the Playground domain is [-6, 6]²):

- circle: half the points at radius U(0, 2.5), half at radius U(3.5, 5), uniform angle.
  A point's label is 1 when its *jittered* copy p + noise * U(-5, 5)² lies within radius
  2.5 (the stored point is not jittered, so noise shows up as flipped labels near the rim).
- xor: p ~ U(-5, 5)², each coordinate pushed 0.3 away from 0; label 1 when
  x1 * x2 >= 0 for the jittered copy p + noise * U(-5, 5)².
- gauss: two isotropic Gaussians at (2, 2) (label 1) and (-2, -2) (label 0) with variance
  0.5 + 7 * noise (0.5 at noise 0, 4 at noise 0.5).
- spiral: two arms of n/2 points; point i of an arm has radius r = 5 i / m and angle
  t = 1.75 * 2π i / m + δ (δ = 0 for label 1, π for label 0), at (r sin t, r cos t) plus
  noise * U(-1, 1)² (m = points in the arm).
- reg_plane: p ~ U(-6, 6)², y = (q1 + q2) / 10 for the jittered q = p + noise * U(-6, 6)².
- reg_gauss: p ~ U(-6, 6)²; six bumps at (-4, 2.5)+, (0, 2.5)-, (4, 2.5)+, (-4, -2.5)-,
  (0, -2.5)+, (4, -2.5)- each give ±clip(1 - d / 2, 0, 1) at distance d from the jittered
  q = p + noise * U(-6, 6)²; y is the value largest in absolute value (the first on ties).

Others: ``moons`` (scikit-learn's two half circles, Gaussian noise of std `noise`),
``spiral_multiclass`` (the Playground spiral with `classes` arms) and ``sine``.
"""

from __future__ import annotations

import numpy as np

Dataset2D = tuple[np.ndarray, np.ndarray]

_GAUSS_BUMPS = np.array(
    [[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]],
    dtype=np.float64,
)


def _check(n: int, noise: float) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if not 0.0 <= noise <= 0.5:
        raise ValueError(f"noise must be in [0, 0.5], got {noise}")


def _halves(n: int) -> tuple[int, int]:
    """Sizes of the label-1 and label-0 halves (the first gets the odd sample)."""
    return n - n // 2, n // 2


def _finish(rng: np.random.Generator, X: np.ndarray, y: np.ndarray) -> Dataset2D:
    """Shuffle the rows and cast: X float32, integer labels int64, real targets float32."""
    order = rng.permutation(len(X))
    target = y.astype(np.int64) if y.dtype.kind in "iub" else y.astype(np.float32)
    return X[order].astype(np.float32), target[order]


def _polar(r: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Points (r sin a, r cos a), the Playground's convention, as an (n, 2) array."""
    return np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)


def circle(n: int, noise: float = 0.0, seed: int = 0) -> Dataset2D:
    """A disc of radius 2.5 (label 1) inside a ring 3.5..5 (label 0); X (n, 2), y int64."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    inside, outside = _halves(n)
    r = np.concatenate([rng.uniform(0.0, 2.5, inside), rng.uniform(3.5, 5.0, outside)])
    points = _polar(r, rng.uniform(0.0, 2 * np.pi, n))
    jittered = points + noise * rng.uniform(-5.0, 5.0, (n, 2))
    labels = np.hypot(jittered[:, 0], jittered[:, 1]) < 2.5
    return _finish(rng, points, labels)


def xor(n: int, noise: float = 0.0, seed: int = 0) -> Dataset2D:
    """Four quadrants, label 1 where x1 * x2 >= 0; X (n, 2) in [-5.3, 5.3]², y int64."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    points = rng.uniform(-5.0, 5.0, (n, 2))
    points += np.where(points > 0, 0.3, -0.3)
    jittered = points + noise * rng.uniform(-5.0, 5.0, (n, 2))
    labels = jittered[:, 0] * jittered[:, 1] >= 0
    return _finish(rng, points, labels)


def gauss(n: int, noise: float = 0.0, seed: int = 0) -> Dataset2D:
    """Two Gaussian blobs at (2, 2) (label 1) and (-2, -2) (label 0); X (n, 2), y int64."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    positive, negative = _halves(n)
    std = np.sqrt(0.5 + 7.0 * noise)
    centers = np.repeat(np.array([[2.0, 2.0], [-2.0, -2.0]]), [positive, negative], axis=0)
    points = centers + std * rng.standard_normal((n, 2))
    labels = np.repeat(np.array([1, 0]), [positive, negative])
    return _finish(rng, points, labels)


def _spiral_arms(
    counts: list[int], offsets: np.ndarray, noise: float, rng: np.random.Generator
) -> np.ndarray:
    """Concatenated Playground spiral arms: arm k has counts[k] points, angle offset offsets[k]."""
    sizes = np.asarray(counts)
    step = np.concatenate([np.arange(m) / m for m in sizes if m > 0])  # i / m within each arm
    delta = np.repeat(offsets, sizes)
    points = _polar(5.0 * step, 1.75 * 2 * np.pi * step + delta)
    return points + noise * rng.uniform(-1.0, 1.0, points.shape)


def spiral(n: int, noise: float = 0.0, seed: int = 0) -> Dataset2D:
    """Two interleaved spiral arms (label 1 and label 0, half a turn apart); X (n, 2), y int64."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    positive, negative = _halves(n)
    points = _spiral_arms([positive, negative], np.array([0.0, np.pi]), noise, rng)
    labels = np.repeat(np.array([1, 0]), [positive, negative])
    return _finish(rng, points, labels)


def spiral_multiclass(n: int, classes: int = 3, noise: float = 0.0, seed: int = 0) -> Dataset2D:
    """`classes` spiral arms, arm k (label k) rotated by 2πk / classes; X (n, 2), y int64.

    With classes=2 the arms are those of `spiral` (label 0 here is `spiral`'s label 1).
    """
    _check(n, noise)
    if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)) or classes < 2:
        raise ValueError(f"classes must be an int >= 2, got {classes!r}")
    rng = np.random.default_rng(seed)
    counts = [n // classes + (1 if k < n % classes else 0) for k in range(classes)]
    offsets = 2 * np.pi * np.arange(classes) / classes
    points = _spiral_arms(counts, offsets, noise, rng)
    labels = np.repeat(np.arange(classes), counts)
    return _finish(rng, points, labels)


def moons(n: int, noise: float = 0.0, seed: int = 0) -> Dataset2D:
    """Two interleaving half circles (scikit-learn's make_moons); X (n, 2), y int64.

    Label 0: (cos t, sin t); label 1: (1 - cos t, 0.5 - sin t); t ~ U(0, π); then Gaussian
    noise of standard deviation `noise` on both coordinates.
    """
    _check(n, noise)
    rng = np.random.default_rng(seed)
    upper, lower = _halves(n)
    t = rng.uniform(0.0, np.pi, n)
    is_lower = np.arange(n) >= upper
    x = np.where(is_lower, 1.0 - np.cos(t), np.cos(t))
    y = np.where(is_lower, 0.5 - np.sin(t), np.sin(t))
    points = np.stack([x, y], axis=1) + noise * rng.standard_normal((n, 2))
    return _finish(rng, points, is_lower)


def reg_plane(n: int, noise: float = 0.0, seed: int = 0) -> Dataset2D:
    """A tilted plane y = (x1 + x2) / 10 over [-6, 6]² (of jittered inputs); y float32 (n,)."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    points = rng.uniform(-6.0, 6.0, (n, 2))
    jittered = points + noise * rng.uniform(-6.0, 6.0, (n, 2))
    return _finish(rng, points, jittered.sum(axis=1) / 10.0)


def reg_gauss(n: int, noise: float = 0.0, seed: int = 0) -> Dataset2D:
    """Six ±1 cone-shaped bumps over [-6, 6]² (see the module docstring); y float32 (n,)."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    points = rng.uniform(-6.0, 6.0, (n, 2))
    jittered = points + noise * rng.uniform(-6.0, 6.0, (n, 2))
    distance = np.linalg.norm(jittered[:, None, :] - _GAUSS_BUMPS[None, :, :2], axis=2)
    values = _GAUSS_BUMPS[:, 2] * np.clip(1.0 - distance / 2.0, 0.0, 1.0)  # (n, 6)
    strongest = np.argmax(np.abs(values), axis=1)
    return _finish(rng, points, values[np.arange(n), strongest])


def sine(n: int, noise: float = 0.0, seed: int = 0) -> Dataset2D:
    """y = sin(x) + noise * N(0, 1) for x ~ U(-π, π); X float32 (n, 1), y float32 (n,)."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-np.pi, np.pi, (n, 1))
    target = np.sin(x[:, 0]) + noise * rng.standard_normal(n)
    return _finish(rng, x, target)
