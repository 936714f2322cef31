"""torch.linalg: norms, inverses, solves and decompositions, batched over leading dims and
differentiable (gradients in `chainrule.linalg.decompositions`'s docstring).

    import chainrule as torch
    x = torch.linalg.solve(A, b)          # A (.., n, n), b (.., n) or (.., n, k)
    U, S, Vh = torch.linalg.svd(A, full_matrices=False)

Forward values come from NumPy's LAPACK (np.linalg); the rest (pinv, lstsq, norms,
matrix_power, cond, ...) are compositions of those with recorded ops. Gradients assume what
their formulas need (invertible A for inv/solve/slogdet, distinct eigenvalues for eigh,
distinct non-zero singular values for svd and pinv), as PyTorch's do.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule import return_types
from chainrule.linalg.decompositions import (
    QR,
    SVD,
    Cholesky,
    Det,
    Eigh,
    Inv,
    LinAlgError,
    LogAbsDet,
    MatrixExp,
    Solve,
)
from chainrule.tensor import Tensor
from chainrule.types import DTypeLike

__all__ = [
    "LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eigh",
    "eigvalsh", "inv", "inv_ex", "lstsq", "matmul", "matrix_exp", "matrix_norm", "matrix_power",
    "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_ex",
    "solve_triangular", "svd", "svdvals", "vander", "vecdot", "vector_norm",
]  # fmt: skip

_named = return_types._named
slogdet_result = _named("linalg_slogdet", ("sign", "logabsdet"))
qr_result = _named("linalg_qr", ("Q", "R"))
eigh_result = _named("linalg_eigh", ("eigenvalues", "eigenvectors"))
svd_result = _named("linalg_svd", ("U", "S", "Vh"))
lstsq_result = _named("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))
inv_ex_result = _named("linalg_inv_ex", ("inverse", "info"))
cholesky_ex_result = _named("linalg_cholesky_ex", ("L", "info"))
solve_ex_result = _named("linalg_solve_ex", ("result", "info"))


def _plain(array: Any) -> Tensor:
    return Tensor._make(np.asarray(array), False)


def _float(A: Tensor) -> Tensor:
    return A if A.dtype.kind == "f" else A.to(np.float32)


def _info(A: Tensor) -> Tensor:
    return _plain(np.zeros(A.shape[:-2], dtype=np.int32))


def inv(A: Tensor, *, out: Tensor | None = None) -> Tensor:
    """A⁻¹ (LinAlgError for a singular A)."""
    return Inv.apply(_float(A))


def inv_ex(A: Tensor, *, check_errors: bool = False, out: Tensor | None = None) -> Any:
    return inv_ex_result(inv(A), _info(A))


def det(A: Tensor, *, out: Tensor | None = None) -> Tensor:
    return Det.apply(_float(A))


def slogdet(A: Tensor, *, out: Tensor | None = None) -> Any:
    """(sign, log|det A|): the log stays finite where det would under/overflow."""
    A = _float(A)
    sign = np.linalg.slogdet(A.detach().numpy())[0].astype(A.dtype)
    # in the graph with a zero gradient, as torch's sign output
    return slogdet_result((A * 0).sum((-2, -1)) + _plain(sign), LogAbsDet.apply(A))


def _is_vector(A: Tensor, B: Tensor) -> bool:
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def solve(A: Tensor, B: Tensor, *, left: bool = True, out: Tensor | None = None) -> Tensor:
    """X with A X = B (left) or X A = B (left=False); B may be a vector (.., n)."""
    A = _float(A)
    B = B if B.dtype == A.dtype else B.to(A.dtype)
    if not left:
        return solve(A.mT, B.mT).mT
    if _is_vector(A, B):
        return Solve.apply(A, B.unsqueeze(-1)).squeeze(-1)
    return Solve.apply(A, B)


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False) -> Any:
    return solve_ex_result(solve(A, B, left=left), _info(A))


def solve_triangular(
    A: Tensor, B: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False,
    out: Tensor | None = None,
) -> Tensor:  # fmt: skip
    """solve with only A's upper (or lower) triangle read, its diagonal taken as 1 when
    unitriangular; the gradient reaches that triangle only."""
    A = _float(A)
    tri = A.triu() if upper else A.tril()
    if unitriangular:
        n = A.shape[-1]
        eye = _plain(np.eye(n, dtype=A.dtype))
        tri = tri * (1 - eye) + eye
    return solve(tri, B, left=left)


def cholesky(A: Tensor, *, upper: bool = False, out: Tensor | None = None) -> Tensor:
    """L with A = L Lᵀ (A symmetric positive-definite); upper=True gives Lᵀ."""
    low = Cholesky.apply(_float(A))
    return low.mT if upper else low


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False) -> Any:
    return cholesky_ex_result(cholesky(A, upper=upper), _info(A))


def qr(A: Tensor, mode: str = "reduced", *, out: Tensor | None = None) -> Any:
    """(Q, R) with A = Q R, Q orthonormal columns, R upper triangular; mode 'r' gives an
    empty Q, as torch."""
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(
            f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
            "'r', or 'complete'"
        )
    Q, R = QR.apply(_float(A), "reduced" if mode == "r" else mode)
    if mode == "r":
        return qr_result(_plain(np.zeros((0,), dtype=R.dtype)), R)
    return qr_result(Q, R)


def eigh(A: Tensor, UPLO: str = "L", *, out: Tensor | None = None) -> Any:
    """(eigenvalues ascending, eigenvectors as columns) of a symmetric A (one triangle read)."""
    return eigh_result(*Eigh.apply(_float(A), UPLO))


def eigvalsh(A: Tensor, UPLO: str = "L", *, out: Tensor | None = None) -> Tensor:
    return eigh(A, UPLO).eigenvalues


def svd(
    A: Tensor, full_matrices: bool = True, *, driver: Any = None, out: Tensor | None = None
) -> Any:
    """(U, S, Vh) with A = U diag(S) Vh, S descending."""
    return svd_result(*SVD.apply(_float(A), full_matrices))


def svdvals(A: Tensor, *, driver: Any = None, out: Tensor | None = None) -> Tensor:
    return svd(A, full_matrices=False).S


def _cutoff(s: Tensor, shape: Sequence[int], atol: Any, rtol: Any) -> np.ndarray:
    values = s.detach().numpy()
    top = values.max(-1, keepdims=True) if values.shape[-1] else np.zeros(values.shape[:-1] + (1,))
    if atol is None and rtol is None:
        rtol = np.finfo(values.dtype).eps * builtins.max(shape[-2:])
    atol_v = (
        0.0
        if atol is None
        else np.asarray(atol.detach().numpy() if isinstance(atol, Tensor) else atol)
    )
    rtol_v = (
        0.0
        if rtol is None
        else np.asarray(rtol.detach().numpy() if isinstance(rtol, Tensor) else rtol)
    )
    return np.maximum(atol_v, rtol_v * top)


def pinv(
    A: Tensor,
    *,
    atol: Any = None,
    rtol: Any = None,
    hermitian: bool = False,
    out: Tensor | None = None,
) -> Tensor:
    """The Moore–Penrose pseudo-inverse V diag(1/s) Uᵀ over the singular values above
    max(atol, rtol · s_max) (rtol defaults to eps · max(m, n))."""
    U, S, Vh = svd(A, full_matrices=False)
    keep = _plain(S.detach().numpy() > _cutoff(S, A.shape, atol, rtol))
    inverse = (1 / S.masked_fill(keep.logical_not(), 1.0)).masked_fill(keep.logical_not(), 0.0)
    return (Vh.mT * inverse.unsqueeze(-2)) @ U.mT


def matrix_rank(
    A: Tensor, *, atol: Any = None, rtol: Any = None, hermitian: bool = False, tol: Any = None,
    out: Tensor | None = None,
) -> Tensor:  # fmt: skip
    """How many singular values exceed max(atol, rtol · s_max)."""
    if tol is not None:
        atol, rtol = tol, 0.0
    s = svdvals(_float(A).detach())
    return _plain((s.numpy() > _cutoff(s, A.shape, atol, rtol)).sum(-1).astype(np.int64))


def lstsq(A: Tensor, B: Tensor, rcond: Any = None, *, driver: Any = None) -> Any:
    """The least-squares solution X minimising ‖A X - B‖ (the minimum-norm one when A is
    rank-deficient): pinv(A) @ B. As torch's default CPU driver ('gelsy'), residuals and
    singular_values are empty and rank is given."""
    A = _float(A)
    vector = B.ndim == A.ndim - 1
    rhs = B.unsqueeze(-1) if vector else B
    solution = pinv(A, rtol=rcond) @ rhs.to(A.dtype)
    empty = _plain(np.zeros((0,), dtype=A.dtype))
    return lstsq_result(solution.squeeze(-1) if vector else solution, empty,
                        matrix_rank(A, rtol=rcond), empty)  # fmt: skip


def vector_norm(
    x: Tensor, ord: Any = 2, dim: Any = None, keepdim: bool = False, *, dtype: DTypeLike = None,
    out: Tensor | None = None,
) -> Tensor:  # fmt: skip
    """(Σ|x|^ord)^(1/ord) over dim (every element when None); inf/-inf: max/min |x|; 0: the
    count of non-zeros."""
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: Expected a non-string ord, got {ord}")
    x = x if dtype is None else x.to(dtype)
    return x.norm(2 if ord == 2 else ord, dim, keepdim)


def _matrix_dims(A: Tensor, dim: Any) -> tuple[int, int]:
    a, b = (builtins.int(d) % A.ndim for d in dim)
    return a, b


def matrix_norm(
    A: Tensor, ord: Any = "fro", dim: Any = (-2, -1), keepdim: bool = False, *,
    dtype: DTypeLike = None, out: Tensor | None = None,
) -> Tensor:  # fmt: skip
    """'fro' √Σa², 'nuc' Σs, 2 / -2 the largest / smallest singular value, 1 / -1 the
    max / min column sum of |a|, inf / -inf the max / min row sum."""
    A = _float(A if dtype is None else A.to(dtype))
    r, c = _matrix_dims(A, dim)
    if ord == "fro":
        return A.norm("fro", (r, c), keepdim)
    if ord in ("nuc", 2, -2):
        moved = A.movedim((r, c), (-2, -1))
        s = svdvals(moved)
        value = s.sum(-1) if ord == "nuc" else s.amax(-1) if ord == 2 else s.amin(-1)
        if keepdim:
            value = value.unsqueeze(-1).unsqueeze(-1).movedim((-2, -1), (r, c))
        return value
    if ord in (1, -1, np.inf, -np.inf):
        summed, other = (r, c) if ord in (1, -1) else (c, r)
        sums = A.abs().sum(summed, keepdim=True)
        value = sums.amax(other, keepdim=True) if ord > 0 else sums.amin(other, keepdim=True)
        return value if keepdim else value.squeeze(builtins.max(r, c)).squeeze(builtins.min(r, c))
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def norm(
    A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: DTypeLike = None,
    out: Tensor | None = None,
) -> Tensor:  # fmt: skip
    """vector_norm for one dim (or a flattened input), matrix_norm for two."""
    if dim is not None and not isinstance(dim, builtins.int) and len(dim) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if dim is None and A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


def matrix_power(A: Tensor, n: int, *, out: Tensor | None = None) -> Tensor:
    """A^n by repeated squaring (n < 0: the inverse's power, n = 0: the identity)."""
    if n < 0:
        A, n = inv(A), -n
    result = None
    base = A
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    if result is None:
        eye = np.broadcast_to(np.eye(A.shape[-1], dtype=A.dtype), tuple(A.shape))
        return _plain(eye.copy()) + A * 0
    return result


def matrix_exp(A: Tensor) -> Tensor:
    """exp(A) = Σ Aᵏ/k! (scaling and squaring)."""
    return MatrixExp.apply(_float(A))


def cond(A: Tensor, p: Any = None, *, out: Tensor | None = None) -> Tensor:
    """‖A‖_p ‖A⁻¹‖_p; p None or 2: s_max / s_min (also for non-square A)."""
    if p in (None, 2, -2):
        s = svdvals(A)
        ratio = s.amax(-1) / s.amin(-1)
        return 1 / ratio if p == -2 else ratio
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


def cross(input: Tensor, other: Tensor, *, dim: int = -1, out: Tensor | None = None) -> Tensor:
    return input.cross(other, dim)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1, out: Tensor | None = None) -> Tensor:
    """Σ x·y along dim."""
    return (x * y).sum(dim)


def multi_dot(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor:
    """A @ B @ C ... (a 1-D first / last tensor is a row / column vector)."""
    result = tensors[0]
    for t in tensors[1:]:
        result = result @ t
    return result


def matmul(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    return input @ other


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    return A.diagonal(offset, dim1, dim2)


def vander(x: Tensor, *, N: int | None = None) -> Tensor:
    """Columns x⁰, x¹, ..., x^(N-1) (increasing powers, as torch)."""
    count = x.shape[-1] if N is None else N
    columns = [x.unsqueeze(-1) ** k for k in range(count)]
    from chainrule.joining import cat

    return cat(columns, -1) if columns else x.unsqueeze(-1)[..., :0]


def __getattr__(name: str) -> object:
    from chainrule.coverage import missing

    raise missing("torch.linalg", name)
