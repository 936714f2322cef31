"""Hostile input: files built to crash chainrule, run code or exhaust memory get a clear
error instead; training data with NaN or inf is refused before the first step.

Complements tests/checkpoint/test_checkpoint.py (truncations, wrong header lengths, corrupt headers,
protocol 2-5 pickles, a torch.save zip) and tests/data/test_data.py (IDX and CSV basics):
this file covers huge declared sizes under a memory limit, the other pickle routes,
code-shaped metadata, and the loader bugs the fuzzers (tests/hostile/test_fuzz.py) found.
"""

from __future__ import annotations

import gzip
import json
import os
import pickle
import re
import subprocess
import sys
import textwrap
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.checkpoint import CheckpointError, load, save
from chainrule.data import DataLoader, TensorDataset
from chainrule.data.idx import load_idx
from chainrule.data.tabular import load_csv
from chainrule.text.corpus import read_corpus
from chainrule.train import fit

SRC = Path(__file__).resolve().parents[2] / "src" / "chainrule"


def raw_file(header: dict[str, Any] | bytes, data: bytes = b"") -> bytes:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + data


def tensor_entry(shape: list[int], offsets: list[int], dtype: str = "F32") -> dict[str, Any]:
    return {"w": {"dtype": dtype, "shape": shape, "data_offsets": offsets}}


def config_file(layer: dict[str, Any]) -> bytes:
    """A module checkpoint whose config names `layer` but which holds no weights."""
    config = {"class": "Sequential", "layers": [{"name": "0", **layer}]}
    metadata = {
        "chainrule.kind": "module",
        "chainrule.config": json.dumps(config),
        "chainrule.contents": json.dumps({"__module__": {"class": "Sequential", "state": {}}}),
    }
    return raw_file({"__metadata__": metadata})


# files that declare far more data than they hold (each a few hundred bytes at most)
HUGE = {
    "shape-1e12-tiny-offsets": raw_file(tensor_entry([10**12], [0, 4]), b"\0" * 4),
    "shape-1e12-matching-offsets": raw_file(tensor_entry([10**12], [0, 4 * 10**12]), b"\0" * 4),
    "shape-2^62-squared": raw_file(tensor_entry([2**62, 2**62], [0, 8 * 2**124], "F64"), bytes(8)),
    "shape-beyond-u64": raw_file(tensor_entry([2**70], [0, 2**72]), bytes(4)),
    "offsets-beyond-file": raw_file(tensor_entry([2], [10**15, 10**15 + 8]), bytes(8)),
    "header-length-2^63": (2**63).to_bytes(8, "little") + b"{}",
    "header-length-99MB": (99_000_000).to_bytes(8, "little") + b"{" + b" " * 100,
    "config-linear-2^20-squared": config_file(
        {"class": "Linear", "args": {"in_features": 2**20, "out_features": 2**20}}
    ),
    "config-linear-20000-squared": config_file(
        {"class": "Linear", "args": {"in_features": 20_000, "out_features": 20_000}}
    ),
    "config-embedding-huge": config_file(
        {"class": "Embedding", "args": {"num_embeddings": 10**9, "embedding_dim": 1000}}
    ),
    "config-batchnorm-huge": config_file(
        {"class": "BatchNorm1d", "args": {"num_features": 10**10}}
    ),
}


# ---------------------------------------------------------------- checkpoints: memory


@pytest.mark.parametrize("name", sorted(HUGE))
def test_huge_declared_sizes_allocate_nothing(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.safetensors"
    path.write_bytes(HUGE[name])
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError) as info:
            load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000, f"{name}: loading allocated {peak:,} bytes"
    message = str(info.value)
    assert path.name in message and "\n" not in message


