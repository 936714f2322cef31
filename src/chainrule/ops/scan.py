"""Products, running sums and scatters: torch.prod, cumsum, cumprod, scatter, einsum.

Each forward sits next to its derivative, as in the other op files:

* prod: d(Π x)/dx_i = Π_{k≠i} x_k, computed with exclusive running products from both
  ends so that a zero among the x_k needs no division;
* cumsum: y_j = Σ_{i≤j} x_i, so dL/dx_i = Σ_{j≥i} g_j (a reversed cumsum);
* cumprod: y_j = Π_{i≤j} x_i, dL/dx_i = Σ_{j≥i} g_j · y_j / x_i (exact for zeros too);
* scatter: out = x with out[index] = src; x's gradient is 0 where it was overwritten and
  src's gradient is the upstream gradient gathered back at `index`;
* einsum: each operand's gradient is an einsum of the upstream gradient with the others.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.autograd import Function


def _exclusive_products(x: np.ndarray, axis: int) -> np.ndarray:
    """Π_{k≠i} x_k along `axis`, for every i, without dividing."""
    moved = np.moveaxis(x, axis, -1)
    ones = np.ones(moved.shape[:-1] + (1,), dtype=x.dtype)
    left = np.cumprod(np.concatenate([ones, moved[..., :-1]], axis=-1), axis=-1)
    right = np.flip(
        np.cumprod(np.concatenate([ones, np.flip(moved, -1)[..., :-1]], axis=-1), axis=-1), -1
    )
    return np.moveaxis(left * right, -1, axis)


class Prod(Function):
    """Π x along `axis` (all elements when None)."""

    saved = ((0, None),)

    def forward(self, x: np.ndarray, axis: int | None, keepdims: bool) -> np.ndarray:
        self.x, self.axis, self.keepdims = x, axis, keepdims
        return np.prod(x, axis=axis, keepdims=keepdims)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        x = self.x
        if self.axis is None:
            others = _exclusive_products(x.reshape(-1), 0).reshape(x.shape)
            return grad * others
        if not self.keepdims:
            grad = np.expand_dims(grad, self.axis)
        return grad * _exclusive_products(x, self.axis)


class Cumsum(Function):
    """Running sum along `axis`."""

    def forward(self, x: np.ndarray, axis: int) -> np.ndarray:
        self.axis = axis
        return np.cumsum(x, axis=axis, dtype=x.dtype)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return np.flip(np.cumsum(np.flip(grad, self.axis), axis=self.axis), self.axis)


class Cumprod(Function):
    """Running product along `axis`."""

    saved = ((0, None), (-1, None))

    def forward(self, x: np.ndarray, axis: int) -> np.ndarray:
        self.x, self.axis = x, axis
        self.out = np.cumprod(x, axis=axis, dtype=x.dtype)
        return self.out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        x, axis = self.x, self.axis
        if np.all(x != 0):
            weighted = np.flip(np.cumsum(np.flip(grad * self.out, axis), axis=axis), axis)
            return weighted / x
        # with zeros: for each i, Σ_{j≥i} g_j Π_{k≤j, k≠i} x_k, by replacing x_i with 1
        moved_x, moved_g = np.moveaxis(x, axis, -1), np.moveaxis(grad, axis, -1)
        result = np.empty_like(moved_x)
        for i in range(moved_x.shape[-1]):
            without = moved_x.copy()
            without[..., i] = 1
            running = np.cumprod(without, axis=-1)
            result[..., i] = (moved_g[..., i:] * running[..., i:]).sum(-1)
        return np.moveaxis(result, -1, axis)


def _grid(index: np.ndarray, axis: int) -> tuple[Any, ...]:
    """The full index tuple that addresses out[..., index[...], ...] along `axis`."""
    grid: list[Any] = list(np.indices(index.shape, sparse=True))
    grid[axis] = index
    return tuple(grid)


class Scatter(Function):
    """out = x; out[index[i][j]][j] = src[i][j] (dim 0) — or += with add=True."""

    def forward(
        self, x: np.ndarray, src: np.ndarray, index: np.ndarray, axis: int, add: bool
    ) -> np.ndarray:
        src = (
            np.broadcast_to(src, index.shape)
            if src.ndim == 0
            else src[tuple(slice(0, n) for n in index.shape)]
        )
        self.index, self.axis, self.add, self.src_shape = index, axis, add, src.shape
        out = x.copy()
        where = _grid(index, axis)
        if add:
            np.add.at(out, where, src)
        else:
            out[where] = src
        return out

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        need_x, need_src = self.needs_input_grad
        where = _grid(self.index, self.axis)
        grad_x = grad_src = None
        if need_x:
            grad_x = grad.copy()
            if not self.add:
                grad_x[where] = 0
        if need_src:
            grad_src = grad[where]
        return grad_x, grad_src


class Einsum(Function):
    """np.einsum with explicit output subscripts ('ij,jk->ik'); operands are inputs."""

    saved = tuple((k, None) for k in range(16))  # every operand (up to 16)

    def forward(self, *arrays: np.ndarray, inputs: tuple[str, ...], output: str) -> np.ndarray:
        self.arrays, self.terms, self.output = arrays, inputs, output
        return np.asarray(np.einsum(",".join(inputs) + "->" + output, *arrays))

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        grads: list[np.ndarray | None] = []
        for k, needed in enumerate(self.needs_input_grad):
            if not needed:
                grads.append(None)
                continue
            target = self.terms[k]
            others = [
                (s, a)
                for i, (s, a) in enumerate(zip(self.terms, self.arrays, strict=True))
                if i != k
            ]
            available = set(self.output).union(*(s for s, _ in others))
            letters = "".join(dict.fromkeys(c for c in target if c in available))
            spec = ",".join([self.output, *(s for s, _ in others)]) + "->" + letters
            partial = np.einsum(spec, grad, *(a for _, a in others))
            # letters only in this operand were summed away: broadcast back along them;
            # a repeated letter (a diagonal) gets the gradient on its diagonal only
            shape = self.arrays[k].shape
            full = np.zeros(shape, dtype=grad.dtype)
            sizes = dict(zip(target, shape, strict=True))
            expanded = np.einsum(
                letters + "->" + letters, partial
            )  # a fresh array in `letters` order
            view_letters = "".join(dict.fromkeys(target))
            for c in view_letters:
                if c not in letters:
                    expanded = np.expand_dims(expanded, -1)
                    letters += c
            order = [letters.index(c) for c in view_letters]
            expanded = np.broadcast_to(
                np.transpose(expanded, order), [sizes[c] for c in view_letters]
            )
            np.einsum(target + "->" + view_letters, full)[...] = expanded  # writes the view
            grads.append(full)
        return tuple(grads)


class LogCumSumExp(Function):
    """y_j = log Σ_{i≤j} exp(x_i) along `axis` (np.logaddexp.accumulate: no overflow).

    dy_j/dx_i = exp(x_i - y_j) for i ≤ j, so dL/dx_i = Σ_{j≥i} g_j exp(x_i - y_j), computed
    in float64 around the largest x (exact while the values span less than ~700).
    """

    saved = ((0, None), (-1, None))

    def forward(self, x: np.ndarray, axis: int) -> np.ndarray:
        self.x, self.axis = x, axis
        self.out = np.logaddexp.accumulate(x, axis=axis).astype(x.dtype, copy=False)
        return self.out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        x, out, axis = self.x.astype(np.float64), self.out.astype(np.float64), self.axis
        finite = x[np.isfinite(x)]
        shift = float(finite.max()) if finite.size else 0.0
        with np.errstate(over="ignore", invalid="ignore"):
            weighted = grad * np.exp(shift - out)
            tail = np.flip(np.cumsum(np.flip(weighted, axis), axis=axis), axis)
            return (np.exp(x - shift) * tail).astype(grad.dtype)
