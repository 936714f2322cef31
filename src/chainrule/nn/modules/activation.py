"""Activation layers: the non-linearities between linear layers (without them, stacked
layers collapse into one linear map)."""

from __future__ import annotations

from chainrule import ops
from chainrule.nn import functional as F
from chainrule.nn.modules.module import Module
from chainrule.nn.registry import BOOL, NUMBER, OPTIONAL_INT, STRING, register
from chainrule.tensor import Tensor


@register(options={"inplace": BOOL}, activation="relu", playground=True, onnx=True, capture=True)
class ReLU(Module):
    """max(0, x). Cheap and non-saturating for x > 0; a unit whose input stays negative
    gets no gradient and "dies".

    `inplace` (here and in the other activations) is accepted for PyTorch compatibility;
    the result is always a new tensor.
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return ops.Relu.apply(x)  # F.relu(x), one call shorter: ReLU sits in every hot loop

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


@register(
    options={"negative_slope": NUMBER, "inplace": BOOL},
    activation="leaky_relu",
    playground=True,
    onnx=True,
    capture=True,
)
class LeakyReLU(Module):
    """x for x > 0, negative_slope·x otherwise: a small gradient keeps units alive."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


@register(
    options={"min_val": NUMBER, "max_val": NUMBER, "inplace": BOOL},
    activation="hardtanh",
    playground=True,
    onnx=True,
    capture=True,
)
class Hardtanh(Module):
    """x clipped to [min_val, max_val] (default [-1, 1]): tanh's shape in three lines."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if not max_val > min_val:
            raise ValueError(f"Hardtanh: max_val ({max_val}) must be > min_val ({min_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"min_val={self.min_val}, max_val={self.max_val}{inplace}"


@register(
    options={"alpha": NUMBER, "inplace": BOOL},
    activation="elu",
    playground=True,
    onnx=True,
    capture=True,
)
class ELU(Module):
    """x for x > 0, α(eˣ - 1) otherwise: smooth, with negative outputs down to -α."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


@register(activation="sigmoid", playground=True, aliases=("logistic",), onnx=True, capture=True)
class Sigmoid(Module):
    """σ(x) = 1 / (1 + e⁻ˣ) ∈ (0, 1). Saturates for large |x|: gradients vanish in deep
    stacks, and outputs are not zero-centred."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


@register(activation="tanh", playground=True, onnx=True, capture=True)
class Tanh(Module):
    """tanh x ∈ (-1, 1): zero-centred, but still saturates."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


@register(options={"approximate": STRING}, activation="gelu", onnx=True, capture=True)
class GELU(Module):
    """x·Φ(x), Φ the standard normal CDF."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate='{self.approximate}'"


@register(options={"inplace": BOOL}, activation="silu", onnx=True, capture=True)
class SiLU(Module):
    """x·σ(x)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.silu(x)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


@register(options={"beta": NUMBER, "threshold": NUMBER}, onnx=True, capture=True)
class Softplus(Module):
    """(1/β) log(1 + e^(βx)): a smooth ReLU."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x: Tensor) -> Tensor:
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


@register(options={"dim": OPTIONAL_INT}, example={"dim": -1}, onnx=True, capture=True)
class Softmax(Module):
    """e^(xᵢ) / Σⱼ e^(xⱼ) along `dim`: a probability distribution over classes."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


@register(options={"dim": OPTIONAL_INT}, example={"dim": -1}, onnx=True, capture=True)
class LogSoftmax(Module):
    """log softmax(x) along `dim` (pair with NLLLoss)."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
