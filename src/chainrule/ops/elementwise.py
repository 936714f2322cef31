"""Elementwise ops: each forward next to its local derivative.

Backward receives the upstream gradient `grad` (same shape as the output) and returns the
downstream gradient of each input: upstream x local derivative (the chain rule). Inputs of
different shapes are broadcast by NumPy in forward; the engine sums the gradients back to
each input's shape, so no op here deals with broadcasting.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.autograd import Function
from chainrule.kernels.activations import (
    fits,
    relu_forward_loop,
    relu_loop,
    sigmoid_argument_loop,
    sigmoid_finish_loop,
    sigmoid_loop,
    tanh_loop,
)


class Add(Function):
    """a + b. Add gate: distributes the upstream gradient unchanged to both inputs."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return grad, grad

    def backward_graph(self, grad: Any, out: Any) -> tuple[Any, Any]:
        return grad, grad


class Sub(Function):
    """a - b: d/da = 1, d/db = -1."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a - b

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return grad, (-grad if self.needs_input_grad[1] else None)

    def backward_graph(self, grad: Any, out: Any) -> tuple[Any, Any]:
        return grad, (-grad if self.needs_input_grad[1] else None)


class Mul(Function):
    """a * b. Mul gate: each input gets the upstream gradient times the *other* input."""

    saved = ((0, 1), (1, 0))

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return a * b

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        need_a, need_b = self.needs_input_grad
        return (grad * self.b if need_a else None, grad * self.a if need_b else None)

    def backward_graph(self, grad: Any, out: Any) -> tuple[Any, Any]:
        a, b = self.graph_inputs
        need_a, need_b = self.needs_input_grad
        return (grad * b if need_a else None, grad * a if need_b else None)


class Div(Function):
    """a / b: d/da = 1/b, d/db = -a/b²."""

    saved = ((0, 1), (1, None))

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return a / b

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        need_a, need_b = self.needs_input_grad
        grad_a = grad / self.b
        return (grad_a if need_a else None, -grad_a * self.a / self.b if need_b else None)

    def backward_graph(self, grad: Any, out: Any) -> tuple[Any, Any]:
        a, b = self.graph_inputs
        need_a, need_b = self.needs_input_grad
        return (grad / b if need_a else None, -grad * a / (b * b) if need_b else None)


class Neg(Function):
    """-a: d/da = -1."""

    def forward(self, a: np.ndarray) -> np.ndarray:
        return -a

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return -grad

    def backward_graph(self, grad: Any, out: Any) -> Any:
        return -grad


class Clone(Function):
    """A copy that keeps the graph: d/da = 1."""

    def forward(self, a: np.ndarray) -> np.ndarray:
        return a.copy()

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad

    def backward_graph(self, grad: Any, out: Any) -> Any:
        return grad


class Cast(Function):
    """A change of floating dtype; the gradient is cast back to the input's dtype."""

    def forward(self, a: np.ndarray, dtype: np.dtype) -> np.ndarray:
        self.input_dtype = a.dtype
        return a.astype(dtype)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad.astype(self.input_dtype)

    def backward_graph(self, grad: Any, out: Any) -> Any:
        return grad.to(self.input_dtype)


class PowScalar(Function):
    """x ** p for a number p: d/dx = p·x^(p-1)."""

    saved = ((0, None),)

    def forward(self, x: np.ndarray, exponent: float) -> np.ndarray:
        if isinstance(exponent, float) and x.dtype.kind != "f":
            x = x.astype(np.float32)
        self.x, self.exponent = x, exponent
        return x ** np.asarray(exponent, dtype=x.dtype)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        p = self.exponent
        if p == 0:  # a constant: 0 * x**-1 would be nan at x = 0
            return np.zeros_like(grad)
        if p == 2:
            return grad * 2 * self.x
        return grad * (p * self.x ** np.asarray(p - 1, dtype=self.x.dtype))

    def backward_graph(self, grad: Any, out: Any) -> Any:
        (x,) = self.graph_inputs
        p = self.exponent
        if p == 0:
            return grad * 0
        return grad * p * x ** (p - 1) if p != 2 else grad * 2 * x


