"""The limits chainrule applies to what it reads: every size that comes from a file or the
command line is checked against one of these before any work or allocation starts.

They are stated here once, and in SECURITY.md. They bound what a hostile file (a run
folder, a checkpoint, a CSV) can make chainrule do; the library's own constructors
(``nn.Linear(10**5, 10**5)``) are not limited: code you write is trusted.

Memory estimates are for float32 and counted generously (weights, gradients and two
optimizer moments per parameter; an activation, its gradient and the layer output per
unit of a batch), so the figures below hold on a machine with a few GiB free.
"""

from __future__ import annotations

GiB = 1 << 30
MiB = 1 << 20

# ---------------------------------------------------------------------- files
MAX_CHECKPOINT_BYTES = 8 * GiB
"""The largest checkpoint file `chainrule.load` opens (checked with fstat before reading)."""

MAX_CSV_BYTES = 1 * GiB
"""The largest CSV `load_csv` / `load_features` reads."""

MAX_IDX_BYTES = 1 * GiB
"""The largest IDX file (raw or gzip) `load_idx` reads."""

MAX_CORPUS_BYTES = 256 * MiB
"""The largest text corpus `read_corpus` reads."""

MAX_TENSORS = 100_000
"""The most tensors a checkpoint header may list (counted before the JSON is parsed)."""

MAX_CONFIG_BYTES = 1 * MiB
"""The largest model architecture (``chainrule.config`` metadata, JSON) a checkpoint may hold."""

# ---------------------------------------------------------------------- models
MAX_LAYERS = 1_000
"""The most layers (all kinds, containers included) a model config in a file may describe."""

MAX_WIDTH = 65_536
"""The widest layer a config in a file (or ``--hidden``) may describe: features in and out
of a Linear, BatchNorm1d features, Embedding rows and dimensions, classes. A layer of
width 0 is refused too: it would let the next layer be huge at no cost in the file."""

MAX_HIDDEN_LAYERS = 64
"""The most hidden layers ``chainrule train --hidden`` (or a run's settings) may ask for."""

MAX_PARAMETERS = 25_000_000
"""The most parameters a `chainrule train` model may have (about 400 MB with Adam)."""

# ---------------------------------------------------------------------- training runs
MAX_SAMPLES = 1_000_000
"""The most points ``--samples`` may generate for the toy datasets."""

MAX_EPOCHS = 100_000
"""The most epochs a run may ask for (``--epochs``, or a run folder's settings)."""

MAX_BATCH_SIZE = 65_536
"""The largest ``--batch-size``."""

MAX_FEATURES = MAX_WIDTH
"""The most feature columns a run (its data, or its saved feature names) may have."""

MAX_CLASSES = 10_000
"""The most classes a `chainrule train` run may have (a target with more distinct values is
probably a number to regress: give it as floats)."""

MAX_RUN_BYTES = 4 * GiB
"""The most memory a `chainrule train` / `evaluate` run is estimated to need (data, model,
optimizer state and one batch of activations) before it is refused."""

MAX_LR = 1e6
"""The largest learning rate accepted (any finite value > 0 up to this)."""

MAX_WEIGHT_DECAY = 1e6
"""The largest weight decay accepted (finite, >= 0)."""

MAX_NOISE = 10.0
"""The largest ``--noise`` of the generated datasets (finite, >= 0)."""
