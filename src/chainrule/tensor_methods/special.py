"""Special functions with an order argument: polygamma(n) and the multivariate log-gamma.

lgamma, digamma, i0, igamma and igammac are rows of `chainrule.ops.pointwise` (installed
with the other elementwise math); the formulas and their accuracy are in
`chainrule.ops.special`.
"""

from __future__ import annotations

import builtins

import numpy as np

from chainrule.ops.pointwise import Polygamma
from chainrule.tensor import Tensor
from chainrule.tensor_methods._common import method


@method("polygamma")
def polygamma(self: Tensor, n: builtins.int) -> Tensor:
    """ψ⁽ⁿ⁾(x), the n-th derivative of digamma (n = 0: digamma)."""
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return Polygamma.apply(self._as_float(), n=builtins.int(n))


@method("mvlgamma")
def mvlgamma(self: Tensor, p: builtins.int) -> Tensor:
    """log Γ_p(x) = p(p-1)/4 · log π + Σ_{j=1..p} log Γ(x + (1-j)/2); defined for x > (p-1)/2."""
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    x = self._as_float()  # x <= (p-1)/2 meets a pole of lgamma: inf, as torch 2.13
    total = x.lgamma()
    for j in range(2, p + 1):
        total = total + (x + (1 - j) / 2).lgamma()
    return total + p * (p - 1) / 4 * np.log(np.pi)
