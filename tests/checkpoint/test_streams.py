"""save/load through file-like objects (torch.save(obj, buffer), torch.load(buffer)): what
a file gets, the same checks, messages naming the stream."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

import chainrule
from chainrule import nn, optim
from chainrule.checkpoint import streams
from chainrule.checkpoint.format import CheckpointError


def _model() -> nn.Sequential:
    chainrule.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))


def test_a_buffer_holds_the_files_bytes_and_loads_back(tmp_path: Path) -> None:
    model = _model()
    opt = optim.Adam(model.parameters())
    model(chainrule.ones(2, 3)).sum().backward()
    opt.step()
    entries = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}
    buffer = io.BytesIO()
    chainrule.save(entries, buffer)
    chainrule.save(entries, tmp_path / "c.safetensors")
    # the same tensors and metadata (safetensors orders the metadata keys as it likes)
    from_file = chainrule.load(tmp_path / "c.safetensors")
    assert len(buffer.getvalue()) == (tmp_path / "c.safetensors").stat().st_size
    buffer.seek(0)
    loaded = chainrule.load(buffer)
    assert loaded.metadata == from_file.metadata
    assert loaded["epoch"] == 3
    twin = _model()
    twin.load_state_dict(loaded["model"])
    for a, b in zip(model.parameters(), twin.parameters(), strict=True):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    assert loaded.path == "<BytesIO>"


def test_a_file_opened_in_binary_mode_is_named_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    with open(path, "wb") as file:
        chainrule.save(_model(), file)
    with open(path, "rb") as file:
        assert isinstance(chainrule.load(file).model, nn.Sequential)
    path.write_bytes(path.read_bytes()[:-3])  # truncated
    with open(path, "rb") as file, pytest.raises(CheckpointError, match="truncated") as error:
        chainrule.load(file)
    assert str(path) in str(error.value)


def test_bad_streams_fail_in_one_line() -> None:
    with pytest.raises(CheckpointError, match=r"<BytesIO> .*empty"):
        chainrule.load(io.BytesIO())
    with pytest.raises(CheckpointError, match="open it in binary mode"):
        chainrule.load(io.StringIO("{}"))
    with pytest.raises(TypeError, match=r"binary mode \('wb'\)"):
        chainrule.save(_model().state_dict(), io.StringIO())
    pickled = io.BytesIO(b"\x80\x04" + bytes(30))
    with pytest.raises(CheckpointError, match="pickle"):
        chainrule.load(pickled)


def test_a_stream_over_the_size_limit_is_refused_before_it_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(streams, "MAX_CHECKPOINT_BYTES", 100)
    monkeypatch.setattr(streams, "CHUNK", 64)
    reads: list[int] = []

    class Endless(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            reads.append(size)
            return b"x" * size

    with pytest.raises(CheckpointError, match="100-byte limit"):
        chainrule.load(Endless())
    assert len(reads) == 2  # stopped at the first chunk beyond the limit
