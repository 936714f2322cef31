"""Weight initialisation, as `torch.nn.init`: fill a tensor in place and return it.

Every function overwrites ``tensor._data`` in place (same ndarray, same dtype), records no
graph (a leaf with ``requires_grad=True`` stays a leaf), and returns the tensor. The random
ones take an optional `chainrule.Generator` (the default generator when None) and draw as
torch's ``uniform_``/``normal_`` kernels do in the tensor's dtype, so after the same seed
they give torch's values bit for bit (float32 and float64).

For a weight of shape ``(out, in, *kernel)``, with ``r = prod(kernel)`` (1 for a matrix)::

    fan_in = in * r                 fan_out = out * r

    uniform_(a, b)          U(a, b)
    normal_(mean, std)      N(mean, std^2)
    xavier_uniform_         U(-a, a),  a = gain * sqrt(6 / (fan_in + fan_out))
    xavier_normal_          N(0, std^2),  std = gain * sqrt(2 / (fan_in + fan_out))
    kaiming_uniform_        U(-bound, bound),  bound = sqrt(3) * std
    kaiming_normal_         N(0, std^2),  std = gain / sqrt(fan_mode)

where kaiming's ``gain = calculate_gain(nonlinearity, a)`` and ``fan_mode`` is ``fan_in``
(keeps the forward activations' variance) or ``fan_out`` (keeps the backward gradients').
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.random import Generator, boxmuller, draws, resolve
from chainrule.tensor import Tensor

__all__ = [
    "calculate_gain",
    "constant_",
    "eye_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

_LINEAR_FNS = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
)


def calculate_gain(nonlinearity: str, param: int | float | None = None) -> float:
    """The recommended gain for a nonlinearity (its `nn.functional` name).

    ==================  =====================================
    linear, conv*,      1
    sigmoid
    tanh                5/3
    relu                sqrt(2)
    leaky_relu          sqrt(2 / (1 + negative_slope^2)), negative_slope = param (default 0.01)
    selu                3/4
    ==================  =====================================

    Raises ValueError for any other name, or a non-number ``param`` for leaky_relu.
    """
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope: float = 0.01
        elif (not isinstance(param, bool) and isinstance(param, int)) or isinstance(param, float):
            negative_slope = param  # bool is an int: excluded above, as PyTorch does
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4  # found empirically (pytorch/pytorch#50664)
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out) = (shape[1] * r, shape[0] * r)``, ``r = prod(shape[2:])``.

    Raises ValueError for a tensor with fewer than 2 dimensions.
    """
    shape = tensor._data.shape
    if len(shape) < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    receptive_field_size = math.prod(shape[2:])
    return shape[1] * receptive_field_size, shape[0] * receptive_field_size


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _check_floating(tensor: Tensor, name: str) -> None:
    if tensor._data.dtype.kind != "f":
        raise RuntimeError(f"{name} needs a floating-point tensor, got {tensor._data.dtype}")


def _fill_uniform(tensor: Tensor, a: float, b: float, generator: Generator | None) -> Tensor:
    _check_floating(tensor, "uniform_")
    if a > b:
        raise RuntimeError(
            f"uniform_ expects to return a [from, to) range, but found from={a} > to={b}"
        )
    data = tensor._data
    # torch's uniform_ kernel: a + (b - a) u in the tensor's dtype, u from 24 bits (53 for
    # float64), so a seed gives torch's weights bit for bit
    data[...] = draws.uniform(resolve(generator), data.shape, data.dtype, a, b)
    return tensor


def _fill_normal(tensor: Tensor, mean: float, std: float, generator: Generator | None) -> Tensor:
    _check_floating(tensor, "normal_")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    data = tensor._data
    contiguous = bool(data.flags.c_contiguous)
    data[...] = boxmuller.normal(resolve(generator), data.shape, data.dtype, mean, std, contiguous)
    return tensor


def _is_empty(tensor: Tensor) -> bool:
    if 0 in tensor._data.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


