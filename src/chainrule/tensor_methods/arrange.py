"""Rearranging and combining: select, the h/v/d splits, rot90, kron, cross, diagflat, where
as a method, diff, vdot and the fused matrix products (addmv, addr, baddbmm, addbmm).

Each is a composition of recorded ops (indexing, flip, transpose, matmul, sum), so autograd
differentiates it with no backward of its own.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from chainrule import return_types
from chainrule.tensor import Tensor
from chainrule.tensor_methods._common import Scalar, _array, _axis, _plain, method
from chainrule.types import TensorLike

unique_consecutive_result = return_types._named("unique_consecutive", ("output", "counts"))


@method("select")
def select(self: Tensor, dim: builtins.int, index: builtins.int) -> Tensor:
    """self[..., index, ...] along dim (that dim removed)."""
    axis = _axis(self, dim)
    size = self.shape[axis]
    if not -size <= index < size:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {tuple(self.shape)} at "
            f"dimension {dim}"
        )
    return self[(slice(None),) * axis + (builtins.int(index),)]


def _split_along(self: Tensor, sections: Any, axis: builtins.int, name: str) -> tuple[Tensor, ...]:
    if isinstance(sections, builtins.int) and self.shape[axis] % sections:
        raise RuntimeError(
            f"torch.{name} attempted to split along dimension {axis}, but the size of the "
            f"dimension {self.shape[axis]} is not divisible by the split_size {sections}!"
        )
    return self.tensor_split(sections, axis)


@method("hsplit")
def hsplit(self: Tensor, sections: Any) -> tuple[Tensor, ...]:
    """Split along dim 1 (dim 0 for a vector)."""
    return _split_along(self, sections, 1 if self.ndim > 1 else 0, "hsplit")


@method("vsplit")
def vsplit(self: Tensor, sections: Any) -> tuple[Tensor, ...]:
    if self.ndim < 2:
        raise RuntimeError(
            "torch.vsplit requires a tensor with at least 2 dimension, but got a tensor with "
            f"{self.ndim} dimensions!"
        )
    return _split_along(self, sections, 0, "vsplit")


@method("dsplit")
def dsplit(self: Tensor, sections: Any) -> tuple[Tensor, ...]:
    if self.ndim < 3:
        raise RuntimeError(
            "torch.dsplit requires a tensor with at least 3 dimension, but got a tensor with "
            f"{self.ndim} dimensions!"
        )
    return _split_along(self, sections, 2, "dsplit")


@method("split_with_sizes", "unsafe_split_with_sizes")
def split_with_sizes(self: Tensor, split_sizes: Any, dim: builtins.int = 0) -> tuple[Tensor, ...]:
    return self.split(list(split_sizes), dim)


@method("unsafe_split")
def unsafe_split(self: Tensor, split_size: Any, dim: builtins.int = 0) -> tuple[Tensor, ...]:
    """split (PyTorch's unsafe_ variants skip a view check chainrule does not make)."""
    return self.split(split_size, dim)


@method("unsafe_chunk")
def unsafe_chunk(self: Tensor, chunks: builtins.int, dim: builtins.int = 0) -> tuple[Tensor, ...]:
    return self.chunk(chunks, dim)


@method("rot90")
def rot90(self: Tensor, k: builtins.int = 1, dims: Any = (0, 1)) -> Tensor:
    """Rotate by 90° k times in the plane of dims, from dims[0] towards dims[1]."""
    a, b = (_axis(self, d) for d in dims)
    k %= 4
    if k == 1:
        return self.flip(b).transpose(a, b)
    if k == 2:
        return self.flip([a, b])
    if k == 3:
        return self.transpose(a, b).flip(b)
    return self.clone()


@method("kron")
def kron(self: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: out[i·p + k, j·q + l] = self[i, j] · other[k, l] (any ndim)."""
    n = builtins.max(self.ndim, other.ndim)
    a = self.reshape((1,) * (n - self.ndim) + tuple(self.shape))
    b = other.reshape((1,) * (n - other.ndim) + tuple(other.shape))
    # interleave: a's dims at even positions, b's at odd, then merge each pair
    a_view = a.reshape([s for d in a.shape for s in (d, 1)])
    b_view = b.reshape([s for d in b.shape for s in (1, d)])
    return (a_view * b_view).reshape([x * y for x, y in zip(a.shape, b.shape, strict=True)])


@method("cross")
def cross(self: Tensor, other: Tensor, dim: Any = None) -> Tensor:
    """The 3-vector cross product along dim (torch.cross's default: the first dim of size 3)."""
    a, b = self, other
    if a.shape != b.shape:
        shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
        a, b = a.expand(shape), b.expand(shape)
    if dim is None:
        dim = next((i for i, s in enumerate(a.shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    axis = _axis(a, dim)
    if a.shape[axis] != 3:
        raise RuntimeError(
            f"linalg.cross: inputs dimension {dim} must have length 3. Got {a.shape[axis]} "
            f"and {b.shape[axis]}"
        )
    ax, ay, az = a.unbind(axis)
    bx, by, bz = b.unbind(axis)
    from chainrule.joining import stack

    return stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], axis)


@method("diagflat")
def diagflat(self: Tensor, offset: builtins.int = 0) -> Tensor:
    return self.reshape(-1).diag(offset)


@method("where")
def where(self: Tensor, condition: Any, other: TensorLike) -> Tensor:
    """self where condition holds, other elsewhere (torch.where(condition, self, other))."""
    from chainrule.joining import where as pick

    return pick(condition, self, other)


@method("diff")
def diff(
    self: Tensor, n: builtins.int = 1, dim: builtins.int = -1, prepend: Any = None,
    append: Any = None,
) -> Tensor:  # fmt: skip
    """The n-th forward difference x[i+1] - x[i] along dim, after joining prepend/append."""
    from chainrule.joining import cat

    x = self
    if prepend is not None or append is not None:
        parts = [
            p if isinstance(p, Tensor) else Tensor(p) for p in (prepend, x, append) if p is not None
        ]
        x = cat(parts, dim)
    for _ in range(n):
        length = x.shape[dim]
        x = x.narrow(dim, 1, length - 1) - x.narrow(dim, 0, length - 1)
    return x


@method("vdot")
def vdot(self: Tensor, other: Tensor) -> Tensor:
    """Σ self_i · other_i of two 1-D tensors (conjugation is the identity on reals)."""
    return self.dot(other)


@method("addmv")
def addmv(self: Tensor, mat: Tensor, vec: Tensor, *, beta: Scalar = 1, alpha: Scalar = 1) -> Tensor:
    """beta · self + alpha · (mat @ vec)."""
    return beta * self + alpha * mat.mv(vec)


@method("addr")
def addr(
    self: Tensor, vec1: Tensor, vec2: Tensor, *, beta: Scalar = 1, alpha: Scalar = 1
) -> Tensor:
    """beta · self + alpha · outer(vec1, vec2)."""
    return beta * self + alpha * vec1.outer(vec2)


@method("baddbmm")
def baddbmm(
    self: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Scalar = 1, alpha: Scalar = 1
) -> Tensor:
    """beta · self + alpha · (batch1 @ batch2), batch by batch."""
    return beta * self + alpha * batch1.bmm(batch2)


@method("addbmm")
def addbmm(
    self: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Scalar = 1, alpha: Scalar = 1
) -> Tensor:
    """beta · self + alpha · Σ_b batch1[b] @ batch2[b]."""
    return beta * self + alpha * batch1.bmm(batch2).sum(0)


@method("narrow_copy")
def narrow_copy(
    self: Tensor, dim: builtins.int, start: builtins.int, length: builtins.int
) -> Tensor:
    return self.narrow(dim, start, length).clone()


@method("unique_consecutive")
def unique_consecutive(
    self: Tensor, return_inverse: builtins.bool = False, return_counts: builtins.bool = False,
    dim: Any = None,
) -> Any:  # fmt: skip
    """Collapse runs of equal values (of the flattened tensor; dim=None only)."""
    if dim is not None:
        raise NotImplementedError(
            "chainrule does not implement unique_consecutive(dim=...); see docs/pytorch-coverage.md"
        )
    flat = _array(self).reshape(-1)
    starts = np.ones(flat.shape, dtype=bool)
    starts[1:] = flat[1:] != flat[:-1]
    output = _plain(flat[starts])
    results: list[Tensor] = [output]
    if return_inverse:
        results.append(_plain((np.cumsum(starts) - 1).reshape(self.shape).astype(np.int64)))
    if return_counts:
        edges = np.flatnonzero(np.append(starts, True))
        results.append(_plain(np.diff(edges).astype(np.int64)))
    return output if len(results) == 1 else tuple(results)


@method("nonzero_static")
def nonzero_static(self: Tensor, *, size: builtins.int, fill_value: builtins.int = -1) -> Tensor:
    """nonzero() cut or padded with fill_value to exactly `size` rows."""
    found = np.argwhere(_array(self)).astype(np.int64)
    out = np.full((size, self.ndim), fill_value, dtype=np.int64)
    out[: builtins.min(size, len(found))] = found[:size]
    return _plain(out)


@method("sum_to_size")
def sum_to_size(self: Tensor, *size: Any) -> Tensor:
    """Sum over the dims that `size` broadcasts (the reverse of expand)."""
    target = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], builtins.int) else size
    lead = self.ndim - len(target)
    out = self.sum(tuple(range(lead))) if lead > 0 else self
    dims = tuple(
        i for i, (s, t) in enumerate(zip(out.shape, target, strict=True)) if t == 1 and s != 1
    )
    return out.sum(dims, keepdim=True) if dims else out
