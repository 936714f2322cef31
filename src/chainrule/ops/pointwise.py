"""PyTorch's elementwise math beyond the core ops, one table row per function.

Each row is a name, the forward on an ndarray and the local derivative d out / d x written
from the input x and the saved output y; `unary_op(name)` turns a row into a `Function`
subclass named like PyTorch's node (`SinBackward`), so backward is the chain rule
grad · f'(x) as for every other op. Rounding functions (floor, sign, ...) are piecewise
constant: their derivative is 0, as in PyTorch.

Binary rows give both partial derivatives (d/da, d/db) from a, b and the output.
"""

from __future__ import annotations

import dis
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.autograd import Function
from chainrule.ops import special
from chainrule.ops.activation import erf

Array = np.ndarray
_LN2, _LN10 = np.log(2.0), np.log(10.0)
_TWO_OVER_SQRT_PI = 2 / np.sqrt(np.pi)


def _zero(x: Array, y: Array) -> Array:
    return np.zeros_like(x)


def _erfinv(y: Array) -> Array:
    """The inverse of erf by Newton's method on erf (quadratic convergence from a close
    start: Giles' single-precision approximation), to float64 precision."""
    y64 = np.asarray(y, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = -np.log((1 - y64) * (1 + y64))
        x = np.where(
            w < 5,
            y64 * (1.5774 + 0.2 * (w - 2.5)),
            y64 * (2.83 + 0.25 * (np.sqrt(np.maximum(w, 0)) - 3)),
        )
        inside = np.abs(y64) < 1
        x = np.where(inside, x, 0.0)
        for _ in range(8):
            x = x - np.where(inside, (erf(x) - y64) / (_TWO_OVER_SQRT_PI * np.exp(-x * x)), 0)
        x = np.where(np.abs(y64) == 1, np.sign(y64) * np.inf, np.where(inside, x, np.nan))
    return x.astype(np.result_type(y))


# name: (forward, derivative(x, y), float_only). float_only: integer inputs become the
# default float first (torch.sin of an int tensor is float32); otherwise the dtype is kept.
UNARY: dict[str, tuple[Callable[[Array], Array], Callable[[Array, Array], Array], bool]] = {
    "sin": (np.sin, lambda x, y: np.cos(x), True),
    "cos": (np.cos, lambda x, y: -np.sin(x), True),
    "tan": (np.tan, lambda x, y: 1 + y * y, True),
    "asin": (np.arcsin, lambda x, y: 1 / np.sqrt(1 - x * x), True),
    "acos": (np.arccos, lambda x, y: -1 / np.sqrt(1 - x * x), True),
    "atan": (np.arctan, lambda x, y: 1 / (1 + x * x), True),
    "sinh": (np.sinh, lambda x, y: np.cosh(x), True),
    "cosh": (np.cosh, lambda x, y: np.sinh(x), True),
    "asinh": (np.arcsinh, lambda x, y: 1 / np.sqrt(x * x + 1), True),
    "acosh": (np.arccosh, lambda x, y: 1 / np.sqrt(x * x - 1), True),
    "atanh": (np.arctanh, lambda x, y: 1 / (1 - x * x), True),
    "log2": (np.log2, lambda x, y: 1 / (x * _LN2), True),
    "log10": (np.log10, lambda x, y: 1 / (x * _LN10), True),
    "log1p": (np.log1p, lambda x, y: 1 / (1 + x), True),
    "expm1": (np.expm1, lambda x, y: y + 1, True),
    "exp2": (np.exp2, lambda x, y: y * _LN2, True),
    "rsqrt": (lambda x: 1 / np.sqrt(x), lambda x, y: -0.5 * y * y * y, True),
    "reciprocal": (lambda x: 1 / x, lambda x, y: -y * y, True),
    "square": (np.square, lambda x, y: 2 * x, False),
    "erf": (erf, lambda x, y: _TWO_OVER_SQRT_PI * np.exp(-x * x), True),
    "erfc": (lambda x: 1 - erf(x), lambda x, y: -_TWO_OVER_SQRT_PI * np.exp(-x * x), True),
    "erfinv": (_erfinv, lambda x, y: np.exp(y * y) / _TWO_OVER_SQRT_PI, True),
    "deg2rad": (np.deg2rad, lambda x, y: np.full_like(x, np.pi / 180), True),
    "rad2deg": (np.rad2deg, lambda x, y: np.full_like(x, 180 / np.pi), True),
    "lgamma": (special.lgamma, lambda x, y: special.digamma(x), True),
    "digamma": (special.digamma, lambda x, y: special.polygamma(1, x), True),
    "i0": (special.i0, lambda x, y: special.i1(x), True),
    "sign": (np.sign, _zero, False),
    "sgn": (np.sign, _zero, False),
    "floor": (np.floor, _zero, False),
    "ceil": (np.ceil, _zero, False),
    "trunc": (np.trunc, _zero, False),
    "fix": (np.trunc, _zero, False),
    "frac": (lambda x: x - np.trunc(x), lambda x, y: np.ones_like(x), False),
    "positive": (lambda x: x, lambda x, y: np.ones_like(x), False),
    "logit": (lambda x: np.log(x / (1 - x)), lambda x, y: 1 / (x * (1 - x)), True),
    "sinc": (
        lambda x: np.sinc(x),
        lambda x, y: np.where(x == 0, 0, (np.cos(np.pi * x) - y) / np.where(x == 0, 1, x)).astype(
            x.dtype
        ),
        True,
    ),
}


class _Unary(Function):
    """grad · f'(x), with f and f' from the UNARY table."""

    _forward: Callable[[Array], Array]
    _derivative: Callable[[Array, Array], Array]

    def forward(self, x: Array) -> Array:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = np.asarray(type(self)._forward(x)).astype(x.dtype, copy=False)
        self.x, self.out = x, out
        return out

    def backward(self, grad: Array) -> Array:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            local = type(self)._derivative(self.x, self.out)
        return (grad * local).astype(grad.dtype, copy=False)


class Round(Function):
    """Round half to even, optionally to `decimals` places; derivative 0 (piecewise constant)."""

    def forward(self, x: Array, decimals: int = 0) -> Array:
        return np.round(x, decimals)

    def backward(self, grad: Array) -> Array:
        return np.zeros_like(grad)


class Polygamma(Function):
    """ψ⁽ⁿ⁾(x), the n-th derivative of digamma; its derivative is ψ⁽ⁿ⁺¹⁾(x)."""

    saved = ((0, None),)

    def forward(self, x: Array, n: int) -> Array:
        self.x, self.n = x, n
        return special.polygamma(n, x).astype(x.dtype)

    def backward(self, grad: Array) -> Array:
        return (grad * special.polygamma(self.n + 1, self.x)).astype(grad.dtype)


def _no_input_grad(name: str) -> Callable[..., Array]:
    def fail(a: Array, b: Array, y: Array) -> Array:
        raise RuntimeError(f"the derivative for '{name}: input' is not implemented.")

    return fail


# name: (forward(a, b), d/da(a, b, y), d/db(a, b, y))
BINARY: dict[str, tuple[Callable[..., Array], Callable[..., Array], Callable[..., Array]]] = {
    "atan2": (
        np.arctan2,
        lambda a, b, y: b / (a * a + b * b),
        lambda a, b, y: -a / (a * a + b * b),
    ),
    "hypot": (np.hypot, lambda a, b, y: a / y, lambda a, b, y: b / y),
    "fmod": (np.fmod, lambda a, b, y: np.ones_like(y), lambda a, b, y: -np.trunc(a / b)),
    "remainder": (
        np.remainder,
        lambda a, b, y: np.ones_like(y),
        lambda a, b, y: -np.floor(a / b),
    ),
    "logaddexp": (
        np.logaddexp,
        lambda a, b, y: np.exp(a - y),
        lambda a, b, y: np.exp(b - y),
    ),
    "logaddexp2": (
        np.logaddexp2,
        lambda a, b, y: np.exp2(a - y),
        lambda a, b, y: np.exp2(b - y),
    ),
    "copysign": (
        np.copysign,
        lambda a, b, y: np.where(a == 0, 0, np.sign(a) * np.sign(y)),
        lambda a, b, y: np.zeros_like(y),
    ),
    "xlogy": (
        lambda a, b: np.where(a == 0, 0, a * np.log(b)),
        lambda a, b, y: np.where(a == 0, 0, np.log(b)),
        lambda a, b, y: a / b,
    ),
    # torch differentiates the incomplete gamma in x only
    "igamma": (
        special.igamma,
        _no_input_grad("igamma"),
        lambda a, b, y: special.igamma_dx(a, b).astype(y.dtype),
    ),
    "igammac": (
        special.igammac,
        _no_input_grad("igammac"),
        lambda a, b, y: -special.igamma_dx(a, b).astype(y.dtype),
    ),
}


class _Binary(Function):
    """(grad · dy/da, grad · dy/db), from the BINARY table."""

    _forward: Callable[..., Array]
    _grad_a: Callable[..., Array]
    _grad_b: Callable[..., Array]

    def forward(self, a: Array, b: Array) -> Array:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = np.asarray(type(self)._forward(a, b)).astype(np.result_type(a, b), copy=False)
        self.a, self.b, self.out = a, b, out
        return out

    def backward(self, grad: Array) -> tuple[Array | None, Array | None]:
        need_a, need_b = self.needs_input_grad
        cls = type(self)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            grad_a = grad * cls._grad_a(self.a, self.b, self.out) if need_a else None
            grad_b = grad * cls._grad_b(self.a, self.b, self.out) if need_b else None
        return grad_a, grad_b


def _reads(fn: Callable[..., Array], argument: str) -> bool:
    """Whether a derivative row reads one of its arguments (its code loads that name)."""
    return any(
        ins.opname.startswith("LOAD_FAST") and argument in str(ins.argval)
        for ins in dis.get_instructions(fn)
    )


def _saved(base: type[Function], row: tuple[Any, ...]) -> tuple[tuple[int, int | None], ...]:
    """What a row's backward reads from forward (for the in-place check, Function.saved):
    the input and/or the output, and for a binary row under which gradient's condition."""
    if base is _Unary:
        derivative = row[1]
        return tuple(
            (index, None) for index, name in ((0, "x"), (-1, "y")) if _reads(derivative, name)
        )
    saved: list[tuple[int, int | None]] = []
    for index, name in ((0, "a"), (1, "b"), (-1, "y")):
        by_a, by_b = _reads(row[1], name), _reads(row[2], name)
        if by_a or by_b:
            saved.append((index, None if by_a and by_b else 0 if by_a else 1))
    return tuple(saved)


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _build(
    table: dict[str, Any], base: type[Function], fields: tuple[str, ...]
) -> dict[str, type[Function]]:
    classes: dict[str, type[Function]] = {}
    for name, row in table.items():
        attrs: dict[str, Any] = {
            field: staticmethod(fn) for field, fn in zip(fields, row, strict=False)
        }
        attrs["__doc__"] = f"torch.{name}, elementwise (see the table in this module)."
        attrs["saved"] = _saved(base, row)
        classes[name] = type(_class_name(name), (base,), attrs)
    return classes


UNARY_OPS = _build(UNARY, _Unary, ("_forward", "_derivative"))
BINARY_OPS = _build(BINARY, _Binary, ("_forward", "_grad_a", "_grad_b"))
FLOAT_ONLY = frozenset(name for name, row in UNARY.items() if row[2])