def test_huge_declared_sizes_under_an_address_space_limit(tmp_path: Path) -> None:
    """The same files in a child process capped at 1 GiB of address space (RLIMIT_AS): a
    loader that tried to allocate what a header declares would die with MemoryError."""
    resource = pytest.importorskip("resource")
    if sys.platform != "linux":
        pytest.skip("RLIMIT_AS is enforced on Linux")
    for name, data in HUGE.items():
        (tmp_path / f"{name}.safetensors").write_bytes(data)
    script = textwrap.dedent(
        f"""
        import json, resource, sys
        from pathlib import Path
        import chainrule
        from chainrule.checkpoint import CheckpointError, load
        limit = 1 << 30
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        results = {{}}
        for path in sorted(Path({str(tmp_path)!r}).glob("*.safetensors")):
            try:
                load(path)
                results[path.stem] = "loaded"
            except CheckpointError:
                results[path.stem] = "CheckpointError"
            except BaseException as error:
                results[path.stem] = type(error).__name__ + ": " + str(error)[:200]
        print(json.dumps(results))
        """
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert results == dict.fromkeys(sorted(HUGE), "CheckpointError")
    assert resource  # imported for the skip above


def test_zero_sized_tensor_with_a_huge_dimension_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "empty.safetensors"
    path.write_bytes(raw_file(tensor_entry([0, 10**12], [0, 0])))
    ckpt = load(path)
    assert ckpt.tensors["w"].shape == (0, 10**12)


def test_a_config_that_fits_its_weights_still_loads(tmp_path: Path) -> None:
    """The size check counts exactly what each layer allocates (bias, affine, stats)."""
    model = nn.Sequential(
        nn.Linear(3, 4, bias=False),
        nn.BatchNorm1d(4, affine=False),
        nn.BatchNorm1d(4, bias=False),
        nn.BatchNorm1d(4, track_running_stats=False),
        nn.Embedding(5, 4),
    )
    save(model, tmp_path / "m.safetensors")
    assert load(tmp_path / "m.safetensors").model is not None


# ---------------------------------------------------------------- checkpoints: dtypes


@pytest.mark.parametrize(
    "dtype",
    ["f32", "float32", "U16", "U32", "U64", "F8_E4M3", "C64", "BF16", "", 4, None, [], {}],
    ids=repr,
)
def test_wrong_dtypes(tmp_path: Path, dtype: Any) -> None:
    path = tmp_path / "dtype.safetensors"
    path.write_bytes(raw_file(tensor_entry([2], [0, 8], dtype), bytes(8)))  # type: ignore[arg-type]
    with pytest.raises(CheckpointError, match=r"dtype .*supported: F16, F32"):
        load(path)


def test_too_many_dimensions(tmp_path: Path) -> None:
    path = tmp_path / "dims.safetensors"
    path.write_bytes(raw_file(tensor_entry([1] * 65, [0, 4]), bytes(4)))
    with pytest.raises(CheckpointError, match="65 dimensions; at most 64"):
        load(path)


def test_non_ascii_format_version(tmp_path: Path) -> None:
    path = tmp_path / "version.safetensors"
    path.write_bytes(raw_file({"__metadata__": {"chainrule.format": "²"}}))
    with pytest.raises(CheckpointError, match="format '²'"):
        load(path)


# ---------------------------------------------------------------- checkpoints: no code runs


class Exploit:
    """Unpickling this runs a shell command that creates a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("protocol", [0, 1])
def test_text_protocol_pickles_are_refused(tmp_path: Path, protocol: int) -> None:
    """Protocols 0 and 1 have no 0x80 prefix: refused all the same, nothing runs."""
    marker = tmp_path / "pwned"
    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps(Exploit(marker), protocol=protocol))
    with pytest.raises(CheckpointError):
        load(path)
    with pytest.raises(CheckpointError):
        load(path, model=nn.Sequential(nn.Linear(2, 2)))
    assert not marker.exists()


def test_torch_save_with_a_payload_is_refused(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    marker = tmp_path / "pwned"
    path = tmp_path / "model.safetensors"
    torch.save({"weight": torch.zeros(2), "trap": Exploit(marker)}, path)
    with pytest.raises(CheckpointError, match="zip"):
        load(path)
    assert not marker.exists()


def test_npy_object_array_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "model.safetensors"
    with open(path, "wb") as file:
        np.save(file, np.array([Exploit(marker)], dtype=object), allow_pickle=True)
    with pytest.raises(CheckpointError, match="npy"):
        load(path)
    assert not marker.exists()


def test_pickle_after_a_valid_checkpoint_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "model.safetensors"
    save(nn.Sequential(nn.Linear(2, 2)), path)
    path.write_bytes(path.read_bytes() + pickle.dumps(Exploit(marker)))
    with pytest.raises(CheckpointError, match="unexpected bytes after the last tensor"):
        load(path)
    assert not marker.exists()


def test_code_shaped_metadata_stays_data(tmp_path: Path) -> None:
    """Strings that look like code or pickles are strings; class names are looked up in a
    fixed table, never imported."""
    marker = tmp_path / "pwned"
    payload = pickle.dumps(Exploit(marker)).hex()
    path = tmp_path / "model.safetensors"
    save(
        nn.Sequential(nn.Linear(2, 2)),
        path,
        metadata={"note": f"__import__('os').system('touch {marker}')", "blob": payload},
    )
    ckpt = load(path)
    assert ckpt.metadata["blob"] == payload and not marker.exists()

    for name in ("os.system", f"__import__('os').system('touch {marker}')", "builtins.eval"):
        evil = tmp_path / "evil.safetensors"
        evil.write_bytes(config_file({"class": name, "args": {"command": f"touch {marker}"}}))
        with pytest.raises(CheckpointError, match="cannot build layer"):
            load(evil)
    contents = {"__module__": {"class": "os.system", "state": {"__reduce__": "touch"}}}
    evil.write_bytes(raw_file({"__metadata__": {"chainrule.contents": json.dumps(contents)}}))
    with pytest.raises(CheckpointError):
        load(evil)
    assert not marker.exists()


def test_no_unpickling_or_eval_anywhere_in_the_package() -> None:
    """What SECURITY.md promises: no pickle, torch.load, np.load(allow_pickle) or eval in
    chainrule's source, and one exec: compile_step's, of the program it writes itself."""
    pattern = re.compile(
        r"^\s*(import (pickle|marshal|shelve|dill|cloudpickle)\b|from (pickle|marshal|shelve)\b)"
        r"|\bpickle\.loads?\(|\btorch\.load\(|allow_pickle\s*=\s*True"
        r"|(?<!def )(?<![.\w`])(eval|exec)\("
        r"|\byaml\.(unsafe_)?load\(",
        re.MULTILINE,
    )
    found = [
        f"{path.relative_to(SRC)}: {match.group(0).strip()}"
        for path in sorted(SRC.rglob("*.py"))
        for match in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == ["capture/program.py: exec("]


def test_a_captured_step_writes_no_name_into_its_program_as_code() -> None:
    """compile_step's program names parameters after the model's (attacker-chosen) module
    names: they reach the source only as string literals and word-character identifiers."""
    from collections import OrderedDict

    import chainrule
    from chainrule import nn, optim

    names = ["a\nimport os; os._exit(3)  #", "b'] = 0; x = ['", "ü ß", "ü_ß", "x²"]
    model = nn.Sequential(OrderedDict([(names[0], nn.Linear(3, 4)), (names[1], nn.ReLU()),
                                       (names[2], nn.Linear(4, 4)), (names[3], nn.Linear(4, 4)),
                                       (names[4], nn.Linear(4, 2))]))  # fmt: skip
    step = chainrule.compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()))
    x, y = np.ones((5, 3), np.float32), np.array([0, 1, 0, 1, 1])
    first, second = step(x, y), step(x, y)  # recorded, then the program runs
    assert np.isfinite(first.item()) and second.item() < first.item()
    code = step.code
    for name in names:
        for suffix in (".weight", ".bias"):
            code = code.replace(repr(name + suffix), "")  # the literals may hold anything
    assert "import os" not in code and "x = [" not in code
    assert "p_ü_ß_weight_ = " in code  # "ü ß" and "ü_ß" would share a name: one gets a _


# ---------------------------------------------------------------- IDX


def test_idx_gzip_bomb_stops_at_the_declared_size(tmp_path: Path) -> None:
    """A 20 MB run of zeros compressed to ~20 KB behind a header declaring 4 bytes: the
    reader stops one byte past the declared payload instead of inflating everything."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip container
    parts = [compressor.compress(b"\x00\x00\x08\x02" + (2).to_bytes(4, "big") * 2)]
    chunk = bytes(1 << 20)
    parts += [compressor.compress(chunk) for _ in range(20)]
    parts.append(compressor.flush())
    path = tmp_path / "bomb.idx.gz"
    path.write_bytes(b"".join(parts))
    assert path.stat().st_size < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="trailing bytes"):
            load_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


