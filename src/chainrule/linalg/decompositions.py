"""The matrix functions with a backward of their own (PyTorch's autograd.Function protocol),
batched over leading dims; everything else in chainrule.linalg composes these with
recorded ops.

Gradients, for a loss L with upstream gradients Ḡ (ᵀ transposes the last two dims):

* inv: Y = A⁻¹, Ā = -Yᵀ Ḡ Yᵀ.
* det: Ā = Ḡ · det A · A⁻ᵀ; slogdet's log|det|: Ā = Ḡ A⁻ᵀ (A invertible).
* solve: X = A⁻¹ B, B̄ = A⁻ᵀ Ḡ, Ā = -B̄ Xᵀ.
* cholesky: A = L Lᵀ, P = Φ(Lᵀ L̄) (lower triangle, diagonal halved),
  S = L⁻ᵀ P L⁻¹, Ā = (S + Sᵀ)/2.
* qr (reduced, m >= n): M = R R̄ᵀ - Q̄ᵀ Q, Ā = (Q̄ + Q copyltu(M)) R⁻ᵀ, where copyltu
  mirrors the lower triangle of M onto the upper one.
* eigh: A = V diag(w) Vᵀ, Ā = V (diag(w̄) + F ∘ skew(Vᵀ V̄)) Vᵀ with
  F_ij = 1/(w_j - w_i) (i ≠ j), skew(X) = (X - Xᵀ)/2: defined for distinct eigenvalues.
* det through the SVD A = U S Vᵀ: Ā = Ḡ · sign · U diag(Π_{k≠i} s_k) Vᵀ (the adjugate's
  transpose, finite for a singular A too).
* svd (reduced): F_ij = 1/(s_j² - s_i²), J = F ∘ (UᵀŪ - ŪᵀU), K = F ∘ (VᵀV̄ - V̄ᵀV),
  Ā = U (J S + diag(s̄) + S K) Vᵀ + (I - UUᵀ) Ū S⁻¹ Vᵀ + U S⁻¹ V̄ᵀ (I - VVᵀ):
  distinct, non-zero singular values.
* matrix_exp: Ā is the top-right block of exp([[Aᵀ, Ḡ], [0, Aᵀ]]).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import chainrule.autograd_function  # noqa: F401 - gives Function subclasses torch's apply
from chainrule.autograd import Function
from chainrule.tensor import Tensor

Array = np.ndarray
# PyTorch's protocol (static forward(ctx, ...) / backward(ctx, ...)) on the engine's class,
# whose own forward/backward signatures differ: typed as Any so mypy checks neither
TorchFunction: Any = Function


def _np(t: Tensor) -> Array:
    return t.detach().numpy()


def _t(a: Array, like: Array) -> Tensor:
    return Tensor._make(np.array(a, dtype=like.dtype, order="C"), False)


def _mT(a: Array) -> Array:
    return np.swapaxes(a, -1, -2)


def _check_square(a: Array, name: str) -> None:
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise RuntimeError(
            f"linalg.{name}: A must be batches of square matrices, but they are "
            f"{a.shape[-2] if a.ndim > 1 else 1} by {a.shape[-1]} matrices"
        )


class LinAlgError(RuntimeError):
    """A matrix the function cannot handle (singular, not positive-definite), as torch's."""


def _singular(name: str) -> RuntimeError:
    return LinAlgError(
        f"linalg.{name}: The diagonal element 1 is zero, the inversion could not be "
        "completed because the input matrix is singular."
    )


