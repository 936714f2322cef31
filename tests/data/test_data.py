"""chainrule.data: splits, scaling, toy generators, IDX / MNIST / CSV readers, the registry."""

from __future__ import annotations

import gzip
import struct
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from chainrule import data
from chainrule.data import (
    Standardizer,
    circle,
    digits,
    gauss,
    list_datasets,
    load_csv,
    load_dataset,
    load_features,
    load_idx,
    mnist,
    moons,
    reg_gauss,
    reg_plane,
    sine,
    spiral,
    spiral_multiclass,
    standardize,
    train_test_split,
    xor,
)

# --------------------------------------------------------------------------- train_test_split


def test_split_partitions_the_rows() -> None:
    X = np.arange(50)[:, None] * np.ones((1, 3))
    y = np.arange(50) % 2
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, seed=0)
    assert X_tr.shape == (40, 3) and X_te.shape == (10, 3)
    assert y_tr.shape == (40,) and y_te.shape == (10,)
    ids = np.concatenate([X_tr[:, 0], X_te[:, 0]]).astype(int)
    assert sorted(ids) == list(range(50))
    np.testing.assert_array_equal(y_te, X_te[:, 0].astype(int) % 2)  # rows stay paired


def test_split_stratification_keeps_class_proportions() -> None:
    y = np.repeat([0, 1, 2], [60, 30, 10])
    X = np.arange(100)[:, None]
    _, _, y_tr, y_te = train_test_split(X, y, test_size=0.2, seed=3)
    assert np.bincount(y_te).tolist() == [12, 6, 2]
    assert np.bincount(y_tr).tolist() == [48, 24, 8]
    assert not np.array_equal(y_te, np.sort(y_te))  # classes are mixed, not grouped


def test_split_stratification_with_uneven_remainders() -> None:
    y = np.repeat([0, 1, 2], [7, 7, 7])
    _, _, _, y_te = train_test_split(np.zeros((21, 1)), y, test_size=0.3, seed=0)
    counts = np.bincount(y_te, minlength=3)
    assert counts.sum() == 7 and counts.max() - counts.min() <= 1


def test_split_float_targets_and_reproducibility() -> None:
    X = np.arange(30, dtype=np.float32)[:, None]
    y = np.linspace(0, 1, 30).astype(np.float32)
    a = train_test_split(X, y, test_size=6, seed=1)
    b = train_test_split(X, y, test_size=6, seed=1)
    c = train_test_split(X, y, test_size=6, seed=2)
    assert a[1].shape == (6, 1) and a[3].dtype == np.float32
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert not np.array_equal(a[1], c[1])


def test_split_without_stratify_is_a_plain_shuffle() -> None:
    y = np.repeat([0, 1], [90, 10])
    tests = [
        train_test_split(np.zeros((100, 1)), y, 0.1, stratify=False, seed=s)[3] for s in range(5)
    ]
    assert any(t.sum() != 1 for t in tests)  # class shares vary without stratification


def test_split_errors() -> None:
    with pytest.raises(ValueError, match="samples"):
        train_test_split(np.zeros((5, 2)), np.zeros(4))
    for bad in (0.0, 1.0, 1.5, 0, 5):
        with pytest.raises(ValueError, match="test"):
            train_test_split(np.zeros((5, 2)), np.zeros(5), test_size=bad)


# --------------------------------------------------------------------------- standardize