def test_idx_more_dimensions_than_numpy_supports(tmp_path: Path) -> None:
    path = tmp_path / "dims.idx"
    path.write_bytes(b"\x00\x00\x08\x46" + (1).to_bytes(4, "big") * 70 + b"\x07")
    with pytest.raises(ValueError, match=r"dims\.idx: IDX shape .* cannot be read"):
        load_idx(path)
    path.write_bytes(gzip.compress(path.read_bytes()))
    with pytest.raises(ValueError, match=r"dims\.idx"):
        load_idx(path)


# ---------------------------------------------------------------- CSV


def write(tmp_path: Path, data: bytes | str, name: str = "table.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_csv_cell_over_the_csv_field_limit(tmp_path: Path) -> None:
    path = write(tmp_path, "a,y\n1,2\n3," + "4" * 200_000 + "\n")
    with pytest.raises(ValueError, match=r"table\.csv: row 3: field larger than field limit"):
        load_csv(path, "y")


def test_csv_invalid_utf8_names_the_row(tmp_path: Path) -> None:
    path = write(tmp_path, b"a,y\n1,2\n3,\xff\n")
    with pytest.raises(ValueError, match=r"table\.csv: row 3 is not valid UTF-8 \(byte 0xff\)"):
        load_csv(path, "y")
    path = write(tmp_path, b"\xef\xbb\xbfa,y\n1,2\n")  # a byte-order mark is fine
    X, y, names = load_csv(path, "y")
    assert names == ["a"] and y.tolist() == [2]


def test_csv_values_beyond_float32(tmp_path: Path) -> None:
    path = write(tmp_path, "a,y\n1,2\n1e39,3\n")
    with pytest.raises(ValueError, match=r"row 3, column 'a': value 1e\+39 is too large"):
        load_csv(path, "y")
    path = write(tmp_path, "a,y\n1,2.5\n1,-5e38\n")
    with pytest.raises(ValueError, match=r"row 3, column 'y'"):
        load_csv(path, "y")


def test_csv_integer_target_beyond_int64_is_not_wrapped(tmp_path: Path) -> None:
    path = write(tmp_path, "a,y\n1,2\n1,100000000000000000000\n")
    _, y, _ = load_csv(path, "y")
    assert y.dtype == np.float32 and y[1] == np.float32(1e20)  # not a wrapped int64


def test_csv_nul_bytes_are_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, b"a,y\n1,2\x00\n")
    with pytest.raises(ValueError, match=r"row 2, column 'y'"):
        load_csv(path, "y")