class Pow(Function):
    """a ** b for tensors: d/da = b·a^(b-1), d/db = a^b · ln a."""

    saved = ((0, None), (1, None), (-1, 1))

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        self.out = a**b
        return self.out

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        need_a, need_b = self.needs_input_grad
        grad_a = grad_b = None
        if need_a:
            with np.errstate(divide="ignore", invalid="ignore"):
                # a ** 0 is constant: derivative 0 even at a = 0, not 0·0⁻¹ (as in PyTorch)
                grad_a = np.where(self.b == 0, 0, grad * self.b * self.a ** (self.b - 1))
        if need_b:
            with np.errstate(divide="ignore", invalid="ignore"):
                # 0 ** b has derivative 0 with respect to b where b > 0 (as in PyTorch)
                log_a = np.where((self.a == 0) & (self.b >= 0), 0, np.log(self.a))
            grad_b = grad * self.out * log_a
        return grad_a, grad_b

    def backward_graph(self, grad: Any, out: Any) -> tuple[Any, Any]:
        # away from the edge cases backward handles (b = 0, a = 0): d/da = b·a^(b-1),
        # d/db = a^b · ln a
        a, b = self.graph_inputs
        need_a, need_b = self.needs_input_grad
        grad_a = grad * b * a ** (b - 1) if need_a else None
        return grad_a, (grad * out * a.log() if need_b else None)


class Exp(Function):
    """eˣ: the derivative is the output itself, so forward saves the output."""

    saved = ((-1, None),)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.exp(x)
        return self.out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad * self.out

    def backward_graph(self, grad: Any, out: Any) -> Any:
        return grad * out


class Log(Function):
    """ln x: d/dx = 1/x."""

    saved = ((0, None),)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(x)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad / self.x

    def backward_graph(self, grad: Any, out: Any) -> Any:
        return grad / self.graph_inputs[0]


