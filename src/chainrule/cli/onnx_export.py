"""`chainrule export` / `chainrule train --export-onnx`: a run folder's model as ONNX.

The run folder is read like every command reads one (`load_run`: every field of its metadata
checked by `run_schema`, the model checked against the run's feature and output counts), so
a folder from anywhere gives a one-line error, never a traceback. The ONNX bridge
(`chainrule.onnx.export`) then writes the graph; it knows nothing of run folders.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from chainrule.cli.evaluation import load_run

StrPath = str | os.PathLike[str]

DEFAULT_OPSET = 17  # chainrule.onnx.DEFAULT_OPSET (not imported: onnx is an optional extra)


def export_run(
    run_dir: StrPath,
    path: StrPath,
    *,
    include_standardization: bool = True,
    opset: int = DEFAULT_OPSET,
    dynamic_batch: bool = True,
) -> Path:
    """Export the model of a run folder (``run_dir/model.safetensors``) to ONNX at `path`.

    The run's model was trained on standardised features, z = (x - mean) / std with the
    training split's mean and std (saved in the checkpoint as ``scaler_mean`` and
    ``scaler_std``; a constant feature, std 0, is only centred). With
    `include_standardization` (the default) the exported graph starts with Sub and Div nodes
    doing exactly that, so it takes raw features, as ``chainrule predict`` does; without, it
    takes standardised ones. The input is float32 of shape (batch, features), named
    ``input``; the output is the model's raw output (logits for classification), named
    ``output``.

    Returns the path written. Raises FileNotFoundError for a folder without
    model.safetensors, CheckpointError for a damaged checkpoint and RunFolderError (a
    ValueError) naming the field for run metadata that is missing or wrong.
    """
    from chainrule.onnx import export  # onnx is an optional extra

    saved, model, _config = load_run(Path(run_dir))
    dtype = next(model.parameters()).detach().numpy().dtype
    mean = np.asarray(saved["scaler_mean"], dtype=np.float64)
    std = np.asarray(saved["scaler_std"], dtype=np.float64)
    example = np.zeros((2, len(saved["feature_names"])), dtype=dtype)
    standardize = None
    if include_standardization:
        standardize = (mean.astype(dtype), np.where(std > 0, std, 1.0).astype(dtype))
    return export(
        model, example, path, opset=opset, dynamic_batch=dynamic_batch, standardize=standardize
    )