# ---------------------------------------------------------------- corpora


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"abc\n\xc3\x28\n", 2),  # a broken 2-byte sequence
        (b"a\nb\nc\n\xed\xa0\x80\n", 4),  # a UTF-16 surrogate, not allowed in UTF-8
        (b"\xc0\xaf\n", 1),  # an overlong '/'
        (b"ok\r\n\xff", 2),
    ],
)
def test_corpus_invalid_utf8_variants(tmp_path: Path, data: bytes, line: int) -> None:
    path = write(tmp_path, data, "names.txt")
    with pytest.raises(ValueError, match=rf"names\.txt: line {line} is not valid UTF-8"):
        read_corpus(path)


# ---------------------------------------------------------------- training on NaN / inf


def mlp() -> nn.Sequential:
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def train(model: nn.Module, data: Any, val: Any = None) -> Any:
    loss = nn.CrossEntropyLoss()
    return fit(model, loss, optim.SGD(model.parameters(), lr=0.1), data, val, epochs=1,
               progress=False)  # fmt: skip


def clean(n: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 3)), rng.integers(0, 2, n)


def test_nan_in_features_is_refused_naming_the_rows() -> None:
    X, y = clean()
    X[3, 0] = np.nan
    X[17, 2] = np.inf
    X[42, 1] = -np.inf
    model = mlp()
    before = [p.detach().numpy().copy() for p in model.parameters()]
    with pytest.raises(ValueError) as info:
        train(model, (X, y))
    assert str(info.value) == (
        "training data has NaN or inf in rows 3, 17, 42 (of 1000) of X: clean or impute them first"
    )
    for old, new in zip(before, model.parameters(), strict=True):
        np.testing.assert_array_equal(old, new.detach().numpy())  # not one step was taken


def test_many_bad_rows_are_summarised() -> None:
    X, y = clean()
    X[100:150] = np.nan
    with pytest.raises(ValueError, match=r"rows 100, 101, .*, 109 and 40 more \(of 1000\) of X"):
        train(mlp(), (X, y))


def test_one_bad_row_and_float_targets() -> None:
    X, _ = clean(10)
    y = np.zeros((10, 2))
    y[7, 1] = np.nan
    model = nn.Sequential(nn.Linear(3, 2))
    with pytest.raises(ValueError, match=r"^training data has NaN or inf in row 7 \(of 10\) of y"):
        fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), (X, y), progress=False)