def test_standardize_fits_on_train_only() -> None:
    rng = np.random.default_rng(0)
    train = rng.normal(3.0, 2.0, (200, 3)).astype(np.float32)
    test = rng.normal(-1.0, 5.0, (50, 3)).astype(np.float32)
    train_z, test_z = standardize(train, test)
    np.testing.assert_allclose(train_z.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(train_z.std(axis=0), 1.0, atol=1e-5)
    expected = (test - train.mean(axis=0)) / train.std(axis=0)
    np.testing.assert_allclose(test_z, expected, rtol=1e-4, atol=1e-4)
    assert abs(test_z.mean()) > 0.5  # the test set is not re-centred on its own statistics
    assert train_z.dtype == np.float32 and test_z.dtype == np.float32


def test_standardize_constant_column_does_not_divide_by_zero() -> None:
    train = np.array([[1.0, 5.0], [3.0, 5.0]])
    (train_z, other_z) = standardize(train, np.array([[2.0, 7.0]]))
    assert np.isfinite(train_z).all() and np.isfinite(other_z).all()
    np.testing.assert_allclose(train_z[:, 1], 0.0)
    np.testing.assert_allclose(other_z, [[0.0, 2.0]])


def test_standardizer_round_trip_and_errors() -> None:
    scaler = Standardizer()
    with pytest.raises(RuntimeError, match="fit"):
        scaler.transform(np.zeros((2, 2)))
    x = np.array([[1, 2], [3, 6], [5, 7]])
    z = scaler.fit_transform(x)
    assert z.dtype == np.float32  # integer input comes out float32
    np.testing.assert_allclose(scaler.inverse_transform(z), x, rtol=1e-6)
    with pytest.raises(ValueError, match="shape"):
        scaler.transform(np.zeros((2, 3)))
    assert len(standardize(x)) == 1


# --------------------------------------------------------------------------- toy generators

Generator2D = Callable[..., tuple[np.ndarray, np.ndarray]]
CLASSIFIERS: list[Generator2D] = [circle, xor, gauss, spiral, moons]
REGRESSORS: list[Generator2D] = [reg_plane, reg_gauss]
ALL: list[Generator2D] = [*CLASSIFIERS, *REGRESSORS, sine, spiral_multiclass]


@pytest.mark.parametrize("make", ALL, ids=lambda f: f.__name__)
@pytest.mark.parametrize("n", [1, 101])
def test_generator_shapes_and_dtypes(make: Generator2D, n: int) -> None:
    X, y = make(n, noise=0.2, seed=0)
    features = 1 if make is sine else 2
    assert X.shape == (n, features) and X.dtype == np.float32
    assert y.shape == (n,)
    if make in CLASSIFIERS:
        assert y.dtype == np.int64 and set(np.unique(y)) <= {0, 1}
    elif make is spiral_multiclass:
        assert y.dtype == np.int64 and set(np.unique(y)) <= {0, 1, 2}
    else:
        assert y.dtype == np.float32
    assert np.isfinite(X).all() and np.isfinite(y).all()


@pytest.mark.parametrize("make", [*CLASSIFIERS, spiral_multiclass], ids=lambda f: f.__name__)
def test_classifiers_are_balanced(make: Generator2D) -> None:
    _, y = make(300, noise=0.0, seed=0)
    counts = np.bincount(y)
    if make is xor:
        assert counts.min() > 100
    else:
        assert counts.max() - counts.min() == 0


@pytest.mark.parametrize("make", ALL, ids=lambda f: f.__name__)
def test_generator_seeds(make: Generator2D) -> None:
    a = make(50, noise=0.1, seed=4)
    b = make(50, noise=0.1, seed=4)
    c = make(50, noise=0.1, seed=5)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("make", ALL, ids=lambda f: f.__name__)
def test_generator_noise_range(make: Generator2D) -> None:
    make(10, noise=0.0)
    make(10, noise=0.5)
    for bad in (-0.01, 0.51, 2.0):
        with pytest.raises(ValueError, match="noise"):
            make(10, noise=bad)
    with pytest.raises(ValueError, match="n must"):
        make(0)


def test_circle_labels_follow_the_radius() -> None:
    X, y = circle(400, noise=0.0, seed=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    assert (radius[y == 1] < 2.5).all()
    assert (radius[y == 0] >= 3.5 - 1e-5).all() and (radius <= 5 + 1e-5).all()
    X_n, y_n = circle(2000, noise=0.5, seed=1)
    r_n = np.hypot(X_n[:, 0], X_n[:, 1])
    assert ((r_n < 2.5) != (y_n == 1)).any()  # with noise some labels disagree with the radius


def test_xor_label_is_the_sign_of_the_product() -> None:
    X, y = xor(400, noise=0.0, seed=0)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] >= 0).astype(np.int64))
    assert (np.abs(X) >= 0.3 - 1e-6).all() and (np.abs(X) <= 5.3 + 1e-5).all()


def test_gauss_clusters() -> None:
    X, y = gauss(2000, noise=0.0, seed=0)
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [2, 2], atol=0.1)
    np.testing.assert_allclose(X[y == 0].mean(axis=0), [-2, -2], atol=0.1)
    np.testing.assert_allclose(X[y == 1].var(axis=0), 0.5, atol=0.08)
    X_wide, y_wide = gauss(2000, noise=0.5, seed=0)
    np.testing.assert_allclose(X_wide[y_wide == 1].var(axis=0), 4.0, rtol=0.15)


