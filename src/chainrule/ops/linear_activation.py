"""A Linear layer and the activation after it as ONE graph node, for eager `nn.Sequential`
(which runs these for a plain `nn.Linear` followed by `nn.ReLU`, `nn.Sigmoid` or `nn.Tanh`;
its `forward` says when it does not):

    forward:   y = f(x Wᵀ + b)                       x (N, in), W (out, in), b (out,) -> y (N, out)
    backward:  R = G · f'(y)                         the activation's backward, from y
               dx = R W,  dW = Rᵀ x,  db = Σ_rows R  the Linear's backward

Why: on small layers a graph node costs more than its arithmetic (Function.apply, a Tensor,
a backward call and the module's call: several microseconds of Python), so one node per
layer instead of two pays. The numbers are the two nodes' bit for bit, because the calls
are theirs: the Linear's kernels (`ops.linalg`) and the activation's (`ops.elementwise`),
and where numba runs, the loops that `ops.fused` runs for compile_step
(`chainrule.kernels.bias_activation`: the bias add with max, or with sigmoid's first pass;
the activation's backward with the bias sum), on arrays laid out as the unfused calls lay
them out. (This node tests what the loops take once, itself, and calls them: a test costs
about a microsecond, a sizeable part of a small layer.) Whatever those loops do not take
(numba off, no bias, an input that is not a 2-D batch, a gradient of another dtype or
layout) calls the two ops' kernels one after the other, as the two nodes would.

The graph still shows two nodes to whoever looks: `unfuse(output)` puts the Linear and the
activation node this one stands for in its place (`chainrule.grad_fn.unfuse`, which
`tensor.grad_fn` and the graph viewer `chainrule.viz` call first). Double backward composes
the two ops' `backward_graph`s.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from chainrule.autograd import Function
from chainrule.kernels import FLOAT_DTYPES, bias_activation, numba_enabled
from chainrule.ops import elementwise, linalg
from chainrule.ops.linalg import Linear

__all__ = ["FUSED", "LinearRelu", "LinearSigmoid", "LinearTanh"]


# The kernels as the library defines them. The two nodes call whatever is in ops.linalg and
# ops.elementwise at the time (a test or an experiment may patch one), so this node looks
# them up there at each call too, and runs a loop that stands for some only while those
# are these (`fused.intact`, which compile_step's program follows, is the same test).
_OWN = {kernel.__name__: kernel for kernel in (
    linalg.linear_forward, linalg.linear_backward, elementwise.relu_forward,
    elementwise.relu_backward, elementwise.sigmoid_forward, elementwise.sigmoid_backward,
    elementwise.tanh_forward, elementwise.tanh_backward,
)}  # fmt: skip


def _own(kernel: Any) -> bool:
    """Whether the kernel is the library's own (not a patched stand-in)."""
    return _OWN.get(kernel.__name__) is kernel