def test_validation_data_is_checked_too() -> None:
    X, y = clean()
    X_val, y_val = clean(50)
    X_val[49, 2] = np.nan
    with pytest.raises(ValueError, match=r"^validation data has NaN or inf in row 49 \(of 50\)"):
        train(mlp(), (X, y), (X_val, y_val))


def test_tensors_datasets_and_loaders_are_checked() -> None:
    X, y = clean(20)
    X[5, 1] = np.nan
    tensors = (cr.tensor(X.astype(np.float32)), cr.tensor(y))
    with pytest.raises(ValueError, match=r"row 5 \(of 20\) of X"):
        train(mlp(), tensors)
    with pytest.raises(ValueError, match=r"row 5 \(of 20\) of X"):
        train(mlp(), TensorDataset(*tensors))
    with pytest.raises(ValueError, match=r"row 5 \(of 20\) of X"):
        train(mlp(), DataLoader(TensorDataset(*tensors), batch_size=4))


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_overflow_in_the_cast_to_the_model_dtype_is_reported() -> None:
    """1e300 is finite in float64 but inf in the float32 the model trains in."""
    X, y = clean(8)
    X[2, 0] = 1e300
    with pytest.raises(ValueError, match=r"row 2 \(of 8\) of X"):
        train(mlp(), (X, y))


def test_multidimensional_features_and_clean_data() -> None:
    X = np.zeros((6, 2, 3), dtype=np.float32)
    X[4, 1, 2] = np.nan
    y = np.zeros(6, dtype=np.int64)
    model = nn.Sequential(nn.Flatten(), nn.Linear(6, 2))
    with pytest.raises(ValueError, match=r"row 4 \(of 6\) of X"):
        train(model, (X, y))
    X[4, 1, 2] = 0
    history = train(model, (X, y), (X, y))  # clean data trains as before
    assert len(history["loss"]) == 1


# ---------------------------------------------------------------- issue 14: sizes and file kinds
def _linear(name: str, n_in: int, n_out: int) -> dict[str, Any]:
    args = {"in_features": n_in, "out_features": n_out, "bias": True, "dtype": "float32"}
    return {"name": name, "class": "Linear", "args": args}


def _module_file(layers: list[dict[str, Any]], tensors: dict[str, np.ndarray]) -> bytes:
    """A module checkpoint with the given config layers and tensors, built by hand."""
    header: dict[str, Any] = {}
    body = b""
    for key, array in tensors.items():
        data = np.ascontiguousarray(array, dtype=np.float32).tobytes()
        header[key] = {"dtype": "F32", "shape": list(array.shape),
                       "data_offsets": [len(body), len(body) + len(data)]}  # fmt: skip
        body += data
    state = {key: {"__tensor__": key} for key in tensors}
    header["__metadata__"] = {
        "chainrule.kind": "module",
        "chainrule.config": json.dumps({"class": "Sequential", "layers": layers}),
        "chainrule.contents": json.dumps({"__module__": {"class": "Sequential", "state": state}}),
    }
    return raw_file(header, body)


def test_zero_width_layer_cannot_make_the_next_one_huge(tmp_path: Path) -> None:
    """Issue 14, class 2: Linear(64, 0) then Linear(0, 10**8) holds 10**8 bias values only
    as zero-size weights... and 10**8 biases; a width of 0 (or over MAX_WIDTH) is refused
    before anything is built, whatever the file holds."""
    tensors = {
        "0.weight": np.zeros((0, 64)),
        "0.bias": np.zeros(0),
        "1.weight": np.zeros((1000, 0)),
        "1.bias": np.zeros(1000),
    }
    path = tmp_path / "zero.safetensors"
    path.write_bytes(_module_file([_linear("0", 64, 0), _linear("1", 0, 1000)], tensors))
    with pytest.raises(CheckpointError, match=r"layer '0' \(Linear\) has out_features=0"):
        load(path)
    wide = {"0.weight": np.zeros((0, 64)), "0.bias": np.zeros(0)}
    path.write_bytes(_module_file([_linear("0", 64, 0), _linear("1", 0, 10**8)], wide))
    with pytest.raises(CheckpointError, match="widths must lie in 1..65536"):
        load(path)