def test_spiral_points_lie_on_their_arm() -> None:
    X, y = spiral(200, noise=0.0, seed=0)
    step = np.hypot(X[:, 0], X[:, 1]) / 5.0  # i / m in the arm
    angle = 1.75 * 2 * np.pi * step + np.where(y == 1, 0.0, np.pi)
    expected = 5.0 * step[:, None] * np.stack([np.sin(angle), np.cos(angle)], axis=1)
    np.testing.assert_allclose(X, expected, atol=1e-4)
    assert step.max() < 1.0


def test_spiral_multiclass() -> None:
    X, y = spiral_multiclass(301, classes=3, noise=0.0, seed=0)
    assert np.bincount(y).tolist() == [101, 100, 100]
    X4, y4 = spiral_multiclass(40, classes=4)
    assert set(y4.tolist()) == {0, 1, 2, 3}
    with pytest.raises(ValueError, match="classes"):
        spiral_multiclass(10, classes=1)


def test_moons_lie_on_half_circles() -> None:
    X, y = moons(300, noise=0.0, seed=0)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-5)
    assert (upper[:, 1] >= -1e-6).all()
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0, atol=1e-5)
    assert (lower[:, 1] <= 0.5 + 1e-6).all()


def test_reg_plane_is_linear() -> None:
    X, y = reg_plane(300, noise=0.0, seed=0)
    design = np.column_stack([X, np.ones(len(X))])
    coef, *_ = np.linalg.lstsq(design.astype(np.float64), y.astype(np.float64), rcond=None)
    np.testing.assert_allclose(coef, [0.1, 0.1, 0.0], atol=1e-6)
    assert (np.abs(X) <= 6).all()
    _, y_noisy = reg_plane(300, noise=0.3, seed=0)
    assert not np.allclose(y_noisy, X.sum(axis=1) / 10, atol=1e-3)


def test_reg_gauss_matches_the_nearest_bump() -> None:
    X, y = reg_gauss(1000, noise=0.0, seed=0)
    centers = np.array([[-4, 2.5], [0, 2.5], [4, 2.5], [-4, -2.5], [0, -2.5], [4, -2.5]])
    signs = np.array([1, -1, 1, -1, 1, -1])
    distance = np.linalg.norm(X[:, None, :] - centers[None], axis=2)
    nearest = distance.argmin(axis=1)
    d = distance[np.arange(len(X)), nearest]
    expected = np.where(d < 2, signs[nearest] * (1 - d / 2), 0.0)
    np.testing.assert_allclose(y, expected, atol=1e-5)
    assert y.min() >= -1 and y.max() <= 1 and (y > 0.5).any() and (y < -0.5).any()


def test_sine() -> None:
    X, y = sine(200, noise=0.0, seed=0)
    assert (np.abs(X) <= np.pi + 1e-6).all()
    np.testing.assert_allclose(y, np.sin(X[:, 0]), atol=1e-6)
    _, y_noisy = sine(200, noise=0.3, seed=0)
    assert 0.2 < np.std(y_noisy - np.sin(X[:, 0])) < 0.4


# --------------------------------------------------------------------------- digits


def test_digits() -> None:
    X, y = digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert set(y.tolist()) == set(range(10))


def test_digits_without_sklearn_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r'pip install "chainrule\[datasets\]"'):
        digits()


# --------------------------------------------------------------------------- IDX files

_CODES = {
    np.uint8: 0x08,
    np.int8: 0x09,
    np.int16: 0x0B,
    np.int32: 0x0C,
    np.float32: 0x0D,
    np.float64: 0x0E,
}


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file's bytes: magic, big-endian dims, big-endian values."""
    magic = bytes([0, 0, _CODES[array.dtype.type], array.ndim])
    dims = struct.pack(f">{array.ndim}I", *array.shape)
    return magic + dims + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, array: np.ndarray) -> Path:
    payload = idx_bytes(array)
    path.write_bytes(gzip.compress(payload) if path.suffix == ".gz" else payload)
    return path


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip_uint8(tmp_path: Path, suffix: str) -> None:
    images = np.random.default_rng(0).integers(0, 256, (5, 4, 3), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    loaded_images = load_idx(write_idx(tmp_path / f"images{suffix}", images))
    loaded_labels = load_idx(str(write_idx(tmp_path / f"labels{suffix}", labels)))
    assert loaded_images.dtype == np.uint8 and loaded_images.shape == (5, 4, 3)
    np.testing.assert_array_equal(loaded_images, images)
    np.testing.assert_array_equal(loaded_labels, labels)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip_wider_types_are_native_endian(tmp_path: Path, dtype: type) -> None:
    array: np.ndarray = (np.arange(12).reshape(3, 4) - 5).astype(dtype)
    loaded = load_idx(write_idx(tmp_path / "a.idx", array))
    assert loaded.dtype == np.dtype(dtype) and loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, array)


