"""Activation layers: the non-linearities between linear layers (without them, stacked
layers collapse into one linear map)."""

from __future__ import annotations

from chainrule import ops
from chainrule.nn import functional as F
from chainrule.nn.modules.module import Module
from chainrule.nn.registry import BOOL, INT, NUMBER, OPTIONAL_INT, STRING, register
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


@register(options={"inplace": BOOL}, activation="relu6", onnx=True, capture=True)
class ReLU6(Hardtanh):
    """min(max(0, x), 6): Hardtanh on [0, 6] (as in PyTorch, a Hardtanh subclass)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class _InplaceOnly(Module):
    """An activation whose only option is torch's `inplace` (accepted; always a new tensor)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace


@register(options={"inplace": BOOL}, activation="selu", onnx=True, capture=True)
class SELU(_InplaceOnly):
    """scale·ELU(x, α), with α ≈ 1.6733 and scale ≈ 1.0507 (self-normalising networks:
    activations keep zero mean and unit variance through the layers)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.selu(x)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


@register(options={"alpha": NUMBER, "inplace": BOOL}, activation="celu", onnx=True, capture=True)
class CELU(Module):
    """max(0, x) + min(0, α(e^(x/α) - 1)): ELU made continuously differentiable for any α."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if alpha == 0:
            raise ValueError("CELU: alpha must not be 0 (it divides x)")
        self.alpha, self.inplace = alpha, inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.celu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


@register(options={"inplace": BOOL}, activation="mish", onnx=True, capture=True)
class Mish(_InplaceOnly):
    """x·tanh(softplus(x)): smooth and non-monotonic, like SiLU."""

    def forward(self, x: Tensor) -> Tensor:
        return F.mish(x)


@register(options={"inplace": BOOL}, activation="hardsigmoid", onnx=True, capture=True)
class Hardsigmoid(_InplaceOnly):
    """clamp(x/6 + 1/2, 0, 1): a piecewise-linear sigmoid."""

    def forward(self, x: Tensor) -> Tensor:
        return F.hardsigmoid(x)


@register(options={"inplace": BOOL}, activation="hardswish", onnx=True, capture=True)
class Hardswish(_InplaceOnly):
    """x·hardsigmoid(x): a piecewise SiLU (MobileNetV3)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.hardswish(x)


@register(activation="logsigmoid", onnx=True, capture=True)
class LogSigmoid(Module):
    """log σ(x) = -softplus(-x), computed without overflow."""

    def forward(self, x: Tensor) -> Tensor:
        return F.logsigmoid(x)


@register(activation="softsign", onnx=True, capture=True)
class Softsign(Module):
    """x / (1 + |x|): tanh's shape with polynomial tails."""

    def forward(self, x: Tensor) -> Tensor:
        return F.softsign(x)


@register(options={"dim": OPTIONAL_INT}, example={"dim": -1}, onnx=True, capture=True)
class Softmin(Module):
    """softmax(-x) along `dim`: the smallest entry gets the largest weight."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return F.softmin(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


@register(example_input=(2, 3, 4, 5), onnx=True, capture=True)
class Softmax2d(Module):
    """Softmax over the channels (dim -3) of (C, H, W) or (N, C, H, W) input."""

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected 3-D or 4-D input, got {x.ndim}-D {x.shape}")
        return F.softmax(x, -3)


@register(options={"dim": INT}, example_input=(4, 6), onnx=False, capture=True)
class GLU(Module):
    """Gated linear unit: a ⊗ σ(b), a and b the halves of the input along `dim` (so the
    output has half as many entries there). ONNX: not exported (the split needs opset-
    dependent Split inputs; not written yet)."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return F.glu(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


@register(activation="tanhshrink", onnx=True, capture=True)
class Tanhshrink(Module):
    """x - tanh x."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanhshrink(x)