def _bias_loop_takes(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> bool:
    """Whether the forward's bias-and-activation loop takes this layer's product h = x Wᵀ
    (a new 2-D array of W's dtype for a 2-D x) and bias: numba on, float32/float64, a bias
    of W's dtype and (out,) shape (`bias_activation.forward_fits` for them, h as its output
    too)."""
    return (
        x.ndim == 2
        and type(bias) is np.ndarray
        and bias.dtype is weight.dtype
        and bias.shape == weight.shape[:1]
        and weight.dtype in FLOAT_DTYPES
        and numba_enabled()
    )


class _LinearActivation(Function):
    """What the three share: what backward reads (`saved`: x for dW, W for dx, the output
    for f'), the name, double backward, and `unfuse`."""

    saved = ((0, 1), (1, 0), (-1, None))
    activation: type[Function]  # the op after the Linear (elementwise.Relu ...)
    # its backward kernel (in ops.elementwise) and the loop that stands for it and the bias
    # sum (in kernels.bias_activation)
    kernels: tuple[str, str]

    x: np.ndarray
    weight: np.ndarray
    out: np.ndarray

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        """R = the activation's backward, then the Linear's: dx, dW and db = Σ_rows R,
        with numba R and db in one loop (`fused.<activation>_bias_backward`).

        The loop runs when the bias needs its gradient, numba is on, the output is 2-D
        float32/float64 and the gradient an ndarray of its shape and dtype, in its layout,
        F-ordered or not alike (then the unfused activation backward writes R laid out
        as `out` too, whose column sum the loop takes in the same order), and both
        kernels are the library's own; it writes R into a new array laid out as `out`
        and db into a new (out,) array (`bias_activation.backward_fits` for those). The
        tests are written out here, not in helpers: a call costs about as much as two of
        them, and this runs for every layer of every step."""
        out, needs = self.out, self.needs_input_grad
        kernel, loop = self.kernels
        backward, linear = getattr(elementwise, kernel), linalg.linear_backward
        if (
            len(needs) == 3
            and needs[2]
            and type(grad) is np.ndarray
            and grad.shape == out.shape
            and out.ndim == 2
            and grad.dtype is out.dtype
            and out.dtype in FLOAT_DTYPES
            and grad.flags.f_contiguous == out.flags.f_contiguous
            and linear is _OWN["linear_backward"]
            and backward is _OWN[kernel]
            and numba_enabled()
        ):
            r, db = np.empty_like(out), np.empty(out.shape[1:], out.dtype)
            getattr(bias_activation, loop)(grad, out, r, db)
            return (*linear(r, self.x, self.weight, needs[:2]), db)
        return linear(backward(grad, out), self.x, self.weight, needs)

    @property
    def name(self) -> str:
        """The activation's node name (`ReluBackward`): the node that made the output."""
        return self.activation.__name__ + "Backward"

    def backward_graph(self, grad: Any, out: Any) -> tuple[Any, ...]:
        """The activation's `backward_graph`, then the Linear's, on this node's saved values
        and inputs (both read `out`, `graph_inputs`, `needs_input_grad` as they are here)."""
        nodes = cast(Any, self)
        upstream = self.activation.backward_graph(nodes, grad, out)  # type: ignore[attr-defined]
        return Linear.backward_graph(nodes, upstream, None)

    def unfuse(self, output: Any) -> None:
        """Put the two nodes this one stands for in its place behind `output`: a Linear node
        (x, W saved) making the pre-activation h = x Wᵀ + b, recomputed by the Linear's
        kernel (the same numbers, from the same saved arrays), and the activation's node
        (its output saved) reading h. h sits between its inputs and `output` on the
        graph's clock (half a tick before the output: creation numbers only compare). Once
        backward has freed the graph there is nothing to show, and nothing is done."""
        inputs = self.inputs
        if inputs is None:
            return
        bias = inputs[2]._data if len(inputs) == 3 else None
        linear = Linear.__new__(Linear)
        linear.x, linear.weight = self.x, self.weight
        linear.inputs, linear.needs_input_grad = inputs, self.needs_input_grad
        hidden = output._make(linalg.linear_forward(self.x, self.weight, bias), True)
        hidden._ctx, hidden._seq = linear, output._seq - 0.5
        activation = self.activation.__new__(self.activation)
        activation.out = self.out  # type: ignore[attr-defined]
        activation.inputs, activation.needs_input_grad = (hidden,), (True,)
        output._ctx = activation


class LinearRelu(_LinearActivation):
    """max(x Wᵀ + b, 0) as one node (see the module's docstring)."""

    activation = elementwise.Relu
    kernels = ("relu_backward", "relu_bias_loop")

    def forward(
        self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None
    ) -> np.ndarray:
        self.x, self.weight = x, weight
        product, relu = linalg.linear_forward, elementwise.relu_forward
        if _bias_loop_takes(x, weight, bias) and _own(product) and _own(relu):
            # the product x Wᵀ as a new array, as the Linear's node makes it (its bias add
            # comes after it there), then max(h + b, 0) in place: the loop that
            # `fused.linear_relu_forward` calls
            out = product(x, weight, None)
            bias_activation.bias_relu_loop(out, bias, out)
        else:
            out = relu(product(x, weight, bias))
        self.out = out
        return out


class LinearSigmoid(_LinearActivation):
    """σ(x Wᵀ + b) as one node (see the module's docstring). The forward is the two
    kernels, one after the other (a fused first pass would need the product in a buffer,
    which np.matmul fills more slowly than the new array the Linear's kernel makes)."""

    activation = elementwise.Sigmoid
    kernels = ("sigmoid_backward", "sigmoid_bias_loop")

    def forward(
        self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None
    ) -> np.ndarray:
        self.x, self.weight = x, weight
        self.out = out = elementwise.sigmoid_forward(linalg.linear_forward(x, weight, bias))
        return out


class LinearTanh(_LinearActivation):
    """tanh(x Wᵀ + b) as one node (see the module's docstring). The forward is the two
    kernels (NumPy's tanh: a compiled tanh differs in the last bit), tanh in place over
    the Linear's new array; the backward fuses as the others do."""

    activation = elementwise.Tanh
    kernels = ("tanh_backward", "tanh_bias_loop")

    def forward(
        self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None
    ) -> np.ndarray:
        self.x, self.weight = x, weight
        h = linalg.linear_forward(x, weight, bias)
        tanh = elementwise.tanh_forward
        self.out = out = tanh(h, h) if _own(tanh) else tanh(h)
        return out


# the activation op -> the node that runs a Linear and it as one
FUSED: dict[type[Function], type[_LinearActivation]] = {
    elementwise.Relu: LinearRelu,
    elementwise.Sigmoid: LinearSigmoid,
    elementwise.Tanh: LinearTanh,
}
