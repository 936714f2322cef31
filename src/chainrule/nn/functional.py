"""Stateless layer functions, as `torch.nn.functional` (import as `F`).

Activations, linear, dropout, batch norm, embedding and the losses. Fused ops (linear,
cross-entropy, BCE with logits) come from `chainrule.ops`; the rest compose tensor ops,
so autodiff derives their gradients.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import ops
from chainrule.random import Generator, numpy_stream
from chainrule.tensor import Tensor, index_array

_REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------------- activations
def relu(x: Tensor, inplace: bool = False) -> Tensor:
    """max(0, x). (`inplace`, for every activation here, is accepted for PyTorch
    compatibility; the result is always a new tensor.)"""
    return x.relu()


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope·x otherwise (keeps a gradient left of 0)."""
    return ops.LeakyRelu.apply(x, negative_slope=negative_slope)


def hardtanh(
    x: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """x clipped to [min_val, max_val]; the gradient is 1 strictly inside, else 0."""
    if max_val < min_val:
        raise ValueError(f"hardtanh: max_val ({max_val}) must be >= min_val ({min_val})")
    return ops.Hardtanh.apply(x, min_val=min_val, max_val=max_val)


def elu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, α(eˣ - 1) otherwise (smooth, saturates at -α)."""
    return ops.Elu.apply(x, alpha=alpha)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x·Φ(x), Φ the standard normal CDF ('tanh' for the tanh approximation)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return ops.Gelu.apply(x, approximate=approximate)


def silu(x: Tensor, inplace: bool = False) -> Tensor:
    """x·σ(x)."""
    return ops.Silu.apply(x)


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """(1/β) log(1 + e^(βx)), a smooth ReLU; linear where βx > threshold."""
    return ops.Softplus.apply(x, beta=beta, threshold=threshold)


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + e⁻ˣ)."""
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def _softmax_dim(x: Tensor, dim: int | None) -> int:
    if dim is None:  # PyTorch's legacy choice when no dim is given
        return 0 if x.ndim in (0, 1, 3) else 1
    return dim


def softmax(x: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """e^(xᵢ) / Σⱼ e^(xⱼ) along dim, computed as softmax(x - max x) so it cannot overflow.

    dtype: cast the input to this type first (e.g. float64 for extra precision).
    """
    x = x if dtype is None else x.to(dtype)
    return x.softmax(_softmax_dim(x, dim))


def log_softmax(
    x: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    """x - log Σ eˣ along dim, with the log-sum-exp trick (dtype: as in `softmax`)."""
    x = x if dtype is None else x.to(dtype)
    return x.log_softmax(_softmax_dim(x, dim))


# ---------------------------------------------------------------------- layers
def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x Wᵀ + b. Shapes: x (..., in), W (out, in), b (out,) -> (..., out)."""
    if x.ndim == 0 or x.shape[-1] != weight.shape[-1]:
        raise ValueError(
            f"linear: input of shape {x.shape} has {x.shape[-1] if x.ndim else 0} features in "
            f"its last dim, but the weight of shape {weight.shape} expects {weight.shape[-1]}"
        )
    if x.dtype != weight.dtype:
        raise TypeError(
            f"linear: input is {x.dtype} but the weight is {weight.dtype}; convert the input "
            f"(x.float() / x.double()) or the model (model.float() / model.double())"
        )
    if bias is None:
        return ops.Linear.apply(x, weight)
    return ops.Linear.apply(x, weight, bias)


def dropout(
    x: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    *,
    generator: Generator | None = None,
) -> Tensor:
    """Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p),
    so the expected value is unchanged and evaluation needs no rescaling.

    `inplace` is accepted for PyTorch compatibility; the result is always a new tensor.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = numpy_stream(generator).random(x.shape) >= p
    mask = keep.astype(x.dtype) / np.asarray(1 - p, dtype=x.dtype)
    return x * Tensor._make(mask, False)


def batch_norm(
    x: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel (dim 1) to zero mean and unit variance, then scale and shift.

    x̂ = (x - μ) / √(σ² + ε), y = γ x̂ + β. In training μ, σ² are the batch's statistics and
    the running ones move toward them: r ← (1 - momentum) r + momentum · stat (σ² unbiased).
    Shapes: x (N, C) or (N, C, L); statistics (C,).
    """
    if x.ndim not in (2, 3):
        raise ValueError(f"batch_norm: expected 2-D or 3-D input (N, C[, L]), got {x.shape}")
    axes = (0,) if x.ndim == 2 else (0, 2)
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1)
    if training:
        count = x.shape[0] * (x.shape[2] if x.ndim == 3 else 1)
        if count <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input "
                f"of shape {x.shape}"
            )
        mean = x.mean(axes, keepdim=True)
        var = x.var(axes, unbiased=False, keepdim=True)
        if running_mean is not None and running_var is not None:
            m = np.asarray(momentum, dtype=running_mean.dtype)
            running_mean._data *= 1 - m
            running_mean._data += m * mean._data.reshape(-1)
            running_var._data *= 1 - m
            running_var._data += m * var._data.reshape(-1) * (count / (count - 1))
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: evaluation needs running statistics")
        mean = running_mean.reshape(shape)
        var = running_var.reshape(shape)
    out = (x - mean) / (var + eps).sqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def embedding(indices: Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of the table `weight` (num_embeddings, dim) picked by integer `indices`."""
    index = index_array(indices)
    bad = _out_of_range(index, weight.shape[0])
    if bad is not None:
        raise IndexError(
            f"embedding: index {bad} is out of range for a table of {weight.shape[0]} rows"
        )
    return ops.EmbeddingLookup.apply(weight, index=index, padding_idx=padding_idx)


def one_hot(indices: Any, num_classes: int = -1) -> Tensor:
    """Integer classes (...,) -> int64 one-hot rows (..., num_classes)."""
    index = index_array(indices)
    classes = int(index.max()) + 1 if num_classes == -1 else num_classes
    bad = _out_of_range(index, classes)
    if bad is not None:
        raise ValueError(f"one_hot: class values must be in [0, {classes}), got {bad}")
    return Tensor._make(np.eye(classes, dtype=np.int64)[index], False)


# ---------------------------------------------------------------------- losses
def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction!r} is not a valid value for reduction: use {_REDUCTIONS}")


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses


def _target_like(name: str, prediction: Tensor, target: Any) -> Tensor:
    """The target as a tensor of the prediction's dtype and shape, or a clear error."""
    target = prediction._operand(target) if not isinstance(target, Tensor) else target
    if target.shape != prediction.shape:
        raise ValueError(
            f"{name}: target shape {target.shape} differs from input shape {prediction.shape}; "
            "they must match (reshape one of them, e.g. y.reshape(-1, 1))"
        )
    return target.to(prediction.dtype) if target.dtype != prediction.dtype else target


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error: mean((input - target)²)."""
    _check_reduction(reduction)
    diff = input - _target_like("mse_loss", input, target)
    return _reduce(diff * diff, reduction)


def l1_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean absolute error: mean(|input - target|) (the MAE of the lectures)."""
    _check_reduction(reduction)
    return _reduce((input - _target_like("l1_loss", input, target)).abs(), reduction)


def huber_loss(
    input: Tensor,
    target: Any,
    reduction: str = "mean",
    delta: float = 1.0,
) -> Tensor:
    """½d² where |d| < δ, δ(|d| - ½δ) elsewhere, d = input - target: MSE near 0, MAE far."""
    _check_reduction(reduction)
    diff = input - _target_like("huber_loss", input, target)
    size = diff.abs()
    from chainrule.operations import where

    losses = where(size._data < delta, 0.5 * diff * diff, delta * (size - 0.5 * delta))
    return _reduce(losses, reduction)


def _optional_array(value: Any, dtype: np.dtype) -> np.ndarray | None:
    if value is None:
        return None
    return np.asarray(value._data if isinstance(value, Tensor) else value, dtype=dtype)


def binary_cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """-(y log p + (1 - y) log(1 - p)) on probabilities p in [0, 1]; each log is clamped at
    -100 as in PyTorch, so p = 0 or 1 stays finite."""
    _check_reduction(reduction)
    y = _target_like("binary_cross_entropy", input, target)
    if input._data.size and (input._data.min() < 0 or input._data.max() > 1):
        raise ValueError(
            "binary_cross_entropy: all input values must be between 0 and 1 (probabilities); "
            "for logits use binary_cross_entropy_with_logits"
        )
    return ops.BinaryCrossEntropy.apply(
        input, target=y._data, weight=_optional_array(weight, input.dtype), reduction=reduction
    )


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Tensor:
    """Sigmoid + BCE in one stable op on logits z: (1 - y)z + log(1 + e^(-z))."""
    _check_reduction(reduction)
    y = _target_like("binary_cross_entropy_with_logits", input, target)
    return ops.BinaryCrossEntropyWithLogits.apply(
        input,
        target=y._data,
        weight=_optional_array(weight, input.dtype),
        pos_weight=_optional_array(pos_weight, input.dtype),
        reduction=reduction,
    )


def _classes_last(x: Tensor) -> Tensor:
    """(N, C, d1, ...) -> (N·d1·..., C), so every loss below sees rows of classes."""
    if x.ndim <= 2:
        return x
    order = (0, *range(2, x.ndim), 1)
    return x.permute(*order).reshape(-1, x.shape[1])


def _class_targets(
    name: str, target: Any, logits: Tensor, ignore_index: int
) -> tuple[np.ndarray, bool]:
    """Class indices as a flat int64 array, and whether all of them are classes (no row holds
    an out-of-range ignore_index); a clear error for a wrong shape or class."""
    index = index_array(target)
    classes = logits.shape[1] if logits.ndim >= 2 else logits.shape[0]
    expected = (logits.shape[0], *logits.shape[2:]) if logits.ndim >= 2 else ()
    if index.shape != expected:
        raise ValueError(
            f"{name}: target shape {index.shape} does not fit input shape {logits.shape}; "
            f"expected class indices of shape {expected}"
        )
    if _out_of_range(index, classes) is not None:  # rare: look closer
        bad = _out_of_range(index[index != ignore_index], classes)
        if bad is not None:
            raise IndexError(f"{name}: target {bad} is out of bounds for {classes} classes")
        return index.reshape(-1), False
    return index.reshape(-1), True


def _out_of_range(index: np.ndarray, size: int) -> int | None:
    """The first int64 index outside 0..size-1, or None. The usual case, all in range, takes
    one pass: viewed as unsigned, a negative index is huge."""
    if not index.size or int(index.view(np.uint64).max()) < size:
        return None
    return int(index[(index < 0) | (index >= size)].flat[0])


def _row_weights(
    target: np.ndarray, weight: Any, ignore_index: int, dtype: np.dtype, all_classes: bool
) -> np.ndarray | None:
    """wᵢ = weight[yᵢ], 0 for ignored rows; None when every row weighs 1."""
    if weight is None and all_classes and ignore_index < 0:
        return None  # the usual case: no weights, and ignore_index is no class of any row
    ignored = target == ignore_index
    if weight is None and not ignored.any():
        return None
    safe = np.where(ignored, 0, target)
    table = np.ones(1, dtype=dtype) if weight is None else _optional_array(weight, dtype)
    assert table is not None
    rows = table[safe] if weight is not None else np.ones(len(target), dtype=dtype)
    return np.where(ignored, 0, rows).astype(dtype)


def cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of logits: -log softmax(z)[y], averaged (the multi-class loss).

    target: class indices (N,) [int] or class probabilities (N, C) [float].
    Shapes: input (N, C) or (C,) or (N, C, d1, ...). Computed from log-softmax, so large
    logits cannot overflow; label_smoothing mixes the target with the uniform distribution.
    """
    target_array = target._data if isinstance(target, Tensor) else np.asarray(target)
    logits_array = input._data
    if (  # the usual case, checked in a few cheap steps: what the general path would do
        weight is None
        and label_smoothing == 0.0
        and ignore_index < 0  # so no class in range is ignored
        and (reduction == "mean" or reduction == "sum")
        and logits_array.ndim == 2
        and target_array.dtype == np.int64
        and target_array.shape == logits_array.shape[:1]
        and target_array.size
        and _out_of_range(target_array, logits_array.shape[1]) is None
    ):
        return ops.CrossEntropyIndex.apply(
            input, target=target_array, row_weight=None, reduction=reduction
        )
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    logits = input.unsqueeze(0) if input.ndim == 1 else input
    if target_array.dtype.kind == "f":
        probabilities = target if isinstance(target, Tensor) else Tensor._make(target_array, False)
        return _cross_entropy_probabilities(
            input, logits, probabilities, weight, reduction, label_smoothing
        )
    if input.ndim == 1:
        target_array = target_array.reshape(1)
    index, all_classes = _class_targets("cross_entropy", target_array, logits, ignore_index)
    rows = _classes_last(logits)
    row_weight = _row_weights(index, weight, ignore_index, input.dtype, all_classes)
    if label_smoothing == 0.0:
        # ignored rows weigh 0; any valid class stands in for their (maybe negative) index
        safe = index if row_weight is None else np.where(index == ignore_index, 0, index)
        losses = ops.CrossEntropyIndex.apply(
            rows, target=safe, row_weight=row_weight, reduction=reduction
        )
    else:
        log_p = rows.log_softmax(1)
        weights_per_row = np.ones(len(index), input.dtype) if row_weight is None else row_weight
        picked = log_p[np.arange(len(index)), np.where(index == ignore_index, 0, index)]
        nll = -picked * Tensor._make(weights_per_row, False)
        class_weight = _optional_array(weight, input.dtype)
        weighted = log_p if class_weight is None else log_p * Tensor._make(class_weight, False)
        valid = Tensor._make((index != ignore_index).astype(input.dtype), False)
        smooth = -weighted.sum(1) * valid / rows.shape[1]
        losses = nll * (1 - label_smoothing) + smooth * label_smoothing
        if reduction == "mean":
            losses = losses.sum() / float(weights_per_row.sum())
        elif reduction == "sum":
            losses = losses.sum()
    if reduction == "none":
        return losses.reshape(target_array.shape if input.ndim > 1 else ())
    return losses


def _cross_entropy_probabilities(
    input: Tensor,
    logits: Tensor,
    target: Tensor,
    weight: Any,
    reduction: str,
    label_smoothing: float,
) -> Tensor:
    """lossᵢ = -Σ_c w_c qᵢc log softmax(zᵢ)_c with q the (smoothed) target distribution.

    Built from tensor ops, so a target that requires grad gets d loss / d q = -w log softmax(z)
    (as in PyTorch, e.g. for distillation from a trained teacher's probabilities).
    """
    if target.shape != input.shape:
        raise ValueError(
            f"cross_entropy: probability targets of shape {target.shape} must match the input "
            f"shape {input.shape}"
        )
    rows = _classes_last(logits)
    q = _classes_last(target.reshape(logits.shape)).to(input.dtype)
    classes = rows.shape[1]
    if label_smoothing:
        q = q * (1 - label_smoothing) + label_smoothing / classes
    class_weight = _optional_array(weight, input.dtype)
    if class_weight is not None:
        q = q * Tensor._make(class_weight, False)
    losses = -(rows.log_softmax(1) * q).sum(1)
    if reduction == "none":
        return losses.reshape(input.shape[:1] + input.shape[2:] if input.ndim > 1 else ())
    return _reduce(losses, reduction)


def nll_loss(
    input: Tensor,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of log-probabilities: -wᵢ · input[i, yᵢ]; 'mean' divides by Σwᵢ.

    Pair it with log_softmax: nll_loss(log_softmax(z, 1), y) == cross_entropy(z, y).
    """
    _check_reduction(reduction)
    log_p = input.unsqueeze(0) if input.ndim == 1 else input
    target_array = np.asarray(target._data if isinstance(target, Tensor) else target)
    if input.ndim == 1:
        target_array = target_array.reshape(1)
    index, all_classes = _class_targets("nll_loss", target_array, log_p, ignore_index)
    rows = _classes_last(log_p)
    row_weight = _row_weights(index, weight, ignore_index, input.dtype, all_classes)
    weights_per_row = np.ones(len(index), input.dtype) if row_weight is None else row_weight
    picked = rows[np.arange(len(index)), np.where(index == ignore_index, 0, index)]
    losses = -picked * Tensor._make(weights_per_row, False)
    if reduction == "none":
        return losses.reshape(target_array.shape if input.ndim > 1 else ())
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / float(weights_per_row.sum())


# ---------------------------------------------------------------------- more of torch's F
def smooth_l1_loss(
    input: Tensor,
    target: Any,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """½d²/β where |d| < β, |d| - ½β elsewhere (d = input - target); beta=0 is L1."""
    if beta == 0:
        return l1_loss(input, target, reduction)
    return huber_loss(input, target, reduction, delta=beta) / beta


def kl_div(
    input: Tensor, target: Any, reduction: str = "mean", log_target: bool = False, **_: Any
) -> Tensor:
    """Σ target·(log target - input), with `input` log-probabilities (PyTorch's order);
    'batchmean' divides the sum by the batch size, as the KL divergence needs."""
    target = _target_like("kl_div", input, target)
    if log_target:
        losses = target.exp() * (target - input)
    else:
        losses = target.xlogy(target) - target * input
    if reduction == "batchmean":
        return losses.sum() / input.shape[0]
    _check_reduction(reduction)
    return _reduce(losses, reduction)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """input / max(‖input‖_p, eps) along dim."""
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """x1·x2 / (max(‖x1‖, eps)·max(‖x2‖, eps)) along dim."""
    norms = x1.norm(dim=dim).clamp(min=eps) * x2.norm(dim=dim).clamp(min=eps)
    return (x1 * x2).sum(dim) / norms


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """‖x1 - x2 + eps‖_p along the last dim."""
    return (x1 - x2 + eps).norm(p, dim=-1, keepdim=keepdim)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    return input.clamp(0.0, 6.0)


def logsigmoid(input: Tensor) -> Tensor:
    """log σ(x) = -softplus(-x), without overflow."""
    return -softplus(-input)


def softsign(input: Tensor) -> Tensor:
    return input / (1 + input.abs())


def softmin(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    return softmax(-input, dim, dtype=dtype)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    return scale * elu(input, alpha)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return input.clamp(min=0) + (alpha * ((input / alpha).exp() - 1)).clamp(max=0)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    return input * softplus(input).tanh()


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    return (input / 6 + 0.5).clamp(0.0, 1.0)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    return input * hardsigmoid(input)


def tanhshrink(input: Tensor) -> Tensor:
    return input - input.tanh()


def __getattr__(name: str) -> Any:
    """A torch.nn.functional name chainrule lacks: say so and point to the coverage page."""
    from chainrule.coverage import missing

    raise missing("torch.nn.functional", name)