def test_idx_gzip_detected_by_content(tmp_path: Path) -> None:
    array = np.arange(6, dtype=np.uint8)
    path = tmp_path / "labels-no-suffix"
    path.write_bytes(gzip.compress(idx_bytes(array)))
    np.testing.assert_array_equal(load_idx(path), array)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_truncated_payload(tmp_path: Path, suffix: str) -> None:
    payload = idx_bytes(np.zeros((4, 5), dtype=np.uint8))[:-3]
    path = tmp_path / f"short{suffix}"
    path.write_bytes(gzip.compress(payload) if suffix else payload)
    with pytest.raises(ValueError, match=r"short.*truncated"):
        load_idx(path)


def test_idx_trailing_bytes(tmp_path: Path) -> None:
    path = tmp_path / "long"
    path.write_bytes(idx_bytes(np.zeros(4, dtype=np.uint8)) + b"\x00")
    with pytest.raises(ValueError, match="trailing"):
        load_idx(path)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\x00",
        b"\x01\x02\x08\x01" + bytes(8),
        b"\x00\x00\x07\x01" + bytes(8),
        b"PK\x03\x04junk",
    ],
    ids=["empty", "short-magic", "nonzero-prefix", "unknown-type", "zip"],
)
def test_idx_wrong_magic(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.idx"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"bad\.idx.*(magic|not an IDX)"):
        load_idx(path)


def test_idx_zero_dims_and_truncated_header(tmp_path: Path) -> None:
    (tmp_path / "zero").write_bytes(b"\x00\x00\x08\x00")
    with pytest.raises(ValueError, match="0 dimensions"):
        load_idx(tmp_path / "zero")
    (tmp_path / "header").write_bytes(b"\x00\x00\x08\x03" + struct.pack(">I", 2))
    with pytest.raises(ValueError, match="truncated IDX header"):
        load_idx(tmp_path / "header")


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_dims_larger_than_the_payload_fail_without_allocating(
    tmp_path: Path, suffix: str
) -> None:
    # declares 4e9 x 4e9 x 4e9 float64 values (far more than any memory) but holds 16 bytes
    header = b"\x00\x00\x0e\x03" + struct.pack(">3I", 4_000_000_000, 4_000_000_000, 4_000_000_000)
    payload = header + bytes(16)
    path = tmp_path / f"huge{suffix}"
    path.write_bytes(gzip.compress(payload) if suffix else payload)
    with pytest.raises(ValueError, match=r"huge.*truncated"):
        load_idx(path)


def test_idx_broken_gzip(tmp_path: Path) -> None:
    path = tmp_path / "broken.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(100, dtype=np.uint8)))[:20])
    with pytest.raises(ValueError, match="broken"):
        load_idx(path)


def test_idx_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_idx(tmp_path / "absent")


# --------------------------------------------------------------------------- MNIST


def write_mnist(folder: Path, kind: str = "train", n: int = 6, gz: bool = False) -> np.ndarray:
    folder.mkdir(parents=True, exist_ok=True)
    prefix = "train" if kind == "train" else "t10k"
    suffix = ".gz" if gz else ""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", np.arange(n, dtype=np.uint8) % 10)
    return images


def test_mnist_reads_local_files(tmp_path: Path) -> None:
    images = write_mnist(tmp_path)
    X, y = mnist(tmp_path)
    assert X.shape == (6, 784) and X.dtype == np.float32
    assert X.min() >= 0.0 and X.max() <= 1.0
    np.testing.assert_allclose(X[2], images[2].reshape(-1) / 255.0, rtol=1e-6)
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 2, 3, 4, 5]
    X_img, _ = mnist(tmp_path, flatten=False)
    assert X_img.shape == (6, 1, 28, 28)