def test_too_many_layers_and_tensors_are_refused_before_building(tmp_path: Path) -> None:
    from chainrule.limits import MAX_LAYERS, MAX_TENSORS

    layers = [_linear(str(i), 1, 1) for i in range(MAX_LAYERS + 1)]
    tensors = {}
    for i in range(MAX_LAYERS + 1):
        tensors[f"{i}.weight"], tensors[f"{i}.bias"] = np.zeros((1, 1)), np.zeros(1)
    path = tmp_path / "deep.safetensors"
    path.write_bytes(_module_file(layers, tensors))
    with pytest.raises(CheckpointError, match=f"more than {MAX_LAYERS}"):
        load(path)
    many = {f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}
            for i in range(MAX_TENSORS + 1)}  # fmt: skip
    path.write_bytes(raw_file(many))
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=f"more than {MAX_TENSORS} tensors"):
            load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * path.stat().st_size  # the raw bytes, not a JSON tree of them


def test_load_of_a_folder_a_symlink_loop_a_fifo_or_a_device(tmp_path: Path) -> None:
    """Issue 14, class 4: each is a CheckpointError (one line), not IsADirectoryError/OSError,
    and a FIFO is refused without blocking (nothing writes to it here)."""
    loop = tmp_path / "loop.safetensors"
    loop.symlink_to(loop)
    fifo = tmp_path / "fifo.safetensors"
    os.mkfifo(fifo)
    for path, problem in ((tmp_path, "is a folder"), (loop, "symlink loop"),
                          (fifo, "is a FIFO"), (Path("/dev/zero"), "device")):  # fmt: skip
        with pytest.raises(CheckpointError, match=problem) as info:
            load(path)
        assert "\n" not in str(info.value)


def test_files_over_their_size_limit_are_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chainrule import files as cio

    table = write(tmp_path, "a,b\n1,2\n" * 50)
    read: list[int] = []
    original = cio.os.fdopen
    monkeypatch.setattr(cio.os, "fdopen", lambda *a, **k: read.append(1) or original(*a, **k))
    monkeypatch.setattr("chainrule.data.tabular.MAX_CSV_BYTES", 100)
    with pytest.raises(ValueError, match="over the 100-byte limit for a CSV file"):
        load_csv(table, "b")
    assert not read  # refused on fstat, before a byte was read
    monkeypatch.setattr("chainrule.checkpoint.validator.MAX_CHECKPOINT_BYTES", 10)
    path = tmp_path / "m.safetensors"
    save(nn.Linear(2, 2), path)
    with pytest.raises(CheckpointError, match="over the 10-byte limit"):
        load(path)


@pytest.mark.parametrize("loader", ["csv", "idx", "corpus"])
def test_data_loaders_refuse_fifos_devices_and_folders(tmp_path: Path, loader: str) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    read = {
        "csv": lambda p: load_csv(p, "y"),
        "idx": load_idx,
        "corpus": read_corpus,
    }[loader]
    for path in (fifo, Path("/dev/zero"), tmp_path):
        with pytest.raises(ValueError, match="FIFO|device|folder") as info:
            read(path)
        assert "\n" not in str(info.value)


def test_csv_with_only_the_target_column(tmp_path: Path) -> None:
    """Issue 14, class 8: it used to train a model of 0 features."""
    with pytest.raises(ValueError, match="only column is the target 'y'"):
        load_csv(write(tmp_path, "y\n1\n0\n1\n"), "y")


def test_a_language_model_folder_cannot_ask_for_a_huge_model(tmp_path: Path) -> None:
    """`chainrule generate --model DIR` read the hyperparameters from the file and built
    CharMLP(hidden=10**9) before loading (MemoryError); now they are checked first."""
    from chainrule.text.model import CharMLP
    from chainrule.text.storage import load_language_model, save_language_model
    from chainrule.text.vocab import Vocabulary

    vocab = Vocabulary.from_items(["abc", "cab"])
    cr.manual_seed(0)
    folder = tmp_path / "lm"
    save_language_model(CharMLP(len(vocab), context=2, embedding=3, hidden=4), vocab, folder)
    load_language_model(folder)  # the genuine one loads
    path = folder / "model.safetensors"
    saved = load(path)
    for hidden, problem in ((10**9, "hidden must be an int in 1..65536"),
                            (60_000, "describe .* weights, the file holds")):  # fmt: skip
        metadata = {**saved.metadata, "text.hyperparameters": json.dumps(
            {**json.loads(saved.metadata["text.hyperparameters"]), "hidden": hidden})}  # fmt: skip
        save(saved.state_dict, path, metadata=metadata)
        with pytest.raises(ValueError, match=problem):
            load_language_model(folder)
