"""Fuzzing the loaders with hypothesis: checkpoints (`chainrule.load`), CSV (`load_csv`), IDX
(`load_idx`) and text corpora (`read_corpus`) get random bytes, mutated valid files and
structure-aware mutations, and may only fail with their documented errors: CheckpointError
for checkpoints, ValueError (UnicodeDecodeError is one) for the others. Never IndexError,
KeyError, struct.error, OverflowError, MemoryError, csv.Error or a NumPy error.

The budget is fixed (a few thousand inputs, well under a minute) and the runs are
deterministic (``derandomize``) so CI is stable; set CHAINRULE_FUZZ_EXAMPLES=20000 (and
CHAINRULE_FUZZ_RANDOM=1 for fresh random inputs each run) to fuzz longer by hand. The
atheris harnesses in tests/hostile/fuzz/ fuzz the same loaders with coverage guidance.
"""

from __future__ import annotations

import atexit
import contextlib
import gzip
import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.checkpoint import CheckpointError, load, save
from chainrule.data.idx import load_idx
from chainrule.data.tabular import load_csv
from chainrule.text.corpus import read_corpus

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# a NumPy overflow or invalid-value warning inside a loader is a bug too
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

SCALE = float(os.environ.get("CHAINRULE_FUZZ_EXAMPLES", "1000")) / 1000


def budget(examples: int) -> settings:
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,
        derandomize=not os.environ.get("CHAINRULE_FUZZ_RANDOM"),
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True,
    )


# one scratch folder for the whole module (hypothesis reruns a test body many times)
SCRATCH = Path(tempfile.mkdtemp(prefix="chainrule-fuzz-"))
atexit.register(shutil.rmtree, SCRATCH, ignore_errors=True)


def scratch_file(data: bytes, suffix: str) -> Path:
    path = SCRATCH / f"input{suffix}"
    path.write_bytes(data)
    return path


def expect_only(errors: tuple[type[BaseException], ...], call: Callable[[], Any]) -> None:
    """Run `call`; success or one of `errors` is fine, anything else fails the test."""
    with contextlib.suppress(*errors):
        call()


# ====================================================================== checkpoints


def _valid_checkpoints() -> dict[str, bytes]:
    """Seed files covering each layout `save` writes, and a PyTorch-style one."""
    folder = SCRATCH / "seeds"
    folder.mkdir()
    cr.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(3, 4), nn.BatchNorm1d(4), nn.GELU(), nn.Dropout(0.1), nn.Linear(4, 2)
    )
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    model(cr.randn(5, 3)).sum().backward()
    optimizer.step()
    files = {
        "module": model,
        "state_dict": {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(2)},
        "checkpoint": {
            "model": model,
            "optimizer": optimizer,
            "epoch": 3,
            "history": {"loss": [1.0, 0.5, float("nan")], "curve": np.arange(3.0)},
            "rng": cr.get_rng_state(),
            "extra": ({1: "a", 2.5: None}, [True, -7]),
        },
        "embedding": nn.Sequential(nn.Embedding(6, 2, padding_idx=0), nn.Flatten()),
    }
    seeds = {}
    for name, obj in files.items():
        save(obj, folder / f"{name}.safetensors")
        seeds[name] = (folder / f"{name}.safetensors").read_bytes()
    return seeds


SEEDS = _valid_checkpoints()
SEED_NAMES = sorted(SEEDS)


def split(data: bytes) -> tuple[dict[str, Any], bytes]:
    length = int.from_bytes(data[:8], "little")
    return json.loads(data[8 : 8 + length]), data[8 + length :]


def join(header: Any, body: bytes) -> bytes:
    text = json.dumps(header, allow_nan=True).encode()
    return len(text).to_bytes(8, "little") + text + body


def load_checkpoint_bytes(data: bytes, model: nn.Module | None = None) -> None:
    path = scratch_file(data, ".safetensors")
    if model is None:
        expect_only((CheckpointError,), lambda: load(path))
    else:  # loading into a model may also find that the weights do not fit it
        expect_only((CheckpointError, RuntimeError), lambda: load(path, model=model))