def test_mnist_test_split_gz_and_torchvision_layout(tmp_path: Path) -> None:
    write_mnist(tmp_path / "FashionMNIST" / "raw", kind="test", n=3, gz=True)
    X, y = mnist(tmp_path, kind="test", fashion=True)
    assert X.shape == (3, 784) and y.tolist() == [0, 1, 2]
    with pytest.raises(FileNotFoundError):
        mnist(tmp_path, kind="test")  # MNIST/raw is not FashionMNIST/raw


def test_mnist_missing_files_names_them(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as error:
        mnist(tmp_path)
    assert "train-images-idx3-ubyte" in str(error.value)
    assert "train-labels-idx1-ubyte" in str(error.value)
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        mnist(tmp_path, kind="test")
    with pytest.raises(ValueError, match="kind"):
        mnist(tmp_path, kind="validation")


def test_mnist_inconsistent_files(tmp_path: Path) -> None:
    write_mnist(tmp_path, n=4)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(3, dtype=np.uint8))
    with pytest.raises(ValueError, match="4 labels"):
        mnist(tmp_path)


# --------------------------------------------------------------------------- CSV


def write_csv(tmp_path: Path, text: str, name: str = "table.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_good_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "a,b,label\n1,2.5,0\n3,-4e-1,1\n\n5, 6 ,2\n")
    X, y, names = load_csv(path, "label")
    assert names == ["a", "b"]
    assert X.dtype == np.float32 and X.shape == (3, 2)
    np.testing.assert_allclose(X, np.array([[1, 2.5], [3, -0.4], [5, 6]]))
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 2]


def test_csv_float_target_and_target_position(tmp_path: Path) -> None:
    path = write_csv(tmp_path, '"price",x1,x2\n1.5,1,2\n2,3,4\n')
    X, y, names = load_csv(path, 0)
    assert y.dtype == np.float32 and y.tolist() == [1.5, 2.0]
    assert names == ["x1", "x2"]
    _, y_mid, names_mid = load_csv(path, "x1")
    assert y_mid.dtype == np.int64 and names_mid == ["price", "x2"]


def test_load_features_reads_named_columns_in_order(tmp_path: Path) -> None:
    # a byte-order mark, a text column that is not a feature, columns in another order
    path = tmp_path / "rows.csv"
    path.write_bytes("\ufeffid,b,a\nx-1,2,1\nx-2,4,3\n".encode())
    X = load_features(path, ["a", "b"])
    assert X.dtype == np.float32 and X.tolist() == [[1, 2], [3, 4]]
    with pytest.raises(ValueError, match=r"rows\.csv: missing feature column\(s\) c"):
        load_features(path, ["a", "c"])
    bad = write_csv(tmp_path, "a,b\n1,nan\n")
    with pytest.raises(ValueError, match=r"row 2, column 'b'.*non-finite"):
        load_features(bad, ["a", "b"])


def test_csv_non_numeric_cell_names_row_and_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "a,b,y\n1,2,0\n3,oops,1\n")
    with pytest.raises(ValueError, match=r"table\.csv.*row 3.*'b'.*oops"):
        load_csv(path, "y")


def test_csv_missing_cells(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"row 2, column 'a': missing"):
        load_csv(write_csv(tmp_path, "a,b,y\n,2,0\n"), "y")
    with pytest.raises(ValueError, match=r"row 4, column 'y': missing"):
        load_csv(write_csv(tmp_path, "a,b,y\n1,2,0\n1,2,0\n1,2\n"), "y")
    with pytest.raises(ValueError, match=r"row 2.*non-finite"):
        load_csv(write_csv(tmp_path, "a,b,y\nnan,2,0\n"), "y")
    with pytest.raises(ValueError, match=r"row 2 has 4 cells"):
        load_csv(write_csv(tmp_path, "a,b,y\n1,2,0,9\n"), "y")


def test_csv_header_problems(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="empty"):
        load_csv(write_csv(tmp_path, ""), "y")
    with pytest.raises(ValueError, match="empty"):
        load_csv(write_csv(tmp_path, "\n\n"), "y")
    with pytest.raises(ValueError, match="header"):
        load_csv(write_csv(tmp_path, "1,2,3\n4,5,6\n"), "y")
    with pytest.raises(ValueError, match=r"'target'.*a, b, y"):
        load_csv(write_csv(tmp_path, "a,b,y\n1,2,3\n"), "target")
    with pytest.raises(ValueError, match="no data rows"):
        load_csv(write_csv(tmp_path, "a,b,y\n"), "y")
    with pytest.raises(ValueError, match="duplicate"):
        load_csv(write_csv(tmp_path, "a,a,y\n1,2,3\n"), "y")


