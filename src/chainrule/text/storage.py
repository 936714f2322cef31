"""Saving and loading a `CharMLP` with its vocabulary and hyperparameters: one safetensors
file (``model.safetensors`` in a folder) whose JSON metadata holds the vocabulary, the
hyperparameters and what the caller adds (`info`); sizes are checked before anything is
allocated."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from chainrule.limits import MAX_WIDTH
from chainrule.text.model import CharMLP
from chainrule.text.vocab import Vocabulary

__all__ = ["MODEL_FILE", "load_language_model", "model_info", "save_language_model"]

MODEL_FILE = "model.safetensors"
"""The file `save_language_model` writes in its folder."""

_META_VOCAB = "text.vocabulary"
_META_CONFIG = "text.hyperparameters"
_META_INFO = "text.training"
_META_FORMAT = "text.format"
_FORMAT_VERSION = "1"


def save_language_model(
    model: CharMLP,
    vocab: Vocabulary,
    path_dir: str | os.PathLike[str],
    info: dict[str, Any] | None = None,
) -> Path:
    """Save the model's weights, its hyperparameters and the vocabulary (JSON metadata) to
    ``path_dir/model.safetensors`` (atomically, via `chainrule.checkpoint`); creates the
    folder. `info` (JSON data, e.g. the corpus and validation loss) is stored alongside.
    Returns the file's path."""
    from chainrule import checkpoint  # needs safetensors, loaded on demand

    if len(vocab) != model.vocab_size:
        raise ValueError(
            f"the vocabulary has {len(vocab)} symbols but the model predicts {model.vocab_size}"
        )
    folder = Path(path_dir)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"cannot save the model to {folder}: it is a file, not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MODEL_FILE
    metadata = {
        _META_FORMAT: _FORMAT_VERSION,
        _META_VOCAB: vocab.to_json(),
        _META_CONFIG: json.dumps(model.config()),
        _META_INFO: json.dumps(info or {}, ensure_ascii=False),
    }
    checkpoint.save(model, path, metadata=metadata)
    return path


def _read(path_dir: str | os.PathLike[str]) -> Any:
    from chainrule import checkpoint

    path = Path(path_dir)
    if path.is_dir():
        path = path / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no saved language model at {path}")
    ckpt = checkpoint.load(path)
    if ckpt.metadata.get(_META_FORMAT) != _FORMAT_VERSION or _META_VOCAB not in ckpt.metadata:
        raise ValueError(f"{path} is not a chainrule.text language model (no vocabulary)")
    return ckpt


def _check_sizes(config: Any, ckpt: Any) -> None:
    """Refuse hyperparameters that would build a model larger than the file holds, or
    layers wider than `chainrule.limits.MAX_WIDTH`, before anything is allocated."""
    if not isinstance(config, dict):
        raise TypeError("the hyperparameters are not a JSON object")
    sizes = {key: config.get(key, default) for key, default in
             (("vocab_size", 0), ("context", 3), ("embedding", 10), ("hidden", 200))}  # fmt: skip
    for key, value in sizes.items():
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_WIDTH:
            raise ValueError(f"{key} must be an int in 1..{MAX_WIDTH}, got {value!r}")
    v, c, e, h = (sizes[k] for k in ("vocab_size", "context", "embedding", "hidden"))
    needed = v * e + c * e * h + h * v
    held = sum(int(t.numel()) for t in ckpt.state_dict.values())
    if needed > held:
        raise ValueError(f"the hyperparameters describe {needed} weights, the file holds {held}")


def load_language_model(path_dir: str | os.PathLike[str]) -> tuple[CharMLP, Vocabulary]:
    """The (model in eval mode, vocabulary) saved by `save_language_model` in `path_dir`
    (a folder, or the model.safetensors file itself)."""
    ckpt = _read(path_dir)
    vocab = Vocabulary.from_json(ckpt.metadata[_META_VOCAB])
    try:
        config = json.loads(ckpt.metadata[_META_CONFIG])
        _check_sizes(config, ckpt)
        model = CharMLP(**config)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{ckpt.path}: invalid hyperparameters: {error}") from None
    if model.vocab_size != len(vocab):
        raise ValueError(f"{ckpt.path}: the vocabulary does not fit the model")
    model.load_state_dict(ckpt.state_dict)
    model.eval()
    return model, vocab


def model_info(path_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The `info` stored by `save_language_model` (empty when none was given)."""
    ckpt = _read(path_dir)
    try:
        info = json.loads(ckpt.metadata.get(_META_INFO, "{}"))
    except ValueError:
        return {}
    return info if isinstance(info, dict) else {}
