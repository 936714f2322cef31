"""PyTorch's Tensor methods beyond the core ones in tensor.py, installed from tables.

Most of PyTorch's API is many names over a few ideas: elementwise math (one row each in
`chainrule.ops.pointwise`), aliases (``multiply`` is ``mul``), argument spellings
(``keepdims=`` for ``keepdim=``, ``other=``, ``alpha=``), in-place twins (``sin_`` is
``copy_(sin())``) and compositions of existing differentiable ops (``flip`` is a slice,
``logsumexp`` is max + log(sum(exp))). This module writes each idea once and installs
the names on `Tensor`; `chainrule.functions` derives the module-level ``torch.xxx``
functions from the same methods, so a method and its function never disagree.

Gradients: every method here is built from recorded ops, so autograd differentiates it;
comparisons, sorting indices, rounding and sampling return tensors outside the graph, as
in PyTorch.

One module a family: attributes, math, comparison, reductions, selection, shape, properties,
sampling, and inplace (the in-place twins and `install`).
"""

from chainrule.tensor_methods import (
    arrange,
    attributes,
    comparison,
    integer,
    linalg,
    math,
    properties,
    reductions,
    sampling,
    scatter,
    selection,
    shape,
    special,
    statistics,
)
from chainrule.tensor_methods._common import METHODS, method
from chainrule.tensor_methods.inplace import INPLACE_OF, install

# the families register their methods in METHODS when imported
_FAMILIES = (
    attributes,
    comparison,
    integer,
    linalg,
    math,
    properties,
    reductions,
    sampling,
    scatter,
    selection,
    shape,
    special,
    statistics,
)

__all__ = ["INPLACE_OF", "METHODS", "install", "method"]
