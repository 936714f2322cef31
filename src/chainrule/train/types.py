"""The types of `fit`'s arguments: what a model, a loss function and training data are."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from chainrule.data import DataLoader, Dataset
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule.nn.modules.module import Module
    from chainrule.optim.optimizer import Optimizer

__all__ = ["ArrayLike", "LossFn", "Model", "OptimizerLike", "TrainData"]

ArrayLike: TypeAlias = "Tensor | np.ndarray | list[Any]"
"""An input or target column: a Tensor, an ndarray, or nested lists of numbers."""

LossFn: TypeAlias = Callable[[Tensor, Any], Tensor]
"""``loss_fn(output, target) -> scalar Tensor``: an ``nn`` loss module or an ``F`` function."""

Model: TypeAlias = "Module"
OptimizerLike: TypeAlias = "Optimizer"

TrainData: TypeAlias = "tuple[ArrayLike, ArrayLike] | Dataset | DataLoader | Iterable[Any]"
"""``(X, y)``, a Dataset, a DataLoader, or any iterable of ``(input, target)`` batches."""