class Sqrt(Function):
    """√x: d/dx = 1 / (2√x)."""

    saved = ((-1, None),)

    def forward(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            self.out = np.sqrt(x)
        return self.out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return grad / (2 * self.out)

    def backward_graph(self, grad: Any, out: Any) -> Any:
        return grad / (2 * out)


class Abs(Function):
    """|x|: d/dx = sign(x) (0 at 0, as in PyTorch)."""

    saved = ((0, None),)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.abs(x)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad * np.sign(self.x)

    def backward_graph(self, grad: Any, out: Any) -> Any:
        return grad * grad._make(np.sign(self.x), False)


def tanh_forward(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """tanh x elementwise; `out` a buffer of x's shape (None: a new array)."""
    return np.tanh(x, out)


def _compiled_into(grad: Any, out: Any, into: Any) -> Any:
    """The array a compiled backward loop (chainrule.kernels.activations) writes, or None
    when NumPy's calls should run: numba off, not 2-D float arrays of one shape and dtype,
    or (for a new array) grad and out in different layouts, where NumPy's result layout,
    which later sums follow, is not simply out's."""
    if into is None:
        if not fits(grad, out, out) or grad.flags.f_contiguous != out.flags.f_contiguous:
            return None
        into = np.empty_like(out)
    elif not fits(grad, out, into):
        return None
    return into


def _run_loop(loop: Any, grad: np.ndarray, out: np.ndarray, into: np.ndarray) -> np.ndarray:
    """loop(grad, out, into) over memory in order: on the transposes when into is F-ordered."""
    if into.flags.f_contiguous and not into.flags.c_contiguous:
        loop(grad.T, out.T, into.T)
    else:
        loop(grad, out, into)
    return into


def tanh_backward(grad: np.ndarray, out: np.ndarray, into: np.ndarray | None = None) -> Any:
    """G · (1 - tanh²x), from the saved output `out` = tanh x; grad, out and `into` of one
    shape. `into` holds the temporaries and the result (None: new arrays, as
    ``grad * (1 - out * out)`` makes them). With numba, one compiled loop
    (chainrule.kernels.activations), the same numbers."""
    target = _compiled_into(grad, out, into)
    if target is not None:
        return _run_loop(tanh_loop, grad, out, target)
    local = np.multiply(out, out, into)
    local = np.subtract(1, local, into)
    return np.multiply(grad, local, into)


class Tanh(Function):
    """tanh x: d/dx = 1 - tanh²x (from the saved output); kernels `tanh_forward`,
    `tanh_backward` (which `compile_step`'s programs call too)."""

    saved = ((-1, None),)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = tanh_forward(x)
        return self.out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return tanh_backward(grad, self.out)

    def backward_graph(self, grad: Any, out: Any) -> Any:
        return grad * (1 - out * out)


def sigmoid_forward(
    x: np.ndarray,
    out: np.ndarray | None = None,
    e: Any = None,  # np.ndarray | None: given with out, or made with it
    d: Any = None,
    mask: Any = None,
) -> np.ndarray:
    """σ(x) = 1 / (1 + e⁻ˣ) elementwise, without overflow for large |x|: with e = e^-|x|,
    σ = 1/(1+e) where x >= 0 and e/(1+e) elsewhere.

    out, e, d (float, x's shape) and mask (bool, x's shape) are the buffers it writes
    (None: new arrays, laid out as x). With numba, for 2-D float32/float64 arrays: -|x| and
    then the two branches are compiled loops around NumPy's exp (d and mask unused), the
    same numbers."""
    if out is None:  # eager: new arrays (empty_like keeps x's layout; a 0-d x too)
        kind = np.result_type(x.dtype, np.float16)  # the float np.exp gives for x
        if fits(x, x, x):  # the compiled path needs e only
            out, e = np.empty_like(x), np.empty_like(x)
        else:
            out, e, d = np.empty_like(x, kind), np.empty_like(x, kind), np.empty_like(x, kind)
            mask = np.empty_like(x, bool)
    if fits(x, out, e):  # two compiled loops around NumPy's exp, the same numbers
        rows = x.T if x.flags.f_contiguous and not x.flags.c_contiguous else x  # in order
        power, result = (e.T, out.T) if rows is not x else (e, out)
        sigmoid_argument_loop(rows, power)
        np.exp(e, e)
        sigmoid_finish_loop(rows, power, result)
        return out
    np.negative(np.abs(x, e), e)
    np.exp(e, e)
    np.add(1, e, d)
    np.divide(e, d, out)  # e/(1+e): σ where x < 0
    np.copyto(out, np.divide(1, d, d), where=np.greater_equal(x, 0, mask))
    return out


stable_sigmoid = sigmoid_forward  # the name SiLU, the BCE losses and the playground use


def sigmoid_backward(
    grad: np.ndarray, out: np.ndarray, into: np.ndarray | None = None,
    scratch: np.ndarray | None = None,
) -> Any:  # fmt: skip
    """G · σ · (1 - σ), from the saved output `out` = σ(x), as (G·σ)·(1-σ); `into` holds
    G·σ and the result, `scratch` 1 - σ (None: new arrays). With numba, one compiled loop,
    the same numbers."""
    target = _compiled_into(grad, out, into)
    if target is not None:
        return _run_loop(sigmoid_loop, grad, out, target)
    local = np.multiply(grad, out, into)
    return np.multiply(local, np.subtract(1, out, scratch), into)


class Sigmoid(Function):
    """σ(x) = 1 / (1 + e⁻ˣ): d/dx = σ(x)(1 - σ(x)) (from the saved output); kernels
    `sigmoid_forward`, `sigmoid_backward`."""

    saved = ((-1, None),)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = sigmoid_forward(x)
        return self.out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return sigmoid_backward(grad, self.out)

    def backward_graph(self, grad: Any, out: Any) -> Any:
        return grad * out * (1 - out)


# Below this many values np.maximum's one call is cheaper than the loop's checks and
# dispatch (measured in one process, one thread, CPU time: 8x8 and 32x16 values ran at
# 0.5-0.7x with the loop, 64x32 at 0.95x, 128x128 at 1.3-1.7x).
RELU_LOOP_FROM = 4096


def relu_forward(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """max(x, 0) elementwise; `out` a buffer of x's shape (None: a new array, laid out as
    x). With numba, a 2-D C- or F-ordered float x of at least `RELU_LOOP_FROM` values: one
    compiled loop (chainrule.kernels.activations), the same numbers as
    ``np.maximum(x, 0)``."""
    if (type(x) is np.ndarray and x.size >= RELU_LOOP_FROM and x.ndim == 2
            and (x.flags.c_contiguous or x.flags.f_contiguous)
            and fits(x, x, x if out is None else out)):  # fmt: skip
        target = np.empty_like(x) if out is None else out
        relu_forward_loop(x, target)
        return target
    return np.maximum(x, 0, out=out)


def relu_backward(
    grad: np.ndarray, out: np.ndarray, into: np.ndarray | None = None,
    mask: np.ndarray | None = None,
) -> Any:  # fmt: skip
    """G · [out > 0], from the saved output `out` = max(x, 0); `into` holds the result and
    `mask` (bool) out > 0, both of out's shape (None: new arrays). With numba, one compiled
    loop (no mask), the same numbers."""
    target = _compiled_into(grad, out, into)
    if target is not None:
        return _run_loop(relu_loop, grad, out, target)
    return np.multiply(grad, np.greater(out, 0, mask), into)


class Relu(Function):
    """max(0, x): the gradient passes where x > 0 (a max gate against the constant 0);
    kernels `relu_forward`, `relu_backward`."""

    saved = ((-1, None),)

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = relu_forward(x)
        self.out = out
        return out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return relu_backward(grad, self.out)

    def backward_graph(self, grad: Any, out: Any) -> Any:
        return grad * grad._make((self.out > 0).astype(grad.dtype), False)


class Clamp(Function):
    """min(max(x, low), high): the gradient passes where low <= x <= high."""

    saved = ((0, None),)

    def forward(self, x: np.ndarray, low: float | None, high: float | None) -> np.ndarray:
        self.x, self.low, self.high = x, low, high
        return np.clip(x, low, high).astype(x.dtype, copy=False)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        inside = np.ones(self.x.shape, dtype=bool)
        if self.low is not None:
            inside &= self.x >= self.low
        if self.high is not None:
            inside &= self.x <= self.high
        return grad * inside

    def backward_graph(self, grad: Any, out: Any) -> Any:
        inside = np.ones(self.x.shape, dtype=grad.dtype)
        if self.low is not None:
            inside *= self.x >= self.low
        if self.high is not None:
            inside *= self.x <= self.high
        return grad * grad._make(inside, False)


class Maximum(Function):
    """max(a, b) elementwise. Max gate: the gradient goes to the larger input (split on ties)."""

    saved = ((0, None), (1, None))

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return np.maximum(a, b)

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        share_a = (self.a > self.b) + 0.5 * (self.a == self.b)
        return grad * share_a.astype(grad.dtype), grad * (1 - share_a).astype(grad.dtype)

    def backward_graph(self, grad: Any, out: Any) -> tuple[Any, Any]:
        share_a = ((self.a > self.b) + 0.5 * (self.a == self.b)).astype(grad.dtype)
        return grad * grad._make(share_a, False), grad * grad._make(1 - share_a, False)


class Minimum(Function):
    """min(a, b) elementwise: the gradient goes to the smaller input (split on ties)."""

    saved = ((0, None), (1, None))

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return np.minimum(a, b)

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        share_a = (self.a < self.b) + 0.5 * (self.a == self.b)
        return grad * share_a.astype(grad.dtype), grad * (1 - share_a).astype(grad.dtype)

    def backward_graph(self, grad: Any, out: Any) -> tuple[Any, Any]:
        share_a = ((self.a < self.b) + 0.5 * (self.a == self.b)).astype(grad.dtype)
        return grad * grad._make(share_a, False), grad * grad._make(1 - share_a, False)


class Where(Function):
    """where(condition, a, b): the gradient goes to a where the condition holds, else to b."""

    def forward(self, a: np.ndarray, b: np.ndarray, condition: np.ndarray) -> np.ndarray:
        self.condition = condition
        return np.where(condition, a, b)

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        zero = np.zeros((), dtype=grad.dtype)
        return np.where(self.condition, grad, zero), np.where(self.condition, zero, grad)

    def backward_graph(self, grad: Any, out: Any) -> tuple[Any, Any]:
        zero = grad._make(np.zeros((), dtype=grad.dtype), False)
        return (
            Where.apply(grad, zero, condition=self.condition),
            Where.apply(zero, grad, condition=self.condition),
        )


class CopyInto(Function):
    """x.copy_(src) and x.fill_(value), recorded: the result is src broadcast to x's shape
    and cast to x's dtype. d/dx = 0 (every value is overwritten); src gets the gradient
    (summed back to src's shape by the engine) cast to src's dtype.

    Forward writes into x's memory and returns it: the op is in place.
    """

    def forward(self, x: np.ndarray, src: np.ndarray) -> np.ndarray:
        self.src_dtype = src.dtype
        np.copyto(x, src, casting="same_kind")
        return x

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        need_x, need_src = self.needs_input_grad
        return (
            np.zeros_like(grad) if need_x else None,
            grad.astype(self.src_dtype, copy=False) if need_src else None,
        )

    def backward_graph(self, grad: Any, out: Any) -> tuple[Any, Any]:
        need_x, need_src = self.needs_input_grad
        return (grad * 0 if need_x else None, grad.to(self.src_dtype) if need_src else None)
