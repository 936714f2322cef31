"""`torch.autograd.functional` (as `chainrule.autograd.functional`): vjp, jvp, jacobian,
hessian, hvp and vhp of a function of tensors, built on `autograd.grad` and, for the
second-order ones and jvp, on create_graph=True (chainrule.higher_order).

- vjp(f, x, v) = vᵀ·J: one backward pass;
- jvp(f, x, v) = J·v by the double-vjp trick: g(u) = uᵀ·J is linear in u, so J·v is the
  gradient of ⟨g(u), v⟩ with respect to u;
- jacobian(f, x): one backward pass per output element, J[i, ...] = d out[i] / d x;
- hessian(f, x) = jacobian of the gradient; hvp(f, x, v) = H·v = d⟨∇f, v⟩/dx; vhp = vᵀ·H.

The inputs are detached copies that require grad (as in PyTorch); results are detached
unless create_graph=True. Shapes: a jacobian is out.shape + x.shape per (output, input).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chainrule import autograd, creation
from chainrule.autograd import enable_grad
from chainrule.autograd_function import grad
from chainrule.joining import stack
from chainrule.tensor import Tensor


def _as_tuple(x: Any) -> tuple[bool, tuple[Any, ...]]:
    return (True, (x,)) if isinstance(x, Tensor) else (False, tuple(x))


def _prepare(inputs: Any, create_graph: bool) -> tuple[bool, tuple[Tensor, ...]]:
    single, ins = _as_tuple(inputs)
    if create_graph:
        return single, tuple(x if x.requires_grad else x.detach().requires_grad_() for x in ins)
    return single, tuple(x.detach().requires_grad_() for x in ins)


def _grads(outs: Any, ins: Any, v: Any, create_graph: bool) -> tuple[Tensor, ...]:
    got = grad(
        outs, ins, v, create_graph=True, allow_unused=True, materialize_grads=True
    ) if create_graph else grad(
        outs, ins, v, retain_graph=True, allow_unused=True, materialize_grads=True
    )  # fmt: skip
    return tuple(
        g if g is not None else creation.zeros_like(x) for g, x in zip(got, ins, strict=True)
    )


def _directions(v: Any, ins: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    """The vectors of a product with J or H: `v` as a tuple, ones like the input when None."""
    return (creation.ones_like(ins[0]),) if v is None else _as_tuple(v)[1]


def _through_gradient(
    g: Any, vs: Any, wrt: Any, shapes: Any, create_graph: bool
) -> tuple[Tensor, ...]:
    """Σ_i v_i·∂g_i/∂wrt over the gradients g_i that depend on `wrt` (a second backward,
    through the first one's graph); zeros shaped like `shapes` when none does."""
    keep = [(gi, vi) for gi, vi in zip(g, vs, strict=False) if gi is not None and gi.requires_grad]
    if not keep:
        return tuple(creation.zeros_like(t) for t in shapes)
    return _grads([k[0] for k in keep], wrt, [k[1] for k in keep], create_graph)


def _out(value: Any, create_graph: bool) -> Any:
    if isinstance(value, tuple):
        return tuple(_out(v, create_graph) for v in value)
    return value if create_graph else value.detach()


def _pack(single: bool, values: tuple[Any, ...]) -> Any:
    return values[0] if single else values


def vjp(
    func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:  # fmt: skip
    """(func(inputs), vᵀ·J)."""
    single, ins = _prepare(inputs, create_graph)
    with enable_grad():
        out = func(*ins)
        out_single, outs = _as_tuple(out)
        vs = None if v is None else _as_tuple(v)[1]
        grads = _grads(outs, ins, vs, create_graph)
    return _out(out, create_graph), _out(_pack(single, grads), create_graph)


def jvp(
    func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:  # fmt: skip
    """(func(inputs), J·v)."""
    single, ins = _prepare(inputs, create_graph)
    with enable_grad():
        out = func(*ins)
        out_single, outs = _as_tuple(out)
        dummies = tuple(creation.zeros_like(o).requires_grad_() for o in outs)
        g = grad(outs, ins, dummies, create_graph=True, allow_unused=True, materialize_grads=True)
        result = _through_gradient(g, _directions(v, ins), dummies, outs, create_graph)
    return _out(out, create_graph), _out(_pack(out_single, result), create_graph)


def jacobian(
    func: Callable[..., Any], inputs: Any, create_graph: bool = False, strict: bool = False,
    vectorize: bool = False, strategy: str = "reverse-mode",
) -> Any:  # fmt: skip
    """d out / d x for every (output, input): shape out.shape + x.shape."""
    single, ins = _prepare(inputs, create_graph)
    with enable_grad():
        out = func(*ins)
        out_single, outs = _as_tuple(out)
        table = []
        for o in outs:
            flat = o.reshape(-1)
            rows: list[list[Tensor]] = [[] for _ in ins]
            for i in range(flat.shape[0]):
                for k, g in enumerate(_grads(flat[i], ins, None, create_graph)):
                    rows[k].append(g)
            table.append(
                tuple(
                    _out(
                        stack(r, 0).reshape(tuple(o.shape) + tuple(x.shape))
                        if r
                        else creation.zeros(tuple(o.shape) + tuple(x.shape), dtype=x.dtype),
                        create_graph,
                    )
                    for r, x in zip(rows, ins, strict=True)
                )
            )
    per_output = [_pack(single, row) for row in table]
    return per_output[0] if out_single else tuple(per_output)


def hessian(
    func: Callable[..., Any], inputs: Any, create_graph: bool = False, strict: bool = False,
    vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode",
) -> Any:  # fmt: skip
    """The jacobian of the gradient of a scalar func: x.shape + x.shape per pair."""
    single, _ = _as_tuple(inputs)

    def gradient(*xs: Tensor) -> Any:
        out = func(*xs)
        return _pack(single, grad(out, xs, create_graph=True, allow_unused=True,
                                  materialize_grads=True))  # fmt: skip

    return jacobian(gradient, inputs, create_graph=create_graph)


def hvp(
    func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:  # fmt: skip
    """(func(inputs), H·v) for a scalar func."""
    single, ins = _prepare(inputs, create_graph)
    with enable_grad():
        out = func(*ins)
        g = grad(out, ins, create_graph=True, allow_unused=True, materialize_grads=True)
        result = _through_gradient(g, _directions(v, ins), ins, ins, create_graph)
    return _out(out, create_graph), _out(_pack(single, result), create_graph)


def vhp(
    func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:  # fmt: skip
    """(func(inputs), vᵀ·H): H is symmetric, so the same numbers as hvp."""
    return hvp(func, inputs, v, create_graph, strict)


autograd.functional = __import__(__name__, fromlist=["vjp"])  # type: ignore[attr-defined]
