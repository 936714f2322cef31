"""Matrix products: matmul and the fused linear layer op."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.autograd import Function
from chainrule.kernels import FLOAT_DTYPES, numba_enabled
from chainrule.kernels.bias import add_bias_loop, column_sum
from chainrule.kernels.blas import OPENBLAS_SPLITS_AT, PARALLEL_MACS
from chainrule.kernels.blas import matmul as one_thread_matmul


def _swap_last(x: np.ndarray) -> np.ndarray:
    return x.swapaxes(-1, -2)


def few_rows_first(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether `batch_product` computes a @ b as (bᵀ aᵀ)ᵀ: a is a 2-D batch of at most half
    as many rows as the product has columns (a (m, k), b (k, n), 2m <= n). The kernels
    below test the same condition inline (a call costs as much as a small ufunc)."""
    return a.ndim == 2 and 2 * a.shape[0] <= b.shape[-1]


def batch_product(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """a @ b for a batch of rows a (m, k) and a weight matrix b (k, n) -> (m, n), into `out`
    (None: a new array) of the result's shape: for a short batch the transpose of a
    C-ordered (n, m) array (the layout this product gives; a C-ordered `out` there would be
    written through a copy).

    When the batch is short (2m <= n) the product is computed as (bᵀ aᵀ)ᵀ and returned as
    that transposed view (column-major). Both are one BLAS gemm on the same memory, with the
    same numbers (each entry is the same dot product), but OpenBLAS, which NumPy's wheels
    ship, runs the short-batch shape much faster that way: on the benchmark machine
    (2-core AMD EPYC) 32x784 @ 784x256 took 96 us instead of 140 us. The column-major result
    flows on: the gradient that comes back to it is made column-major by the same rule, so
    elementwise ops (ReLU and its mask) see one layout.

    A 2-D product too short to share between BLAS threads runs on one thread
    (`chainrule.kernels.blas`: the same numbers to float32 rounding).
    """
    if a.ndim != 2:
        return np.matmul(a, b, out)
    product = _product(a.size * b.shape[-1])
    if 2 * a.shape[0] <= b.shape[-1]:  # few_rows_first(a, b)
        return product(b.T, a.T, None if out is None else out.T).T
    return product(a, b, out)


def _product(macs: int) -> Any:
    """The matmul for a 2-D product of `macs` multiply-adds: np.matmul, or the one-thread
    matmul of `chainrule.kernels.blas` for a product too short to share between BLAS
    threads. The three products of a Linear layer (y = x Wᵀ, dx = G W, dW = Gᵀ x) all have
    rows x inputs x outputs multiply-adds, so one choice serves each call."""
    return one_thread_matmul if OPENBLAS_SPLITS_AT <= macs < PARALLEL_MACS else np.matmul


class MatMul(Function):
    """a @ b with NumPy's rules (1-D vectors, batched stacks broadcast).

    For C = A B: dA = G Bᵀ and dB = Aᵀ G. Vectors are treated as 1-row / 1-column matrices
    and the gradients are squeezed back; batch dims are summed back by the engine.
    """

    saved = ((0, 1), (1, 0))

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return np.asarray(a @ b)

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        a, b = self.a, self.b
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g = grad  # restore the dims the vectors dropped: b's column first, then a's row
        if b.ndim == 1:
            g = np.expand_dims(g, -1)
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        need_a, need_b = self.needs_input_grad
        grad_a = grad_b = None
        if need_a:
            grad_a = g @ _swap_last(b2)
            if a.ndim == 1:
                grad_a = grad_a[..., 0, :]
        if need_b:
            grad_b = _swap_last(a2) @ g
            if b.ndim == 1:
                grad_b = grad_b[..., 0]
        return grad_a, grad_b

    def backward_graph(self, grad: Any, out: Any) -> tuple[Any, Any]:
        a, b = self.graph_inputs
        a2 = a.unsqueeze(0) if a.ndim == 1 else a
        b2 = b.unsqueeze(1) if b.ndim == 1 else b
        g = grad
        if b.ndim == 1:
            g = g.unsqueeze(-1)
        if a.ndim == 1:
            g = g.unsqueeze(-2)
        need_a, need_b = self.needs_input_grad
        grad_a = grad_b = None
        if need_a:
            grad_a = g @ b2.transpose(-1, -2)
            if a.ndim == 1:
                grad_a = grad_a.squeeze(-2)
        if need_b:
            grad_b = a2.transpose(-1, -2) @ g
            if b.ndim == 1:
                grad_b = grad_b.squeeze(-1)
        return grad_a, grad_b


def _plain(a: np.ndarray) -> bool:
    """Whether `a` is C- or F-contiguous: a product `ndarray.dot` may take (see
    `linear_forward`); a strided view (a column slice) stays with np.matmul, whose loop for
    those strides sums in another order than dot's copy-then-gemm."""
    flags = a.flags
    return flags.c_contiguous or flags.f_contiguous


def linear_forward(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None,
    out: np.ndarray | None = None, short: bool | None = None,
) -> np.ndarray:  # fmt: skip
    """y = x Wᵀ + b: x (..., in), W (out, in), b (out,) or None -> y (..., out).

    The product is `batch_product`'s: a short 2-D batch (`few_rows_first`) as (W xᵀ)ᵀ,
    column-major; then b is added in place. `out`: y's buffer, laid out as that product
    gives it (None: a new array). `short`: whether the batch is short, from a caller that
    planned its buffers for a 2-D batch (compile_step); None tests it here. (The test costs
    about as much as a small ufunc: a program that runs every step pays it once.)

    A new 2-D product of contiguous operands is made by ``ndarray.dot`` rather than
    np.matmul: both make the same BLAS call (gemm, or gemv for a vector), so the same
    numbers bit for bit and the same layout, but dot skips the ufunc machinery (0.7 us
    instead of 1.7 us for 8x8 @ 8x8; the eager step of a small network makes three
    products per layer). Only products OpenBLAS runs on one thread by itself (fewer than
    `OPENBLAS_SPLITS_AT` multiply-adds), where the call is what costs: a larger product, one
    given `out` or a strided operand keeps np.matmul (and `kernels.blas`'s thread choice)."""
    if x.ndim != 2:  # a batch of batches (or one row): NumPy's matmul, then NumPy's add
        if short:
            y = np.matmul(weight, x.T, None if out is None else out.T).T
        else:
            y = np.matmul(x, weight.T, out)
    else:
        outputs = weight.shape[0]
        if short is None:
            short = 2 * x.shape[0] <= outputs  # few_rows_first(x, Wᵀ)
        macs = x.size * outputs
        if macs < OPENBLAS_SPLITS_AT and out is None and _plain(x) and _plain(weight):
            product: Any = None  # ndarray.dot: a product whose call costs more than its sums
        else:
            product = _product(macs)
        if product is None:
            y = weight.dot(x.T).T if short else x.dot(weight.T)  # (W xᵀ)ᵀ for a short batch
        elif short:
            y = product(weight, x.T, None if out is None else out.T).T
        else:
            y = product(x, weight.T, out)
        if bias is not None:
            # add_bias_fits(y, bias), inline: y is 2-D, an ndarray when made here
            if (
                type(bias) is np.ndarray
                and bias.shape == (outputs,)
                and bias.dtype == y.dtype
                and y.dtype in FLOAT_DTYPES
                and type(y) is np.ndarray
                and numba_enabled()
            ):
                add_bias_loop(y, bias)  # one compiled loop (chainrule.kernels.bias), same sums
            else:
                np.add(y, bias, y)
        return y
    if bias is not None:
        np.add(y, bias, y)
    return y


def linear_backward(
    grad: np.ndarray, x: np.ndarray, weight: np.ndarray, needs: tuple[bool, ...],
    dx: np.ndarray | None = None, dw: np.ndarray | None = None, db: np.ndarray | None = None,
    short: bool | None = None,
) -> tuple[np.ndarray | None, ...]:  # fmt: skip
    """dx = G W, dW = Gᵀ x, db = Σ G over all but the last dim, for y = x Wᵀ + b.

    Shapes: G (..., out), x (..., in), W (out, in) -> dx (..., in), dW (out, in), db (out,).
    `needs` says which of (x, W[, b]) want a gradient (None for the others; two entries:
    a layer without bias, two results). dx, dw, db: buffers for the results (None: new
    arrays); dx laid out as `batch_product(G, W)` gives it: column-major for a short 2-D
    batch. `short`: as in `linear_forward`, for G and W (None: tested here). New 2-D
    small products of contiguous operands are made by ``ndarray.dot``, as in `linear_forward`
    (the same BLAS calls, the same numbers)."""
    if short is None:
        short = grad.ndim == 2 and 2 * grad.shape[0] <= weight.shape[1]  # few_rows_first
    # one BLAS thread for products too short to share (chainrule.kernels.blas); dx, dW and
    # the forward product all have rows x inputs x outputs multiply-adds
    macs = grad.size * weight.shape[1]
    # dot fits; `_plain` inline (flags.forc: C- or F-contiguous), and the matmul chosen only
    # where one runs: the eager step of a small network passes here for every layer
    plain_grad = macs < OPENBLAS_SPLITS_AT and grad.ndim == 2 and grad.flags.forc
    grad_x = None
    if needs[0]:  # batch_product(grad, weight, dx), inline (a call costs a small ufunc)
        if dx is None and plain_grad and weight.flags.forc:
            grad_x = weight.T.dot(grad.T).T if short else grad.dot(weight)
        elif short:
            grad_x = _product(macs)(weight.T, grad.T, None if dx is None else dx.T).T
        elif grad.ndim == 2:
            grad_x = _product(macs)(grad, weight, dx)
        else:
            grad_x = np.matmul(grad, weight, dx)
    if grad.ndim != 2:  # (..., out): fold the leading dims into one batch dim
        grad, x = grad.reshape(-1, grad.shape[-1]), x.reshape(-1, x.shape[-1])
    grad_w = None
    if needs[1]:
        if dw is None and plain_grad and x.flags.forc:
            grad_w = grad.T.dot(x)
        else:
            grad_w = _product(macs)(grad.T, x, dw)
    if len(needs) == 2:
        return grad_x, grad_w
    return grad_x, grad_w, column_sum(grad, db) if needs[2] else None  # NumPy's order


class Linear(Function):
    """y = x Wᵀ + b, fused into one node (one forward, one backward): the kernels
    `linear_forward` and `linear_backward` (which `compile_step`'s programs call too).

    Shapes: x (..., in), W (out, in), b (out,) -> y (..., out).
    Backward: dx = G W, dW = Gᵀ x, db = Σ G over all but the last dim.
    """

    saved = ((0, 1), (1, 0))

    def forward(
        self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None
    ) -> np.ndarray:
        self.x, self.weight = x, weight
        return linear_forward(x, weight, bias)

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        return linear_backward(grad, self.x, self.weight, self.needs_input_grad)

    def backward_graph(self, grad: Any, out: Any) -> tuple[Any, ...]:
        x, weight = self.graph_inputs[0], self.graph_inputs[1]
        needs = self.needs_input_grad
        grad_x = grad @ weight if needs[0] else None
        rows = grad.reshape(-1, grad.shape[-1])
        grad_w = rows.T @ x.reshape(-1, x.shape[-1]) if needs[1] else None
        if len(needs) == 2:
            return grad_x, grad_w
        return grad_x, grad_w, rows.sum(0) if needs[2] else None