json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([0, 1, -1, 2**31, 2**63, 10**12, 10**40])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["F32", "F64", "I64", "BOOL", "BF16", "__tensor__", "Linear", "Sequential"])
)
json_value = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(max_size=8)
            | st.sampled_from(
                [
                    "__tensor__",
                    "__ndarray__",
                    "__tuple__",
                    "__items__",
                    "__module__",
                    "__state_dict__",
                    "__float__",
                    "class",
                    "args",
                    "layers",
                    "state",
                    "config",
                    "in_features",
                    "out_features",
                    "dtype",
                    "shape",
                ]
            ),  # fmt: skip
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every position in a JSON document, as a tuple of keys / indices."""
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from paths(value, (*prefix, index))


def replace_at(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        return {**doc, head: replace_at(doc[head], rest, value)}
    copy = list(doc)
    copy[head] = replace_at(doc[head], rest, value)
    return copy


def delete_at(doc: Any, path: tuple[Any, ...]) -> Any:
    if len(path) == 1:
        if isinstance(doc, dict):
            return {k: v for k, v in doc.items() if k != path[0]}
        return [v for i, v in enumerate(doc) if i != path[0]]
    return (
        {**doc, path[0]: delete_at(doc[path[0]], path[1:])}
        if isinstance(doc, dict)
        else [delete_at(v, path[1:]) if i == path[0] else v for i, v in enumerate(doc)]
    )


@budget(600)
@given(st.binary(max_size=600))
def test_checkpoint_random_bytes(data: bytes) -> None:
    load_checkpoint_bytes(data)


@budget(500)
@given(st.binary(max_size=400), st.integers(min_value=0, max_value=40))
def test_checkpoint_random_bytes_behind_a_plausible_length(body: bytes, slack: int) -> None:
    """Random headers of the declared length, so parsing gets past the first 8 bytes."""
    length = max(0, len(body) - slack)
    load_checkpoint_bytes(length.to_bytes(8, "little") + body)


@budget(600)
@given(
    st.sampled_from(SEED_NAMES),
    st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 7)), min_size=1, max_size=8),
)
def test_checkpoint_bit_flips(name: str, flips: list[tuple[int, int]]) -> None:
    data = bytearray(SEEDS[name])
    for position, bit in flips:
        data[position % len(data)] ^= 1 << bit
    load_checkpoint_bytes(bytes(data))


@budget(400)
@given(
    st.sampled_from(SEED_NAMES),
    st.integers(min_value=0),
    st.integers(min_value=0, max_value=64),
    st.binary(max_size=16),
)
def test_checkpoint_truncations_and_splices(
    name: str, position: int, removed: int, inserted: bytes
) -> None:
    data = SEEDS[name]
    at = position % (len(data) + 1)
    load_checkpoint_bytes(data[:at])
    load_checkpoint_bytes(data[:at] + inserted + data[at + removed :])


@budget(800)
@given(st.sampled_from(SEED_NAMES), st.data())
def test_checkpoint_header_mutations(name: str, draw: Any) -> None:
    """Replace, delete or add one thing anywhere in the JSON header, lengths kept right."""
    header, body = split(SEEDS[name])
    where = draw.draw(st.sampled_from(list(paths(header))))
    action = draw.draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "replace" or not where:
        header = replace_at(header, where, draw.draw(json_value))
    elif action == "delete":
        header = delete_at(header, where)
    else:
        target = header
        for key in where:
            target = target[key]
        if isinstance(target, dict):
            target[draw.draw(st.text(max_size=8))] = draw.draw(json_value)
        elif isinstance(target, list):
            target.append(draw.draw(json_value))
    if draw.draw(st.booleans()):
        body = body[: draw.draw(st.integers(0, len(body)))]
    load_checkpoint_bytes(join(header, body))


@budget(800)
@given(st.sampled_from(SEED_NAMES), st.data())
def test_checkpoint_metadata_json_mutations(name: str, draw: Any) -> None:
    """Mutate inside chainrule.contents / chainrule.config (JSON stored as strings)."""
    header, body = split(SEEDS[name])
    metadata = header["__metadata__"]
    key = draw.draw(st.sampled_from(sorted(metadata)))
    try:
        inner = json.loads(metadata[key])
    except ValueError:
        inner = metadata[key]
    for _ in range(draw.draw(st.integers(1, 3))):
        where = draw.draw(st.sampled_from(list(paths(inner))))
        if where and draw.draw(st.booleans()):
            inner = delete_at(inner, where)
        else:
            inner = replace_at(inner, where, draw.draw(json_value))
    metadata[key] = json.dumps(inner, allow_nan=True)
    load_checkpoint_bytes(join(header, body))


@budget(500)
@given(
    st.dictionaries(
        st.text(max_size=6),
        st.fixed_dictionaries(
            {
                "dtype": st.sampled_from(["F16", "F32", "F64", "I8", "I64", "U8", "BOOL", "X"]),
                "shape": st.lists(
                    st.integers(0, 4) | st.sampled_from([2**31, 2**40, 10**12, 2**64, -1]),
                    max_size=5,
                )
                | st.lists(st.just(1), min_size=60, max_size=80),
                "data_offsets": st.lists(st.integers(-2, 300), min_size=2, max_size=2),
            }
        ),
        max_size=4,
    ),
    st.binary(max_size=300),
)
def test_checkpoint_random_tensor_tables(tensors: dict[str, Any], body: bytes) -> None:
    """Well-formed JSON tables of tensors with random dtypes, shapes (huge ones too) and
    offsets: refused before any allocation the file cannot back."""
    load_checkpoint_bytes(join(tensors, body))


@budget(300)
@given(st.sampled_from(["module", "state_dict", "checkpoint"]), st.data())
def test_checkpoint_mutations_loaded_into_a_model(name: str, draw: Any) -> None:
    data = bytearray(SEEDS[name])
    for _ in range(draw.draw(st.integers(0, 4))):
        position = draw.draw(st.integers(0, len(data) - 1))
        data[position] = draw.draw(st.integers(0, 255))
    cr.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(3, 4), nn.BatchNorm1d(4), nn.GELU(), nn.Dropout(0.1), nn.Linear(4, 2)
    )
    load_checkpoint_bytes(bytes(data), model)


# ====================================================================== CSV

CSV_TOKENS = [*"0123456789.,-+e\n\r\t \"'xyzé;\x00", "nan", "inf", "1e999", "y", "label"]
csv_text = st.lists(st.sampled_from(CSV_TOKENS), max_size=120).map("".join)
csv_cell = (
    st.floats(allow_nan=True, allow_infinity=True).map(repr)
    | st.integers(-(10**30), 10**30).map(str)
    | st.text(max_size=6)
    | st.sampled_from(["", " ", "NaN", "-inf", "1e999", "0x10", "1_000", '"3"', "٣", "1" * 5000])
)


def load_csv_text(data: bytes, target: Any) -> None:
    path = scratch_file(data, ".csv")
    expect_only((ValueError,), lambda: load_csv(path, target))


@budget(600)
@given(csv_text, st.sampled_from([0, -1, 3, "x", "y", "label"]))
def test_csv_random_text(text: str, target: Any) -> None:
    load_csv_text(text.encode("utf-8"), target)


@budget(300)
@given(st.binary(max_size=300), st.sampled_from([0, -1, "y"]))
def test_csv_random_bytes(data: bytes, target: Any) -> None:
    load_csv_text(data, target)


@budget(600)
@given(
    st.lists(st.text(max_size=5), min_size=1, max_size=4),
    st.lists(st.lists(csv_cell, max_size=5), max_size=6),
    st.integers(-5, 5) | st.text(max_size=3),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.booleans(),
)
def test_csv_random_tables(
    header: list[str], rows: list[list[str]], target: Any, newline: str, bom: bool
) -> None:
    lines = [",".join(header), *(",".join(row) for row in rows)]
    text = ("\ufeff" if bom else "") + newline.join(lines)
    if isinstance(target, str) and header and target == "":
        target = header[0]
    load_csv_text(text.encode("utf-8"), target)


# ====================================================================== IDX

IDX_TYPES = [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]


def load_idx_bytes(data: bytes) -> None:
    path = scratch_file(data, ".idx")
    expect_only((ValueError,), lambda: load_idx(path))


@budget(500)
@given(st.binary(max_size=300))
def test_idx_random_bytes(data: bytes) -> None:
    load_idx_bytes(data)
    load_idx_bytes(b"\x00\x00" + data)  # past the first magic check
    load_idx_bytes(b"\x1f\x8b" + data)  # a broken gzip stream


@budget(800)
@given(
    st.sampled_from([*IDX_TYPES, 0x00, 0x0A, 0xFF]),
    st.integers(0, 255) | st.integers(0, 4),
    st.lists(
        st.integers(0, 5) | st.sampled_from([2**16, 2**31, 2**32 - 1]),
        max_size=8,
    )
    | st.lists(st.just(1), min_size=60, max_size=70),
    st.binary(max_size=200),
    st.booleans(),
    st.booleans(),
)
def test_idx_structured_headers(
    code: int, ndim: int, dims: list[int], payload: bytes, exact: bool, compress: bool
) -> None:
    """Magic, declared dimensions and payload sizes that agree or not, raw or gzip."""
    if exact:
        ndim = len(dims)
        itemsize = np.dtype({0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}.get(code, "u1"))
        needed = int(np.prod(dims, dtype=object)) * itemsize.itemsize if dims else 0
        if needed <= 4096:
            payload = (payload * (needed // max(len(payload), 1) + 1))[:needed].ljust(needed, b"\0")
    data = bytes([0, 0, code, ndim]) + b"".join(d.to_bytes(4, "big") for d in dims) + payload
    if compress:
        data = gzip.compress(data)
    load_idx_bytes(data)


@budget(300)
@given(st.integers(min_value=0), st.integers(0, 7), st.booleans())
def test_idx_mutated_valid_files(position: int, bit: int, compress: bool) -> None:
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    data = bytearray(b"\x00\x00\x08\x03" + b"".join(d.to_bytes(4, "big") for d in images.shape))
    data += images.tobytes()
    if compress:
        data = bytearray(gzip.compress(bytes(data)))
    data[position % len(data)] ^= 1 << bit
    load_idx_bytes(bytes(data))
    load_idx_bytes(bytes(data[: position % len(data)]))


# ====================================================================== text corpora


def read_corpus_bytes(data: bytes) -> None:
    path = scratch_file(data, ".txt")
    expect_only((ValueError,), lambda: read_corpus(path))


@budget(600)
@given(st.binary(max_size=400))
def test_corpus_random_bytes(data: bytes) -> None:
    """Invalid UTF-8 anywhere (and lone surrogates, overlong forms) is a ValueError."""
    read_corpus_bytes(data)
    read_corpus_bytes(b"\xef\xbb\xbf" + data)


@budget(600)
@given(
    st.lists(
        st.text(max_size=10)
        | st.sampled_from(["\u0301", "e\u0301", "\ufeff", "\u2028", "\x85", "\x1c", "\r"]),
        max_size=20,
    ),
    st.sampled_from(["\n", "\r\n", "\r", "\u2028"]),
    st.binary(max_size=3),
)
def test_corpus_random_text(lines: list[str], newline: str, garbage: bytes) -> None:
    text = newline.join(lines)
    read_corpus_bytes(text.encode("utf-8", "surrogatepass"))
    read_corpus_bytes(text.encode("utf-8", "surrogatepass") + garbage)


# ====================================================================== regressions


def test_fuzz_regressions(tmp_path: Path) -> None:
    """Inputs the fuzzers once found, each now a clear documented error."""

    def checkpoint(header: dict[str, Any], body: bytes = b"") -> Path:
        path = tmp_path / "found.safetensors"
        path.write_bytes(join(header, body))
        return path

    # a format version in non-ASCII digits: '²'.isdigit() is True but int('²') fails
    with pytest.raises(CheckpointError, match="format"):
        load(checkpoint({"__metadata__": {"chainrule.format": "²"}}))
    # more dimensions than NumPy supports
    with pytest.raises(CheckpointError, match="70 dimensions"):
        many = {"w": {"dtype": "F32", "shape": [1] * 70, "data_offsets": [0, 4]}}
        load(checkpoint(many, b"\0" * 4))
    # a config describing a model far bigger than the weights in the file
    config = {"class": "Sequential", "layers": [
        {"name": "0", "class": "Linear", "args": {"in_features": 2**16, "out_features": 2**16}}
    ]}  # fmt: skip
    metadata = {
        "chainrule.kind": "module",
        "chainrule.config": json.dumps(config),
        "chainrule.contents": json.dumps({"__module__": {"class": "Sequential", "state": {}}}),
    }
    with pytest.raises(CheckpointError, match="describes a model of"):
        load(checkpoint({"__metadata__": metadata}))


# ====================================================================== run folders (issue 14)


def _seed_run() -> Path:
    """A small finished run folder: the seed the run-folder fuzzers mutate."""
    from chainrule.cli import RunConfig, train_run

    out = SCRATCH / "seed-run"
    config = RunConfig(data="xor", hidden=(4,), epochs=2, samples=80, out=str(out))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_run(config, progress=False, plots=False)
    return out


RUN_FIELDS = ["run", "task", "feature_names", "class_names", "num_classes", "epoch",
              "history", "rng", "loader_rng", "scaler_mean", "scaler_std", "optimizer"]  # fmt: skip


@budget(300)
@given(st.data())
def test_run_folder_metadata_mutations(draw: Any) -> None:
    """Replace or delete values anywhere in a run checkpoint's entries (hostile metadata as
    stored, JSON in chainrule.contents): `load_run`, `evaluate_run` and `predict_file` may
    only refuse with a ValueError (RunFolderError, CheckpointError) naming the problem."""
    from chainrule.cli import evaluate_run, load_run, predict_file

    seed = SEED_RUN / "model.safetensors"
    header, body = split(seed.read_bytes())
    contents = json.loads(header["__metadata__"]["chainrule.contents"])
    for _ in range(draw.draw(st.integers(1, 3))):
        field = draw.draw(st.sampled_from(RUN_FIELDS))
        if field not in contents:
            contents[field] = draw.draw(json_value)
            continue
        where = draw.draw(st.sampled_from(list(paths(contents[field]))))
        if not where and draw.draw(st.booleans()):
            del contents[field]
        elif where and draw.draw(st.booleans()):
            contents[field] = delete_at(contents[field], where)
        else:
            contents[field] = replace_at(contents[field], where, draw.draw(json_value))
    header["__metadata__"]["chainrule.contents"] = json.dumps(contents, allow_nan=True)
    folder = SCRATCH / "fuzzed-run"
    folder.mkdir(exist_ok=True)
    (folder / "model.safetensors").write_bytes(join(header, body))

    def use() -> None:
        saved, _model, config = load_run(folder)
        if config.samples <= 5_000:  # a valid setting, but generating 10**6 points is slow
            evaluate_run(folder)
        predict_file(folder, ROWS)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a hostile scaler may overflow
        expect_only((ValueError, FileNotFoundError), use)


SEED_RUN = _seed_run()
ROWS = scratch_file(b"x1,x2\n0.5,-1\n2,3\n", ".rows.csv")

NUMBER_TEXT = st.one_of(
    st.sampled_from(["inf", "-inf", "nan", "NaN", "1e309", "-0", "0", "1e-320", "1e300", "1_0",
                     " 1", "0x10", "", "--", "1e6", "10000000000"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(2**70), 2**70).map(str),
    st.text(max_size=6),
)  # fmt: skip
NUMERIC_OPTIONS = ["--lr", "--weight-decay", "--dropout", "--noise", "--test-fraction",
                   "--val-fraction", "--epochs", "--batch-size", "--samples", "--seed",
                   "--hidden"]  # fmt: skip


@budget(600)
@given(st.lists(st.tuples(st.sampled_from(NUMERIC_OPTIONS), NUMBER_TEXT), max_size=4))
def test_train_options_accept_only_meaningful_numbers(options: list[tuple[str, str]]) -> None:
    """Any text for the numeric options of `chainrule train`: refused with a UsageError or
    a ValueError, or accepted as settings that are all finite and within the limits."""
    from chainrule.cli import UsageError, build_parser
    from chainrule.cli.run_config import RunConfig, defaults_for

    argv = ["train", "--data", "xor", *(part for pair in options for part in pair)]
    try:
        args = build_parser().parse_args(argv)
        settings = defaults_for("xor")
        for option, _ in options:
            name = option.removeprefix("--").replace("-", "_")
            if getattr(args, name) is not None:
                settings[name] = getattr(args, name)
        config = RunConfig(**settings).check()
    except (UsageError, ValueError):
        return
    for value in (config.lr, config.weight_decay, config.dropout, config.noise,
                  config.test_fraction, config.val_fraction):  # fmt: skip
        assert np.isfinite(value) and value >= 0
    assert config.lr > 0 and 1 <= config.samples <= 1_000_000


# ====================================================================== atheris harnesses

HARNESSES = sorted((Path(__file__).parent / "fuzz").glob("fuzz_*.py"))


@pytest.mark.parametrize("harness", HARNESSES, ids=lambda path: path.stem)
def test_atheris_harness_runs(harness: Path, tmp_path: Path) -> None:
    """Each coverage-guided harness in tests/hostile/fuzz/ runs a bounded number of inputs cleanly
    (where atheris is installed: x86-64 Linux and macOS)."""
    pytest.importorskip("atheris")
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            str(harness),
            "-atheris_runs=1500",
            "-seed=1",
            f"-artifact_prefix={tmp_path}/",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stdout[-1500:] + done.stderr[-3000:]
    assert re.search(r"^Done 1500 (runs )?in ", done.stderr, re.MULTILINE), done.stderr[-1500:]
    assert not list(tmp_path.glob("crash-*"))
