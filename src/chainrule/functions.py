"""Module-level ``torch.xxx`` functions, derived from the Tensor methods of the same name.

``torch.sin(x)`` is ``x.sin()``, ``torch.add(input=x, other=y, alpha=2)`` is
``x.add(y, alpha=2)``: one wrapper per name turns the function call into the method call,
accepts PyTorch's ``input=`` keyword and ``out=`` (the result is written into that tensor,
or into each tensor of a tuple for (values, indices) results). Functions with no method
twin (einsum, meshgrid, hstack, ...) are written below.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule import dtypes
from chainrule.creation import write_out
from chainrule.ops.scan import Einsum
from chainrule.random import Generator, boxmuller, numpy_stream, resolve
from chainrule.tensor import Tensor
from chainrule.types import DeviceLike, DTypeLike, TensorLike

# Tensor methods that are also torch functions (the rest are methods only: x.half(), ...)
FROM_METHODS = (
    "abs", "absolute", "acos", "acosh", "add", "addcdiv", "addcmul", "addmm", "all", "allclose",
    "amax", "amin", "aminmax", "any", "argmax", "argmin", "argsort", "argwhere", "asin",
    "asinh", "atan", "atan2", "atanh", "bernoulli", "bincount", "bitwise_and", "bitwise_not",
    "bitwise_or", "bitwise_xor", "bmm", "ceil", "chunk", "clamp", "clamp_max", "clamp_min",
    "clip", "clone", "copysign", "cos", "cosh", "count_nonzero", "cumprod", "cumsum",
    "deg2rad", "diag", "diag_embed", "diagonal", "div", "divide", "dot", "eq", "equal", "erf",
    "erfc", "erfinv", "exp", "exp2", "expm1", "fix", "flatten", "flip", "fliplr", "flipud",
    "float_power", "floor", "floor_divide", "fmax", "fmin", "fmod", "frac", "gather", "ge",
    "ger", "greater", "greater_equal", "gt", "histc", "histogram", "hypot", "index_add",
    "index_copy", "index_fill", "index_select", "inner", "is_floating_point", "is_complex",
    "isclose", "isfinite", "isinf", "isnan", "isneginf", "isposinf", "kthvalue", "le", "lerp",
    "less", "less_equal", "log", "log10", "log1p", "log2", "log_softmax", "logaddexp",
    "logaddexp2", "logical_and", "logical_not", "logical_or", "logical_xor", "logit",
    "logsumexp", "lt", "masked_fill", "masked_select", "matmul", "max", "maximum", "mean",
    "median", "min", "minimum", "mm", "mode", "moveaxis", "movedim", "msort", "mul",
    "multinomial", "multiply", "mv", "nan_to_num", "nanmean", "nansum", "narrow", "ne", "neg",
    "negative", "nonzero", "norm", "not_equal", "numel", "outer", "permute", "positive", "pow",
    "prod", "rad2deg", "ravel", "reciprocal", "relu", "remainder", "repeat_interleave",
    "reshape", "roll", "round", "rsqrt", "rsub", "scatter", "scatter_add", "sgn", "sigmoid",
    "sign", "signbit", "sin", "sinc", "sinh", "softmax", "sort", "split", "sqrt", "square",
    "squeeze", "std", "std_mean", "sub", "subtract", "sum", "swapaxes", "swapdims", "t", "take",
    "take_along_dim", "tan", "tanh", "tensor_split", "tile", "topk", "trace", "transpose",
    "tril", "triu", "true_divide", "trunc", "unbind", "unflatten", "unique", "unsqueeze", "var",
    "var_mean", "xlogy", "abs_", "relu_", "sigmoid_", "tanh_", "exp_", "sqrt_", "clamp_",
    "neg_", "square_", "round_", "ceil_", "floor_", "trunc_", "frac_", "rsqrt_", "sin_",
    "cos_", "log_", "zero_", "fill_",
    # NumPy-style aliases, attributes of real tensors, and torch's in-place functions
    "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "broadcast_to",
    "detach", "detach_", "adjoint", "conj", "conj_physical", "resolve_conj", "resolve_neg",
    "is_conj", "is_neg", "is_inference", "is_distributed", "is_signed", "is_same_size",
    "isreal", "angle", "get_device", "acos_", "acosh_", "arccos_", "arccosh_", "arcsin_",
    "arcsinh_", "arctan_", "arctanh_", "asin_", "asinh_", "atan_", "atanh_", "clamp_max_",
    "clamp_min_", "clip_", "cosh_", "deg2rad_", "erf_", "erfc_", "exp2_", "expm1_", "fix_",
    "log10_", "log1p_", "log2_", "logit_", "nan_to_num_", "negative_", "rad2deg_",
    "reciprocal_", "sinc_", "sinh_", "tan_", "xlogy_", "lgamma", "digamma", "i0", "i0_",
    "mvlgamma", "igamma", "igammac", "select", "hsplit", "vsplit", "dsplit", "split_with_sizes",
    "unsafe_split", "unsafe_chunk", "unsafe_split_with_sizes", "rot90", "kron", "cross",
    "diagflat", "vdot", "addmv", "addmv_", "addr", "baddbmm", "addbmm", "narrow_copy",
    "unique_consecutive", "nonzero_static", "cummax", "cummin", "logcumsumexp", "quantile",
    "nanquantile", "nanmedian", "cov", "corrcoef", "dist", "renorm", "gcd", "gcd_", "lcm",
    "lcm_", "bitwise_left_shift", "bitwise_right_shift", "heaviside", "ldexp", "ldexp_",
    "nextafter", "frexp", "diff", "det", "slogdet", "logdet", "inverse", "pinverse", "matrix_power",
    "matrix_exp", "cholesky", "cholesky_solve", "cholesky_inverse", "qr", "svd",
    "triangular_solve", "index_put", "index_put_", "put", "masked_scatter", "scatter_reduce",
    "index_reduce", "select_scatter", "slice_scatter", "diagonal_scatter", "hardshrink",
    "prelu", "conj_physical_", "resize_as_",
)  # fmt: skip


def _function(name: str) -> Callable[..., Any]:
    def call(*args: Any, out: Tensor | None = None, **kwargs: Any) -> Any:
        if "input" in kwargs:
            args = (kwargs.pop("input"), *args)
        if not args:
            raise TypeError(f"{name}() missing required argument 'input'")
        first, *rest = args
        if not isinstance(first, Tensor):
            raise TypeError(
                f"{name}(): argument 'input' (position 1) must be Tensor, not "
                f"{builtins.type(first).__name__}"
            )
        result = getattr(first, name)(*rest, **kwargs)
        if out is None:
            return result
        if isinstance(out, (tuple, list)):
            return builtins.type(result)(
                *(write_out(o, r) for o, r in zip(out, result, strict=True))
            )
        return write_out(out, result)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"torch.{name}(input, ...): the same as ``input.{name}(...)``."
    return call


EXPORTS: dict[str, Callable[..., Any]] = {name: _function(name) for name in FROM_METHODS}
"""Every function this module gives `chainrule`, by name."""


def export(fn: Callable[..., Any]) -> Callable[..., Any]:
    EXPORTS[fn.__name__] = fn
    return fn


def _tensors(tensors: Any) -> list[Tensor]:
    return [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]


def _joined(how: str) -> Callable[..., Tensor]:
    from chainrule.joining import cat

    def join(tensors: Sequence[Any], *, out: Tensor | None = None) -> Tensor:
        items = _tensors(tensors)
        if how == "hstack":
            result = cat(items, 1 if items[0].ndim > 1 else 0)
        elif how == "vstack":
            result = cat([t.reshape(1, -1) if t.ndim < 2 else t for t in items], 0)
        elif how == "dstack":
            shaped = [t.reshape(1, -1, 1) if t.ndim < 2 else t for t in items]
            result = cat([t.unsqueeze(-1) if t.ndim == 2 else t for t in shaped], 2)
        else:  # column_stack
            result = cat([t.reshape(-1, 1) if t.ndim < 2 else t for t in items], 1)
        return result if out is None else write_out(out, result)

    join.__name__ = how
    return join


for _how in ("hstack", "vstack", "dstack", "column_stack"):
    EXPORTS[_how] = _joined(_how)
EXPORTS["row_stack"] = EXPORTS["vstack"]


@export
def where(
    condition: Any, input: Any = None, other: TensorLike | None = None, *, out: Tensor | None = None
) -> Any:
    """where(cond, a, b) picks elementwise; where(cond) is nonzero(cond, as_tuple=True)."""
    from chainrule.joining import where as pick

    if input is None and other is None:
        return Tensor._make(np.asarray(condition.detach().numpy()), False).nonzero(as_tuple=True)
    result = pick(condition, input, other)
    return result if out is None else write_out(out, result)


@export
def einsum(equation: Any, *operands: Any) -> Tensor:
    """Einstein summation, e.g. einsum('bij,bjk->bik', a, b); differentiable in every
    operand (each gradient is an einsum of the upstream gradient with the others).

    torch's forms: operands as a list (einsum('ij,jk', [a, b])), '...' for broadcast
    leading dims (einsum('...ij,...jk->...ik', a, b)), and the sublist form
    einsum(a, [0, 1], b, [1, 2], [0, 2]) with Ellipsis for '...'.
    """
    if not isinstance(equation, str):  # the sublist form
        equation, operands = _sublist_equation((equation, *operands))
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    spec = equation.replace(" ", "")
    inputs, arrow, output = spec.partition("->")
    terms = tuple(inputs.split(","))
    if len(terms) != len(operands):
        raise ValueError(f"einsum(): {len(terms)} subscripts but {len(operands)} operands")
    tensors = _tensors(operands)
    if "." in spec:
        terms, output, tensors = _expand_ellipsis(terms, output if arrow else None, tensors)
    elif not arrow:
        letters = "".join(terms)
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    common = tensors[0].dtype
    for t in tensors[1:]:
        common = dtypes.promote(common, t.dtype)
    return Einsum.apply(*[t.to(common) for t in tensors], inputs=terms, output=output)


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _sublist_equation(args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """einsum(a, [0, 1], b, [1, 2], [0, 2]) as ('ab,bc->ac', (a, b))."""

    def letters(sub: Any) -> str:
        return "".join("..." if s is Ellipsis else _LETTERS[int(s)] for s in sub)

    pairs = len(args) // 2
    operands = tuple(args[2 * i] for i in range(pairs))
    terms = [letters(args[2 * i + 1]) for i in range(pairs)]
    equation = ",".join(terms)
    if len(args) % 2:
        equation += "->" + letters(args[-1])
    return equation, operands


def _expand_ellipsis(
    terms: tuple[str, ...], output: str | None, tensors: list[Tensor]
) -> tuple[tuple[str, ...], str, list[Tensor]]:
    """'...' replaced by letters of its own: the dims it covers are right-aligned across
    operands and broadcast (size-1 dims expanded); without '->' they lead the output."""
    used = set("".join(terms) + (output or ""))
    free = [c for c in _LETTERS if c not in used]
    counts = [
        t.ndim - (len(term) - 3) if "..." in term else 0
        for term, t in zip(terms, tensors, strict=True)
    ]
    width = max(counts)
    dims = free[:width]
    sizes = [1] * width
    for term, t, k in zip(terms, tensors, counts, strict=True):
        start = term.index("...") if "..." in term else 0
        for j in range(k):
            n = t.shape[start + j]
            slot = width - k + j
            if n != 1 and sizes[slot] not in (1, n):
                raise ValueError(f"einsum(): '...' dims {t.shape} do not broadcast")
            sizes[slot] = max(sizes[slot], n)
    new_terms, new_tensors = [], []
    for term, t, k in zip(terms, tensors, counts, strict=True):
        if "..." in term:
            start = term.index("...")
            mine = "".join(dims[width - k :])
            target = list(t.shape[:start]) + sizes[width - k :] + list(t.shape[start + k :])
            if list(t.shape) != target:
                t = t.expand(*target)
            term = term.replace("...", mine)
        new_terms.append(term)
        new_tensors.append(t)
    if output is None:
        letters = "".join(new_terms)
        singles = sorted(c for c in set(letters) if letters.count(c) == 1 and c not in dims)
        output = "".join(dims) + "".join(singles)
    else:
        output = output.replace("...", "".join(dims))
    return tuple(new_terms), output, new_tensors


@export
def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Tensor, ...]:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    items = _tensors(tensors)
    shape = tuple(t.numel() for t in items)
    if indexing == "xy" and len(items) >= 2:
        shape = (shape[1], shape[0], *shape[2:])
    grids = []
    for i, t in enumerate(items):
        axis = i if indexing == "ij" or len(items) < 2 else {0: 1, 1: 0}.get(i, i)
        view = [1] * len(shape)
        view[axis] = -1
        grids.append(t.reshape(view).expand(shape))
    return tuple(grids)


@export
def broadcast_tensors(*tensors: Any) -> tuple[Tensor, ...]:
    items = _tensors(tensors)
    shape = np.broadcast_shapes(*(tuple(t.shape) for t in items))
    return tuple(t.expand(shape) for t in items)


@export
def broadcast_shapes(*shapes: Any) -> tuple[int, ...]:
    return tuple(
        np.broadcast_shapes(*(tuple(s) if not isinstance(s, int) else (s,) for s in shapes))
    )


@export
def cartesian_prod(*tensors: Tensor) -> Tensor:
    from chainrule.joining import stack

    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1) if len(grids) > 1 else grids[0]


@export
def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    if isinstance(dims, int):
        a_dims, b_dims = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        a_dims, b_dims = [list(d) if isinstance(d, (list, tuple)) else [d] for d in dims]
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    a_terms = [next(letters) for _ in range(a.ndim)]
    b_terms = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(a_dims, b_dims, strict=True):
        b_terms[j] = a_terms[i]
    kept = [c for i, c in enumerate(a_terms) if i not in a_dims]
    kept += [c for j, c in enumerate(b_terms) if j not in b_dims]
    return einsum("".join(a_terms) + "," + "".join(b_terms) + "->" + "".join(kept), a, b)


@export
def searchsorted(
    sorted_sequence: Tensor, values: Any, *, out_int32: bool = False, right: bool = False,
    side: str | None = None, sorter: Any = None,
) -> Tensor:  # fmt: skip
    seq = sorted_sequence.detach().numpy()
    vals = values.detach().numpy() if isinstance(values, Tensor) else np.asarray(values)
    which: Any = side or ("right" if right else "left")
    if seq.ndim == 1:
        found = np.searchsorted(seq, vals, side=which)
    else:
        found = np.stack(
            [np.searchsorted(s, v, side=which) for s, v in zip(seq, vals, strict=True)]
        )
    return Tensor._make(np.asarray(found).astype(np.int32 if out_int32 else np.int64), False)


@export
def bucketize(
    input: Any, boundaries: Tensor, *, out_int32: bool = False, right: bool = False
) -> Tensor:
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


@export
def cdist(x1: Tensor, x2: Tensor, p: float = 2.0) -> Tensor:
    """Pairwise p-norm distances between the rows of x1 (.., P, M) and x2 (.., R, M)."""
    difference = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return difference.norm(p, dim=-1)


@export
def normal(
    mean: Any = 0.0, std: Any = 1.0, size: Any = None, *, generator: Generator | None = None,
    out: Tensor | None = None, dtype: DTypeLike = None, **kw: Any,
) -> Tensor:  # fmt: skip
    """Samples of N(mean, std²): tensors of means/stds elementwise, or a `size` of them."""
    mean_a = mean.detach().numpy() if isinstance(mean, Tensor) else mean
    std_a = std.detach().numpy() if isinstance(std, Tensor) else std
    if size is not None:
        shape: Any = tuple(size) if not isinstance(size, int) else (size,)
    else:
        shape = np.broadcast_shapes(np.shape(mean_a), np.shape(std_a))
    like = next((t.dtype for t in (mean, std) if isinstance(t, Tensor)), None)
    target = dtypes.as_dtype(dtype) if dtype is not None else like or dtypes.get_default_dtype()
    gen = resolve(generator)
    shape = tuple(int(n) for n in shape)
    if not isinstance(mean, Tensor) and not isinstance(std, Tensor):
        values = boxmuller.normal(gen, shape, target, float(mean_a), float(std_a))
    elif not isinstance(std, Tensor):  # torch: normal_(0, std), then + mean
        values = boxmuller.normal(gen, shape, target, 0.0, float(std_a))
        values = values + np.asarray(mean_a, target)
    else:  # torch: normal_(0, 1), then * std + mean, in the result's dtype
        values = boxmuller.normal(gen, shape, target)
        values = values * np.asarray(std_a, target) + np.asarray(mean_a, target)
    result = Tensor._make(np.asarray(values), False)
    return result if out is None else write_out(out, result)


@export
def poisson(input: Tensor, generator: Generator | None = None) -> Tensor:
    rates = input.detach().numpy()
    return Tensor._make(numpy_stream(generator).poisson(rates).astype(rates.dtype), False)


@export
def result_type(tensor1: Any, tensor2: Any) -> np.dtype:
    a = tensor1 if isinstance(tensor1, Tensor) else Tensor(tensor1)
    b = tensor2 if isinstance(tensor2, Tensor) else Tensor(tensor2)
    return dtypes.promote(a.dtype, b.dtype, a.ndim == 0, b.ndim == 0)


@export
def promote_types(type1: DTypeLike, type2: DTypeLike) -> np.dtype:
    return dtypes.promote(dtypes.as_dtype(type1), dtypes.as_dtype(type2))


@export
def can_cast(from_: Any, to: Any) -> bool:
    return bool(np.can_cast(dtypes.as_dtype(from_), dtypes.as_dtype(to), casting="same_kind"))


def inclusive_range(
    start: Any, end: Any, step: Any = 1, *, out: Tensor | None = None, dtype: DTypeLike = None,
    device: DeviceLike = None, requires_grad: bool = False, **kw: Any,
) -> Tensor:  # fmt: skip
    """start, start + step, ..., up to end INCLUDED, in the default float dtype (torch's
    deprecated range; arange excludes end)."""
    count = int(np.floor((end - start) / step)) + 1
    target = dtypes.as_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()
    values = (start + np.arange(max(count, 0)) * step).astype(target)
    result = Tensor._make(values, False).requires_grad_(requires_grad)
    return result if out is None else write_out(out, result)


EXPORTS["range"] = inclusive_range  # not `def range`: this module uses the builtin


@export
def is_nonzero(input: Tensor) -> bool:
    if input.numel() != 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input.item())


@export
def numel(input: Tensor) -> int:
    return input.numel()


@export
def polygamma(n: int, input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """ψ⁽ⁿ⁾(input) (torch puts the order first)."""
    result = input.polygamma(n)
    return result if out is None else write_out(out, result)


@export
def real(input: Tensor) -> Tensor:
    """The real part: the tensor itself (chainrule tensors are real)."""
    return input


@export
def imag(input: Tensor) -> Tensor:
    return input.imag  # PyTorch's error for a real tensor


@export
def is_tensor(obj: object) -> bool:
    return isinstance(obj, Tensor)


@export
def is_storage(obj: object) -> bool:
    return False