def uniform_(
    tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Fill ``tensor`` with samples from U(a, b)."""
    return _fill_uniform(tensor, a, b, generator)


def normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Fill ``tensor`` with samples from N(mean, std^2)."""
    return _fill_normal(tensor, mean, std, generator)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill ``tensor`` with ``val`` (cast to the tensor's dtype, so 2.7 becomes 2 in an int one)."""
    tensor._data[...] = val
    return tensor


def ones_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with 1."""
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with 0."""
    return constant_(tensor, 0.0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D ``(n, m)`` tensor with the identity: ones on the main diagonal, zeros elsewhere.

    A `Linear` layer so initialised passes through as many inputs as it can.
    """
    data = tensor._data
    if data.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    data[...] = 0
    np.fill_diagonal(data, 1)
    return tensor


def xavier_uniform_(
    tensor: Tensor, gain: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Glorot & Bengio (2010): fill with U(-a, a), ``a = gain * sqrt(6 / (fan_in + fan_out))``.

    ``tensor`` needs at least 2 dimensions; see the module docstring for the fans.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std  # the bound of a uniform with this std, computed as PyTorch does
    return _fill_uniform(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """Glorot & Bengio (2010): fill with N(0, std^2), ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    ``tensor`` needs at least 2 dimensions; see the module docstring for the fans.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _fill_normal(tensor, 0.0, std, generator)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
) -> Tensor:
    """He et al. (2015): fill with U(-bound, bound), ``bound = sqrt(3) * gain / sqrt(fan_mode)``.

    Args:
        a: the negative slope of the rectifier after this layer (used by ``'leaky_relu'``;
            the default 0 gives ReLU's gain sqrt(2)).
        mode: ``'fan_in'`` (default) or ``'fan_out'``; anything else raises ValueError.
        nonlinearity: passed with ``a`` to `calculate_gain`.

    A zero-element tensor is left alone, with a warning. For ``x @ w`` with
    ``w.shape == (in, out)`` pass ``w.T``: the fans assume `Linear`'s ``(out, in)`` layout.
    """
    if _is_empty(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return _fill_uniform(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
) -> Tensor:
    """He et al. (2015): fill with N(0, std^2), ``std = gain / sqrt(fan_mode)``.

    Arguments and edge cases as `kaiming_uniform_`.
    """
    if _is_empty(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    return _fill_normal(tensor, 0.0, std, generator)


def _norm_cdf(x: float) -> float:
    """Φ(x), the standard normal's cumulative distribution."""
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def trunc_normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: Generator | None = None,
) -> Tensor:
    """Fill with N(mean, std²) restricted to [a, b], by rejection as torch 2.13 draws it.

    With p = Φ(β) - Φ(α) the mass inside (α = (a - mean)/std, β = (b - mean)/std): when
    p > 0.3, normal draws, and the ones outside [a, b] drawn again until none is; otherwise
    uniform candidates on [a, b], each kept with probability exp(-(x - mean)²/2std²) relative
    to the density's peak inside [a, b] (u ~ U(0, 1) kept when log u <= that log ratio),
    the rejected ones drawn again. Every round draws a whole tensor, as torch does, so a
    seed gives torch's values.
    """
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn(
            "mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
            "The distribution of values may be incorrect.",
            stacklevel=2,
        )
    data = tensor._data
    kind = data.dtype.type
    stream = resolve(generator)
    contiguous = bool(data.flags.c_contiguous)
    if _norm_cdf((b - mean) / std) - _norm_cdf((a - mean) / std) > 0.3:
        low, high = float(kind(a)), float(kind(b))
        result = boxmuller.normal(stream, data.shape, data.dtype, mean, std, contiguous)
        outside = (result < low) | (result > high)
        while outside.any():
            fresh = boxmuller.normal(stream, data.shape, data.dtype, mean, std, True)
            result = np.where(outside, fresh, result)
            outside = (result < low) | (result > high)
        data[...] = result
        return tensor
    mode = max(a, min(mean, b))
    log_peak = -0.5 * ((mode - mean) / std) ** 2

    def log_ratio(x: np.ndarray) -> np.ndarray:  # in the tensor's dtype, step by step
        return ((x - kind(mean)) / kind(std)) ** 2 * kind(-0.5) - kind(log_peak)

    result = draws.uniform(stream, data.shape, data.dtype, a, b)
    pending = np.log(draws.uniform(stream, data.shape, data.dtype, 0.0, 1.0)) > log_ratio(result)
    while pending.any():
        candidates = draws.uniform(stream, data.shape, data.dtype, a, b)
        result = np.where(pending, candidates, result)
        accept = np.log(draws.uniform(stream, data.shape, data.dtype, 0.0, 1.0))
        pending = np.where(pending, accept > log_ratio(candidates), pending)
    data[...] = result
    return tensor


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """Saxe et al. (2013): fill with a (semi-)orthogonal matrix, times gain.

    A (rows, cols) matrix of N(0, 1) draws (cols = numel / rows, for >2-D weights), its QR
    factorisation A = QR, and Q with each column's sign fixed by R's diagonal, so the result
    is uniform over orthogonal matrices (Qᵀ Q = I for rows >= cols, Q Qᵀ = I otherwise).
    """
    data = tensor._data
    if data.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if data.size == 0:
        return tensor
    rows = data.shape[0]
    cols = data.size // rows
    flat = np.empty((rows, cols), data.dtype)
    flat[...] = boxmuller.normal(resolve(generator), flat.shape, flat.dtype, 0.0, 1.0, True)
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diagonal(r))
    if rows < cols:
        q = q.T
    data[...] = (q * gain).reshape(data.shape).astype(data.dtype, copy=False)
    return tensor


def sparse_(
    tensor: Tensor, sparsity: float, std: float = 0.01, generator: Generator | None = None
) -> Tensor:
    """Martens (2010): N(0, std²) with a fraction `sparsity` of each column set to 0.

    The zero rows of each column are the first ceil(sparsity·rows) of a random permutation
    drawn from the default generator, as torch does (its `generator` feeds the normal draws).
    """
    data = tensor._data
    if data.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = data.shape
    zeros = int(math.ceil(sparsity * rows))
    _fill_normal(tensor, 0.0, std, generator)
    for column in range(cols):  # one permutation a column, in torch's order of draws
        data[draws.randperm(resolve(None), rows)[:zeros], column] = 0
    return tensor


def _deprecated(new: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """torch's old names without the trailing underscore: the same function, with its warning."""
    old = new.__name__[:-1]

    def deprecated(*args: Any, **kwargs: Any) -> Tensor:
        warnings.warn(
            f"`nn.init.{old}` is now deprecated in favor of `nn.init.{new.__name__}`.",
            FutureWarning,
            stacklevel=2,
        )
        return new(*args, **kwargs)

    deprecated.__name__ = old
    deprecated.__doc__ = f"Deprecated: use {new.__name__}."
    return deprecated


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
eye = _deprecated(eye_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)
