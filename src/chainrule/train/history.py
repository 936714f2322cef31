"""`History`: what `fit` returns, one value per epoch for the loss, each metric and the rate.

As Keras's ``History``: ``history.history['val_loss'][i]`` is the validation loss after the
epoch ``history.epoch[i]`` (epochs count from 0; the progress line shows them from 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from chainrule.types import JSONDict

__all__ = ["History"]


@dataclass
class History:
    """Per-epoch logs of a training run.

    Attributes:
        history: a list per key ('loss', 'accuracy', 'val_loss', 'val_accuracy', 'lr', ...),
            one value per entry of ``epoch``. A key that appears late is padded with NaN in
            front, so every list stays aligned with ``epoch``.
        epoch: the index of each recorded epoch (0-based; continues from ``start_epoch``
            when training resumes).
        stopped_reason: why training stopped before its last epoch (early stopping, a NaN),
            or None.
        stopped_epoch: the epoch during which it stopped, or None.

    Example::

        history = fit(model, loss_fn, optimizer, (X, y), epochs=5)
        history.history["loss"]     # [0.69, 0.52, 0.41, 0.35, 0.31]
        history["loss"][-1]         # the same, indexed directly
        History.from_dict(json.loads(json.dumps(history.to_dict())))
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    epoch: list[int] = field(default_factory=list)
    stopped_reason: str | None = None
    stopped_epoch: int | None = None

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        """Record one epoch's logs, keeping every list aligned with ``epoch``."""
        for key, value in logs.items():
            column = self.history.setdefault(key, [math.nan] * len(self.epoch))
            column.append(float(value))
        self.epoch.append(int(epoch))
        for column in self.history.values():
            if len(column) < len(self.epoch):  # a key this epoch did not log
                column.append(math.nan)

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __contains__(self, key: object) -> bool:
        return key in self.history

    def __len__(self) -> int:
        return len(self.epoch)

    def to_dict(self) -> JSONDict:
        """Plain, strictly JSON-serialisable data: NaN and ±inf become None."""
        return {
            "history": {
                key: [_finite_or_none(v) for v in values] for key, values in self.history.items()
            },
            "epoch": list(self.epoch),
            "stopped_reason": self.stopped_reason,
            "stopped_epoch": self.stopped_epoch,
        }

    @classmethod
    def from_dict(cls, data: JSONDict) -> History:
        """The inverse of :meth:`to_dict` (None comes back as NaN)."""
        return cls(
            history={
                key: [math.nan if v is None else float(v) for v in values]
                for key, values in data.get("history", {}).items()
            },
            epoch=[int(e) for e in data.get("epoch", [])],
            stopped_reason=data.get("stopped_reason"),
            stopped_epoch=data.get("stopped_epoch"),
        )


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None