# --------------------------------------------------------------------------- registry

TOY_SPECS = {
    "circle": ("classification", 2, (2,)),
    "xor": ("classification", 2, (2,)),
    "gauss": ("classification", 2, (2,)),
    "spiral": ("classification", 2, (2,)),
    "moons": ("classification", 2, (2,)),
    "spiral3": ("classification", 3, (2,)),
    "reg_plane": ("regression", None, (2,)),
    "reg_gauss": ("regression", None, (2,)),
    "sine": ("regression", None, (1,)),
}


@pytest.mark.parametrize("name", list(TOY_SPECS))
def test_registry_toy_datasets(name: str) -> None:
    task, num_classes, input_shape = TOY_SPECS[name]
    info = load_dataset(name, n=60, noise=0.1, seed=2)
    assert info.task == task and info.num_classes == num_classes
    assert info.X.shape == (60, *input_shape) and info.input_shape == input_shape
    assert len(info.feature_names) == info.n_features and info.n_samples == 60
    assert info.description
    again = load_dataset(name, n=60, noise=0.1, seed=2)
    np.testing.assert_array_equal(info.X, again.X)


def test_registry_toy_class_count_is_fixed_even_for_tiny_samples() -> None:
    info = load_dataset("circle", n=1)
    assert info.num_classes == 2 and info.class_names is None and info.y.tolist() == [1]


def test_registry_lists_every_name() -> None:
    rows = list_datasets()
    names = [row.name for row in rows]
    for expected in [
        *TOY_SPECS,
        "digits",
        "mnist",
        "mnist1d",
        "mnist:DIR",
        "fashion:DIR",
        "csv:PATH:TARGET",
    ]:
        assert expected in names
    assert names == data.known_names()
    assert all(len(row) == 4 and all(isinstance(cell, str) for cell in row) for row in rows)
    assert dict((r.name, r.shape) for r in rows)["sine"] == "(n, 1)"


def test_registry_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown dataset 'nope'.*circle.*spiral3.*csv:PATH"):
        load_dataset("nope")
    with pytest.raises(ValueError, match="unknown"):
        load_dataset("circle:extra")
    with pytest.raises(ValueError, match="fashion:DIR"):
        load_dataset("fashion")
    with pytest.raises(ValueError, match="csv:PATH:TARGET"):
        load_dataset("csv:only-a-path.csv")


def test_registry_digits() -> None:
    info = load_dataset("digits")
    assert info.X.shape == (1797, 64) and info.num_classes == 10
    assert info.image_shape == (1, 8, 8) and info.task == "classification"


def test_registry_mnist_and_fashion(tmp_path: Path) -> None:
    write_mnist(tmp_path, n=5)
    info = load_dataset(f"mnist:{tmp_path}")
    assert info.X.shape == (5, 784) and info.num_classes == 10  # fixed, not inferred
    assert info.image_shape == (1, 28, 28) and info.class_names is None
    fashion = load_dataset(f"fashion:{tmp_path}")
    assert fashion.class_names is not None and fashion.class_names[9] == "Ankle boot"
    with pytest.raises(FileNotFoundError):
        load_dataset(f"mnist:{tmp_path}", kind="test")


def test_registry_csv_with_colon_in_path_and_label_mapping(tmp_path: Path) -> None:
    folder = tmp_path / "dir:with:colons"
    folder.mkdir()
    path = write_csv(folder, "f1,f2,cls\n0,1,-1\n2,3,1\n4,5,1\n")
    info = load_dataset(f"csv:{path}:cls")
    assert info.task == "classification" and info.num_classes == 2
    assert info.y.tolist() == [0, 1, 1] and info.class_names == ["-1", "1"]
    assert info.feature_names == ["f1", "f2"]
    integer_target = load_dataset(f"csv:{path}:f2")
    assert integer_target.task == "classification"  # integer cells count as class labels
    write_csv(folder, "f1,t\n1,0.5\n2,1.5\n", "reg.csv")
    info_reg = load_dataset(f"csv:{folder / 'reg.csv'}:t")
    assert info_reg.task == "regression" and info_reg.num_classes is None
    assert info_reg.y.dtype == np.float32
