"""Matrix functions as Tensor methods and torch.xxx functions (det, inverse, svd, qr, ...),
built on `chainrule.linalg`. The torch-level names keep their older conventions where
they differ from torch.linalg: ``torch.svd`` returns V (not Vh) and ``some=True`` means
reduced; ``torch.qr(some=True)`` is reduced; ``b.triangular_solve(A)`` solves A X = b."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from chainrule import linalg, return_types
from chainrule.tensor import Tensor
from chainrule.tensor_methods._common import method

svd_result = return_types._named("svd", ("U", "S", "V"))
qr_result = return_types._named("qr", ("Q", "R"))
slogdet_result = return_types._named("slogdet", ("sign", "logabsdet"))
triangular_result = return_types._named("triangular_solve", ("solution", "cloned_coefficient"))


@method("det")
def det(self: Tensor) -> Tensor:
    return linalg.det(self)


@method("slogdet")
def slogdet(self: Tensor) -> Any:
    return slogdet_result(*linalg.slogdet(self))


@method("logdet")
def logdet(self: Tensor) -> Tensor:
    """log det A: NaN for a negative determinant, -inf for zero, as torch."""
    sign, logabs = linalg.slogdet(self)
    return logabs.masked_fill(sign < 0, float("nan"))


@method("inverse")
def inverse(self: Tensor) -> Tensor:
    return linalg.inv(self)


@method("pinverse")
def pinverse(self: Tensor, rcond: float = 1e-15) -> Tensor:
    return linalg.pinv(self, rtol=rcond)


@method("matrix_power")
def matrix_power(self: Tensor, n: builtins.int) -> Tensor:
    return linalg.matrix_power(self, n)


@method("matrix_exp")
def matrix_exp(self: Tensor) -> Tensor:
    return linalg.matrix_exp(self)


@method("cholesky")
def cholesky(self: Tensor, upper: builtins.bool = False) -> Tensor:
    return linalg.cholesky(self, upper=upper)


@method("cholesky_solve")
def cholesky_solve(self: Tensor, input2: Tensor, upper: builtins.bool = False) -> Tensor:
    """X with A X = self, where A = L Lᵀ and input2 is L (or Lᵀ when upper)."""
    low = input2.mT if upper else input2
    return linalg.solve_triangular(
        low.mT, linalg.solve_triangular(low, self, upper=False), upper=True
    )


@method("cholesky_inverse")
def cholesky_inverse(self: Tensor, upper: builtins.bool = False) -> Tensor:
    """(L Lᵀ)⁻¹ from the factor L (or Lᵀ when upper)."""
    low = self.mT if upper else self
    eye = Tensor._make(np.eye(self.shape[-1], dtype=self.dtype), False)
    return cholesky_solve(eye.expand(tuple(self.shape)), low, False)


@method("qr")
def qr(self: Tensor, some: builtins.bool = True) -> Any:
    return qr_result(*linalg.qr(self, "reduced" if some else "complete"))


@method("svd")
def svd(self: Tensor, some: builtins.bool = True, compute_uv: builtins.bool = True) -> Any:
    """(U, S, V) with self = U diag(S) Vᵀ (V, not Vh, unlike torch.linalg.svd)."""
    U, S, Vh = linalg.svd(self, full_matrices=not some)
    if not compute_uv:
        zeros = Tensor._make(np.zeros(U.shape, dtype=U.dtype), False)
        return svd_result(zeros, S, Tensor._make(np.zeros(Vh.shape, dtype=U.dtype), False))
    return svd_result(U, S, Vh.mT)


@method("triangular_solve")
def triangular_solve(
    self: Tensor, A: Tensor, upper: builtins.bool = True, transpose: builtins.bool = False,
    unitriangular: builtins.bool = False,
) -> Any:  # fmt: skip
    """(X, A.clone()) with A X = self (Aᵀ X = self when transpose)."""
    tri = A.mT if transpose else A
    solution = linalg.solve_triangular(
        tri, self, upper=upper != transpose, unitriangular=unitriangular
    )
    return triangular_result(solution, A.clone())
