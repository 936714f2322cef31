"""`Parameter`: a tensor that a Module registers as learnable when assigned to it."""

from __future__ import annotations

import numpy as np

from chainrule import dtypes
from chainrule.tensor import Tensor
from chainrule.types import TensorLike


class Parameter(Tensor):
    """A leaf tensor with requires_grad=True that modules collect in `parameters()`.

    `Parameter(t)` shares `t`'s array, as `torch.nn.Parameter` shares its storage.
    """

    __slots__ = ()

    def __init__(self, data: TensorLike | None = None, requires_grad: bool = True) -> None:
        if data is None:
            array = np.empty(0, dtype=dtypes.DEFAULT_FLOAT)
        elif isinstance(data, Tensor):
            array = data._data
        else:
            array = dtypes.to_array(data)
        super().__init__(array, requires_grad=False)
        self._data = array
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