class Inv(TorchFunction):
    @staticmethod
    def forward(ctx: Any, A: Tensor) -> Tensor:
        a = _np(A)
        _check_square(a, "inv")
        try:
            y = np.linalg.inv(a)
        except np.linalg.LinAlgError:
            raise _singular("inv") from None
        out = _t(y, a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        (out,) = ctx.saved_tensors
        y, g = _np(out), _np(grad)
        return _t(-_mT(y) @ g @ _mT(y), g)


class Det(TorchFunction):
    @staticmethod
    def forward(ctx: Any, A: Tensor) -> Tensor:
        a = _np(A)
        _check_square(a, "det")
        ctx.save_for_backward(A)
        return _t(np.linalg.det(a), a)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        (A,) = ctx.saved_tensors
        a, g = _np(A), _np(grad)
        # det · A⁻ᵀ is the adjugate's transpose: finite for singular A via the SVD
        u, s, vh = np.linalg.svd(a)
        others = np.prod(s[..., None, :] + np.eye(s.shape[-1]) * (1 - s[..., None, :]), -1)
        sign = np.sign(np.linalg.det(u) * np.linalg.det(vh))
        cofactor = _mT((u * (others * sign[..., None])[..., None, :]) @ vh)
        return _t(g[..., None, None] * _mT(cofactor), g)


class LogAbsDet(TorchFunction):
    @staticmethod
    def forward(ctx: Any, A: Tensor) -> Tensor:
        a = _np(A)
        _check_square(a, "slogdet")
        ctx.save_for_backward(A)
        return _t(np.linalg.slogdet(a)[1], a)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        (A,) = ctx.saved_tensors
        a, g = _np(A), _np(grad)
        return _t(g[..., None, None] * _mT(np.linalg.inv(a)), g)


class Solve(TorchFunction):
    """X = A⁻¹ B for B a batch of matrices (vectors are given a column by the caller)."""

    @staticmethod
    def forward(ctx: Any, A: Tensor, B: Tensor) -> Tensor:
        a, b = _np(A), _np(B)
        _check_square(a, "solve")
        try:
            x = np.linalg.solve(a, b)
        except np.linalg.LinAlgError:
            raise _singular("solve") from None
        out = _t(x, a)
        ctx.save_for_backward(A, out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, Tensor]:
        A, X = ctx.saved_tensors
        a, x, g = _np(A), _np(X), _np(grad)
        gb = np.linalg.solve(_mT(a), g)
        return _t(-gb @ _mT(x), g), _t(gb, g)


def _phi(x: Array) -> Array:
    """Lower triangle with the diagonal halved."""
    return np.tril(x) - 0.5 * np.eye(x.shape[-1]) * x


class Cholesky(TorchFunction):
    @staticmethod
    def forward(ctx: Any, A: Tensor) -> Tensor:
        a = _np(A)
        _check_square(a, "cholesky")
        try:
            low = np.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            raise LinAlgError(
                "linalg.cholesky: The factorization could not be completed because the "
                "input is not positive-definite."
            ) from None
        out = _t(low, a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        (L,) = ctx.saved_tensors
        low, g = _np(L), _np(grad)
        inv = np.linalg.inv(low)
        s = _mT(inv) @ _phi(_mT(low) @ g) @ inv
        return _t(0.5 * (s + _mT(s)), g)


class QR(TorchFunction):
    @staticmethod
    def forward(ctx: Any, A: Tensor, mode: str) -> tuple[Tensor, Tensor]:
        a = _np(A)
        q, r = np.linalg.qr(a, mode="complete" if mode == "complete" else "reduced")
        Q, R = _t(q, a), _t(r, a)
        ctx.mode, ctx.wide = mode, a.shape[-2] < a.shape[-1]
        ctx.save_for_backward(Q, R)
        return Q, R

    @staticmethod
    def backward(ctx: Any, gq: Tensor, gr: Tensor) -> tuple[Tensor, None]:
        if ctx.wide or ctx.mode == "complete":
            raise RuntimeError(
                "chainrule's linalg.qr backward needs mode='reduced' and m >= n; see "
                "docs/pytorch-coverage.md"
            )
        Q, R = ctx.saved_tensors
        q, r, g_q, g_r = _np(Q), _np(R), _np(gq), _np(gr)
        m = r @ _mT(g_r) - _mT(g_q) @ q
        copyltu = np.tril(m) + _mT(np.tril(m, -1))
        b = g_q + q @ copyltu
        # b R⁻ᵀ = solve(R, bᵀ)ᵀ
        return _t(_mT(np.linalg.solve(r, _mT(b))), g_q), None


class Eigh(TorchFunction):
    @staticmethod
    def forward(ctx: Any, A: Tensor, UPLO: str) -> tuple[Tensor, Tensor]:
        a = _np(A)
        _check_square(a, "eigh")
        w, v = np.linalg.eigh(a, UPLO="U" if UPLO == "U" else "L")
        W, V = _t(w, a), _t(v, a)
        ctx.save_for_backward(W, V)
        return W, V

    @staticmethod
    def backward(ctx: Any, gw: Tensor, gv: Tensor) -> tuple[Tensor, None]:
        W, V = ctx.saved_tensors
        w, v, g_w, g_v = _np(W), _np(V), _np(gw), _np(gv)
        n = w.shape[-1]
        with np.errstate(divide="ignore"):
            f = 1 / (w[..., None, :] - w[..., :, None])
        f[..., np.arange(n), np.arange(n)] = 0
        vg = _mT(v) @ g_v
        inner = f * 0.5 * (vg - _mT(vg)) + g_w[..., None, :] * np.eye(n)
        return _t(v @ inner @ _mT(v), g_w), None


class SVD(TorchFunction):
    """Reduced SVD: A (.., m, n) = U (.., m, k) diag(S) Vh (.., k, n), k = min(m, n)."""

    @staticmethod
    def forward(ctx: Any, A: Tensor, full_matrices: bool) -> tuple[Tensor, Tensor, Tensor]:
        a = _np(A)
        u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
        U, S, Vh = _t(u, a), _t(s, a), _t(vh, a)
        ctx.full = full_matrices and a.shape[-1] != a.shape[-2]
        ctx.save_for_backward(U, S, Vh)
        return U, S, Vh

    @staticmethod
    def backward(ctx: Any, gu: Tensor, gs: Tensor, gvh: Tensor) -> tuple[Tensor, None]:
        U, S, Vh = ctx.saved_tensors
        u, s, vh = _np(U), _np(S), _np(Vh)
        g_u, g_s, g_vh = _np(gu), _np(gs), _np(gvh)
        if ctx.full and (g_u.any() or g_vh.any()):
            raise RuntimeError(
                "linalg.svd: The derivative of linalg.svd is not implemented when "
                "full_matrices=True; use full_matrices=False"
            )
        k = s.shape[-1]
        u, vh, g_u, g_vh = u[..., :k], vh[..., :k, :], g_u[..., :k], g_vh[..., :k, :]
        v, g_v = _mT(vh), _mT(g_vh)
        eye = np.eye(k)
        with np.errstate(divide="ignore"):
            f = 1 / (s[..., None, :] ** 2 - s[..., :, None] ** 2)
        f[..., np.arange(k), np.arange(k)] = 0
        j = f * (_mT(u) @ g_u - _mT(g_u) @ u)
        kk = f * (_mT(v) @ g_v - _mT(g_v) @ v)
        smat = s[..., None, :] * eye
        inner = j @ smat + g_s[..., None, :] * eye + smat @ kk
        grad = u @ inner @ vh
        inv_s = 1 / s
        m, n = u.shape[-2], v.shape[-2]
        grad = grad + (np.eye(m) - u @ _mT(u)) @ (g_u * inv_s[..., None, :]) @ vh
        grad = grad + (u * inv_s[..., None, :]) @ _mT(g_v) @ (np.eye(n) - v @ _mT(v))
        return _t(grad, g_s), None


def _expm(a: Array) -> Array:
    """exp(A) by scaling and squaring: Taylor to 20 terms of A / 2^s with ||A/2^s|| <= 1/2."""
    norm = float(np.max(np.abs(a).sum(-2))) if a.size else 0.0
    squarings = max(0, int(np.ceil(np.log2(norm / 0.5)))) if norm > 0.5 else 0
    scaled = a / 2.0**squarings
    eye = np.broadcast_to(np.eye(a.shape[-1]), a.shape)
    term, total = eye.copy(), eye.copy()
    for k in range(1, 21):
        term = term @ scaled / k
        total = total + term
    for _ in range(squarings):
        total = total @ total
    return total


class MatrixExp(TorchFunction):
    @staticmethod
    def forward(ctx: Any, A: Tensor) -> Tensor:
        a = _np(A)
        _check_square(a, "matrix_exp")
        ctx.save_for_backward(A)
        return _t(_expm(a.astype(np.float64)), a)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        (A,) = ctx.saved_tensors
        a, g = _np(A).astype(np.float64), _np(grad).astype(np.float64)
        n = a.shape[-1]
        block = np.zeros(a.shape[:-2] + (2 * n, 2 * n))
        block[..., :n, :n] = _mT(a)
        block[..., n:, n:] = _mT(a)
        block[..., :n, n:] = g
        return _t(_expm(block)[..., :n, n:], _np(grad))
