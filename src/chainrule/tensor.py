"""`Tensor`: an ndarray that remembers how it was computed, so it can backpropagate.

Every operator and method here is a thin wrapper: the arithmetic and its derivative live in
one small `Function` per op in `chainrule.ops`; the graph walk lives in `chainrule.autograd`.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from chainrule import autograd, dtypes, ops, printing, return_types
from chainrule.autograd import Function, is_grad_enabled, run_backward
from chainrule.devices import check_device, target_dtype
from chainrule.devices import device as cpu_device
from chainrule.size import Size

Scalar = int | float | bool


class Tensor:
    """A multi-dimensional array with reverse-mode automatic differentiation.

    Attributes:
        data: as in PyTorch, a Tensor with the same values (same memory) that is cut off from
            the graph: ``p.data -= lr * p.grad`` updates ``p`` unseen by autograd. The ndarray
            itself is ``t.detach().numpy()`` (the engine keeps it in ``_data``).
        grad: after ``backward()``, a Tensor with d(output)/d(self); gradients accumulate
            across backward calls until zeroed, as in PyTorch.
        requires_grad: whether operations on this tensor are recorded for backward.

    Example::

        >>> x = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        tensor([2., 4., 6.])
    """

    __slots__ = (
        "_data",
        "_vc",
        "grad",
        "requires_grad",
        "_ctx",
        "_retains_grad",
        "_seq",
        "_flow",
        "_prev",  # after an in-place op in the graph: this tensor's version before it
        "_base",  # for a view (basic index, reshape, permute): the tensor it views
        "_view_of",  # for a view: (op, options) that made it, to redo on a gradient
        "__weakref__",
    )
    __array_ufunc__ = None  # make `ndarray + Tensor` call Tensor.__radd__

    _data: np.ndarray
    _vc: autograd.VersionCounter | None
    grad: Tensor | None
    requires_grad: builtins.bool
    _ctx: Function | None
    _seq: builtins.int
    _flow: np.ndarray | None
    _retains_grad: builtins.bool

    def __init__(self, data: Any, dtype: Any = None, requires_grad: builtins.bool = False) -> None:
        self._data = dtypes.to_array(data._data if isinstance(data, Tensor) else data, dtype)
        self._vc = None
        self.grad = None
        self._ctx = None
        self._retains_grad = False
        self._seq = 0
        self._flow = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _make(data: np.ndarray, requires_grad: builtins.bool) -> Tensor:
        """Wrap an ndarray without copying or checking: the engine's fast path."""
        t = _new_object(Tensor)
        t._data = data
        t._vc = None  # the version counter, made on first need (see autograd.VersionCounter)
        t.grad = None
        t.requires_grad = requires_grad
        t._ctx = None
        t._retains_grad = False
        t._seq = 0  # creation number of graph tensors (see autograd.run_backward)
        t._flow = None  # the gradient arriving during a backward pass
        return t

    # ------------------------------------------------------------------ properties
    @property
    def data(self) -> Tensor:
        """The values as a Tensor outside the graph, sharing this tensor's memory (PyTorch's
        `.data`): in-place changes through it change this tensor and are not seen by
        autograd (it has a version counter of its own, unlike `detach()`)."""
        return Tensor._make(self._data, False)

    @data.setter
    def data(self, value: Tensor) -> None:
        """`t.data = other` makes t hold other's values (its memory, shape and dtype)."""
        if not isinstance(value, Tensor):
            raise TypeError(
                f"Tensor.data must be set to a Tensor, got {type(value).__name__}; "
                "use chainrule.tensor(...) or chainrule.from_numpy(...) first"
            )
        self._data = value._data

    @property
    def _version(self) -> builtins.int:
        """How many times this tensor's memory was changed in place (PyTorch's `_version`)."""
        return 0 if self._vc is None else self._vc.value

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> builtins.int:
        return self._data.ndim

    @property
    def is_leaf(self) -> builtins.bool:
        """True for tensors created by the user rather than by an op that records a graph."""
        return self._ctx is None

    @property
    def grad_fn(self) -> Function | None:
        """The graph node that produced this tensor (None for leaves)."""
        return self._ctx

    @property
    def T(self) -> Tensor:  # PyTorch's name
        """The tensor with its dimensions reversed (a transpose for matrices)."""
        return self.permute(*reversed(range(self.ndim)))

    def size(self, dim: builtins.int | None = None) -> Any:
        return Size(self._data.shape) if dim is None else self._data.shape[dim]

    def dim(self) -> builtins.int:
        return self._data.ndim

    def numel(self) -> builtins.int:
        return int(self._data.size)

    def __len__(self) -> builtins.int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    # ------------------------------------------------------------------ conversion
    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shares memory, as in PyTorch)."""
        if self.requires_grad:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. "
                "Use tensor.detach().numpy() instead."
            )
        return self._data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self._data if dtype is None else self._data.astype(dtype)

    def item(self) -> Any:
        if self._data.size != 1:
            raise ValueError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return self._data.item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def __float__(self) -> builtins.float:
        return float(self.item())

    def __int__(self) -> builtins.int:
        return int(self.item())

    def __bool__(self) -> builtins.bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self._data.size} values is ambiguous"
            )
        return bool(self._data)

    def __index__(self) -> builtins.int:
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self._data)

    def detach(self) -> Tensor:
        """A tensor sharing the same data, cut off from the graph.

        It shares the version counter too (as in PyTorch): changing it in place while the
        original is saved for backward makes that backward raise.
        """
        out = Tensor._make(self._data, False)
        out._vc = autograd.version_counter(self)
        return out

    def clone(self) -> Tensor:
        """A copy that stays in the graph (gradients flow back to the original)."""
        return ops.Clone.apply(self)

    def requires_grad_(self, requires_grad: builtins.bool = True) -> Tensor:
        if requires_grad and not dtypes.is_floating(self._data.dtype):
            raise RuntimeError(
                f"only floating point tensors can require gradients (this one is {self.dtype})"
            )
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep `.grad` for this non-leaf tensor after backward."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        self._retains_grad = True

    def to(self, *args: Any, dtype: Any = None, device: Any = None) -> Tensor:
        """The same values as a dtype (stays in the graph when the dtype is floating).

        ``x.to("cpu")``, ``x.to(device)`` and ``x.to(device, dtype)`` work as in PyTorch;
        chainrule computes on the CPU only.
        """
        dtype = target_dtype(args, dtype, device)
        if dtype is None:
            return self
        target = dtypes.as_dtype(dtype)
        if target == self._data.dtype:
            return self
        if self.requires_grad and dtypes.is_floating(target) and is_grad_enabled():
            return ops.Cast.apply(self, dtype=target)
        return Tensor._make(self._data.astype(target), False)

    type = to

    def cpu(self) -> Tensor:
        return self

    @property
    def device(self) -> cpu_device:
        return cpu_device("cpu")

    def float(self) -> Tensor:
        return self.to(dtypes.float32)

    def double(self) -> Tensor:
        return self.to(dtypes.float64)

    def long(self) -> Tensor:
        return self.to(dtypes.int64)

    def int(self) -> Tensor:
        return self.to(dtypes.int32)

    def bool(self) -> Tensor:
        return self.to(dtypes.bool_)

    # ------------------------------------------------------------------ autograd
    def backward(self, gradient: Any = None, retain_graph: builtins.bool = False) -> None:
        """Compute d(self)/d(leaf) for every leaf that requires a gradient, into `leaf.grad`.

        Args:
            gradient: d(loss)/d(self), needed when self is not a scalar.
            retain_graph: keep the saved values so backward can run through the graph again.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn"
            )
        if gradient is None:
            if self._data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs; this output has "
                    f"shape {self.shape}: pass backward(gradient=...) of the same shape"
                )
            data = self._data  # a 0-d seed is made faster directly than with ones_like
            seed = np.array(1, data.dtype) if data.ndim == 0 else np.ones_like(data)
        else:
            seed = np.asarray(gradient._data if isinstance(gradient, Tensor) else gradient)
            if seed.shape != self.shape:
                raise ValueError(
                    f"backward: gradient has shape {seed.shape} but the output has shape "
                    f"{self.shape}"
                )
            seed = seed.astype(self._data.dtype)  # a copy: a leaf's .grad must not alias it
        run_backward(self, seed, retain_graph)

    # ------------------------------------------------------------------ arithmetic
    def _operand(self, other: Any) -> Tensor:
        """`other` as a tensor; Python scalars take this tensor's dtype (no upcast)."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (bool, int, float)):
            dtype = self._data.dtype
            if isinstance(other, float) and dtype.kind != "f":
                dtype = dtypes.DEFAULT_FLOAT
            elif isinstance(other, int) and not isinstance(other, bool) and dtype.kind == "b":
                dtype = dtypes.int64
            return Tensor._make(np.array(other, dtype=dtype), False)
        return Tensor._make(dtypes.to_array(other), False)

    def __add__(self, other: Any) -> Tensor:
        return ops.binary(ops.Add, self, self._operand(other))

    def __radd__(self, other: Any) -> Tensor:
        return ops.binary(ops.Add, self._operand(other), self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.binary(ops.Sub, self, self._operand(other))

    def __rsub__(self, other: Any) -> Tensor:
        return ops.binary(ops.Sub, self._operand(other), self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.binary(ops.Mul, self, self._operand(other))

    def __rmul__(self, other: Any) -> Tensor:
        return ops.binary(ops.Mul, self._operand(other), self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.binary(ops.Div, self._as_float(), self._operand(other)._as_float())

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.binary(ops.Div, self._operand(other)._as_float(), self._as_float())

    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, (int, float)) and not isinstance(exponent, bool):
            return ops.PowScalar.apply(self, exponent=exponent)
        return ops.binary(ops.Pow, self, self._operand(exponent))

    def __rpow__(self, base: Any) -> Tensor:
        return ops.binary(ops.Pow, self._operand(base), self)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.matmul(self, self._operand(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.matmul(self._operand(other), self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return self.abs()

    def _as_float(self) -> Tensor:
        return self if self._data.dtype.kind == "f" else self.to(dtypes.DEFAULT_FLOAT)

    # ------------------------------------------------------------------ in-place
    # Outside the graph (no_grad, or nothing requires grad) an in-place op is one NumPy call
    # into this tensor's memory, as a hand-written SGD step needs. Inside the graph it is
    # recorded as PyTorch does: the new values are computed by the ordinary ops from a
    # snapshot of the old version, written into this tensor's memory, and this tensor takes
    # the result's place in the graph (nodes that used the old version still reach it,
    # through `_prev`). If this tensor is a view, its base is rebased onto it (ViewScatter).
    def _records_inplace(self, other: Any) -> builtins.bool:
        if not is_grad_enabled():
            return False
        return self.requires_grad or (isinstance(other, Tensor) and other.requires_grad)

    def _check_inplace(self) -> None:
        if not self._data.flags.writeable:
            raise RuntimeError(
                "unsupported operation: more than one element of the written-to tensor refers "
                "to a single memory location. Please clone() the tensor before performing the "
                "operation."
            )

    def _check_inplace_in_graph(self) -> None:
        if self.requires_grad and self._ctx is None:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation. "
                "(Wrap a weight update in `with chainrule.no_grad():`, or update `p.data`.)"
            )
        base = getattr(self, "_base", None)
        while base is not None:
            if base.requires_grad and base._ctx is None:
                raise RuntimeError(
                    "a view of a leaf Variable that requires grad is being used in an in-place "
                    "operation."
                )
            base = getattr(base, "_base", None)

    def _snapshot(self) -> Tensor:
        """This tensor's current place in the graph as a new object: same memory and version
        counter (a node that saved this memory sees the change), same node and number."""
        old = Tensor._make(self._data, self.requires_grad)
        old._vc = autograd.version_counter(self)
        old._ctx, old._seq = self._ctx, self._seq
        previous = getattr(self, "_prev", None)
        if previous is not None:
            old._prev = previous
        return old

    def _record_inplace(self, compute: Any) -> Tensor:
        """Run `compute(old_version) -> new values` in the graph and make self hold them."""
        if autograd._recorders:
            raise ValueError(
                "compile_step: the model changes a tensor in place inside the graph, which a "
                "replay cannot follow; train this model eagerly"
            )
        self._check_inplace()
        self._check_inplace_in_graph()
        old = self._snapshot()
        new = compute(old)
        if new.shape != self.shape:
            raise ValueError(
                f"in-place update: output with shape {list(self.shape)} doesn't match the "
                f"broadcast shape {list(new.shape)}"
            )
        if new._data.dtype != self._data.dtype:
            if not np.can_cast(new._data.dtype, self._data.dtype, "same_kind"):
                raise RuntimeError(
                    f"result type {new._data.dtype} can't be cast to the desired output type "
                    f"{self._data.dtype}"
                )
            new = new.to(self._data.dtype)
        if new._data is not self._data:
            np.copyto(self._data, new._data)
        autograd.bump_version(self)
        self._take_place(new, old)
        return self

    def _take_place(self, new: Tensor, old: Tensor) -> None:
        """Self becomes the output of new's node; its version before is `old`."""
        self._ctx = new._ctx
        self.requires_grad = new.requires_grad
        self._seq = next(autograd._creation_counter)  # after the change's version stamp
        self._prev = old
        base = getattr(self, "_base", None)
        if base is not None:  # a view changed: its base changed too
            base._rebase_onto(self)

    def _rebase_onto(self, view: Tensor) -> None:
        """The memory of `view` (a view of self) was changed in place: self becomes
        ViewScatter(self before, view), so gradients of self reach the view's new history."""
        op, options = view._view_of
        old = self._snapshot()
        new = ops.ViewScatter.apply(old, view, view_of=lambda a: op().forward(a, **options))
        self._take_place(new, old)

    def _view_from(self, base: Tensor, op: Any, options: dict[str, Any]) -> Tensor:
        """Mark self (the result of a view op on base) as a view when it shares base's memory:
        in-place changes of either bump one version counter, and an in-place op on the view
        in the graph rebases the base."""
        data = self._data
        if data.base is not None and np.may_share_memory(data, base._data):
            self._base = base
            self._view_of = (op, options)
        return self

    def _inplace(self, other: Any, update: Any, op: Any) -> Tensor:
        if self._records_inplace(other):
            # mul and div save their input for backward: they get a copy of the old values
            saves = op is ops.Mul or op is ops.Div
            return self._record_inplace(
                lambda old: ops.binary(op, old.clone() if saves else old, old._operand(other))
            )
        self._check_inplace()
        value = other._data if isinstance(other, Tensor) else other
        try:
            update(self._data, value, out=self._data, casting="same_kind")
        except ValueError as error:
            raise ValueError(
                f"in-place update: cannot broadcast {np.shape(value)} into {self.shape}"
            ) from error
        autograd.bump_version(self)
        return self

    def __iadd__(self, other: Any) -> Tensor:
        return self._inplace(other, np.add, ops.Add)

    def __isub__(self, other: Any) -> Tensor:
        return self._inplace(other, np.subtract, ops.Sub)

    def __imul__(self, other: Any) -> Tensor:
        return self._inplace(other, np.multiply, ops.Mul)

    def __itruediv__(self, other: Any) -> Tensor:
        if self._data.dtype.kind != "f":
            raise RuntimeError(
                f"result type Float can't be cast to the desired output type {self._data.dtype}"
            )
        return self._inplace(other, np.divide, ops.Div)

    def add_(self, other: Any, alpha: Scalar = 1) -> Tensor:
        return self._inplace(other * alpha if alpha != 1 else other, np.add, ops.Add)

    def sub_(self, other: Any, alpha: Scalar = 1) -> Tensor:
        return self._inplace(other * alpha if alpha != 1 else other, np.subtract, ops.Sub)

    def mul_(self, other: Any) -> Tensor:
        return self.__imul__(other)

    def div_(self, other: Any) -> Tensor:
        return self.__itruediv__(other)

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value: Any) -> Tensor:
        return self.copy_(value if isinstance(value, Tensor) else self._operand(value))

    def copy_(self, source: Any) -> Tensor:
        """Copy source's values (broadcast, cast to this dtype) into this tensor's memory."""
        src = source if isinstance(source, Tensor) else Tensor(source)
        if self._records_inplace(src):
            return self._record_inplace(lambda old: ops.CopyInto.apply(old, src))
        self._check_inplace()
        try:
            np.copyto(self._data, src._data, casting="same_kind")
        except ValueError as error:
            raise ValueError(
                f"in-place update: cannot broadcast {src.shape} into {self.shape}"
            ) from error
        autograd.bump_version(self)
        return self

    # ------------------------------------------------------------------ comparisons (no grad)
    def _compare(self, other: Any, compare: Any) -> Tensor:
        value = other._data if isinstance(other, Tensor) else other
        return Tensor._make(np.asarray(compare(self._data, value)), False)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal)

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, np.less)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater_equal)

    __hash__ = object.__hash__

    def eq(self, other: Any) -> Tensor:
        return self == other

    def equal(self, other: Any) -> builtins.bool:
        """True when both tensors have the same shape and values."""
        return bool(np.array_equal(self._data, other._data if isinstance(other, Tensor) else other))

    def __invert__(self) -> Tensor:
        return Tensor._make(np.invert(self._data), False)

    def __and__(self, other: Any) -> Tensor:
        return self._compare(other, np.logical_and)

    def __or__(self, other: Any) -> Tensor:
        return self._compare(other, np.logical_or)

    # ------------------------------------------------------------------ elementwise
    def exp(self) -> Tensor:
        return ops.Exp.apply(self._as_float())

    def log(self) -> Tensor:
        return ops.Log.apply(self._as_float())

    def sqrt(self) -> Tensor:
        return ops.Sqrt.apply(self._as_float())

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    def tanh(self) -> Tensor:
        return ops.Tanh.apply(self._as_float())

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(self._as_float())

    def relu(self) -> Tensor:
        return ops.Relu.apply(self)

    def clamp(self, min: Scalar | None = None, max: Scalar | None = None) -> Tensor:
        if min is None and max is None:
            raise ValueError("clamp: at least one of 'min' and 'max' must be given")
        return ops.Clamp.apply(self, low=min, high=max)

    clip = clamp

    def maximum(self, other: Any) -> Tensor:
        return ops.binary(ops.Maximum, self, self._operand(other))

    def minimum(self, other: Any) -> Tensor:
        return ops.binary(ops.Minimum, self, self._operand(other))

    def pow(self, exponent: Any) -> Tensor:
        return self**exponent

    def sign(self) -> Tensor:
        return Tensor._make(np.sign(self._data), False)

    # ------------------------------------------------------------------ reductions
    def sum(
        self,
        dim: builtins.int | Sequence[builtins.int] | None = None,
        keepdim: builtins.bool = False,
    ) -> Tensor:
        return ops.Sum.apply(self, axis=ops.normalize_dims(dim, self.ndim), keepdims=keepdim)

    def mean(
        self,
        dim: builtins.int | Sequence[builtins.int] | None = None,
        keepdim: builtins.bool = False,
    ) -> Tensor:
        return ops.Mean.apply(
            self._as_float(), axis=ops.normalize_dims(dim, self.ndim), keepdims=keepdim
        )

    def var(
        self,
        dim: builtins.int | Sequence[builtins.int] | None = None,
        unbiased: builtins.bool | None = None,
        keepdim: builtins.bool = False,
        correction: builtins.int | None = None,
    ) -> Tensor:
        """Variance: sum((x - mean)²) / (N - correction); correction=1 (unbiased) by default."""
        if correction is None:
            correction = 0 if unbiased is False else 1
        return ops.Var.apply(
            self._as_float(),
            axis=ops.normalize_dims(dim, self.ndim),
            keepdims=keepdim,
            correction=correction,
        )

    def std(
        self,
        dim: builtins.int | Sequence[builtins.int] | None = None,
        unbiased: builtins.bool = True,
        keepdim: builtins.bool = False,
    ) -> Tensor:
        return self.var(dim, unbiased=unbiased, keepdim=keepdim).sqrt()

    def amax(
        self,
        dim: builtins.int | Sequence[builtins.int] | None = None,
        keepdim: builtins.bool = False,
    ) -> Tensor:
        """Largest value; the gradient is split evenly between tied maxima (max gate)."""
        return ops.Amax.apply(self, axis=ops.normalize_dims(dim, self.ndim), keepdims=keepdim)

    def amin(
        self,
        dim: builtins.int | Sequence[builtins.int] | None = None,
        keepdim: builtins.bool = False,
    ) -> Tensor:
        return -((-self).amax(dim, keepdim))

    def max(self, dim: Any = None, keepdim: builtins.bool = False) -> Any:
        """`max()` is the largest value; `max(dim)` returns (values, indices) as in PyTorch.

        `max(other_tensor)` is the elementwise `maximum`.
        """
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        if dim is None:
            return self.amax()
        return select_extreme(self, int(dim), keepdim, largest=True)

    def min(self, dim: Any = None, keepdim: builtins.bool = False) -> Any:
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        if dim is None:
            return self.amin()
        return select_extreme(self, int(dim), keepdim, largest=False)

    def argmax(self, dim: builtins.int | None = None, keepdim: builtins.bool = False) -> Tensor:
        return arg_extreme(self, dim, keepdim, np.argmax)

    def argmin(self, dim: builtins.int | None = None, keepdim: builtins.bool = False) -> Tensor:
        return arg_extreme(self, dim, keepdim, np.argmin)

    def softmax(self, dim: builtins.int) -> Tensor:
        return ops.Softmax.apply(self._as_float(), axis=dim)

    def log_softmax(self, dim: builtins.int) -> Tensor:
        return ops.LogSoftmax.apply(self._as_float(), axis=dim)

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape: Any) -> Tensor:
        return self._view_op(ops.Reshape, shape=ops.normalize_shape(shape, self._data.size))

    def _view_op(self, op: Any, **options: Any) -> Tensor:
        return op.apply(self, **options)._view_from(self, op, options)

    view = reshape

    def view_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def flatten(self, start_dim: builtins.int = 0, end_dim: builtins.int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        start = start_dim % self.ndim
        end = end_dim % self.ndim
        shape = self.shape[:start] + (-1,) + self.shape[end + 1 :]
        return self.reshape(shape)

    def transpose(self, dim0: builtins.int, dim1: builtins.int) -> Tensor:
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return self.permute(*axes)

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise ValueError(f"t() expects a tensor with <= 2 dimensions, got {self.ndim}")
        return self.T

    def permute(self, *dims: Any) -> Tensor:
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        if sorted(d % max(self.ndim, 1) for d in dims) != list(range(self.ndim)):
            raise ValueError(f"permute: dims {dims} are not a permutation of {self.ndim} dims")
        return self._view_op(ops.Permute, axes=tuple(d % max(self.ndim, 1) for d in dims))

    def squeeze(self, dim: builtins.int | None = None) -> Tensor:
        if dim is None:
            shape = tuple(n for n in self.shape if n != 1)
        elif self.ndim and self.shape[dim] == 1:
            shape = self.shape[: dim % self.ndim] + self.shape[dim % self.ndim + 1 :]
        else:
            return self
        return self._view_op(ops.Reshape, shape=shape)

    def unsqueeze(self, dim: builtins.int) -> Tensor:
        position = dim if dim >= 0 else dim + self.ndim + 1
        if not 0 <= position <= self.ndim:
            raise IndexError(f"unsqueeze: dim {dim} out of range for {self.ndim} dims")
        return self._view_op(
            ops.Reshape, shape=self.shape[:position] + (1,) + self.shape[position:]
        )

    def expand(self, *sizes: Any) -> Tensor:
        if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
            sizes = tuple(sizes[0])
        offset = len(sizes) - self.ndim
        shape = tuple(self.shape[i - offset] if n == -1 else n for i, n in enumerate(sizes))
        return ops.Expand.apply(self, shape=shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def gather(self, dim: builtins.int, index: Any) -> Tensor:
        """out[i][j] = self[i][index[i][j]] for dim=1 (torch.gather)."""
        return ops.Gather.apply(self, index=index_array(index), axis=dim)

    def __getitem__(self, index: Any) -> Tensor:
        if type(index) is slice and not self.requires_grad:  # a batch slice: no graph needed
            out = Tensor._make(self._data[index], False)
            out._base = self  # a slice is always a view
            out._view_of = (ops.GetItem, {"index": index})
            return out
        options = {"index": normalize_index(index)}
        return ops.GetItem.apply(self, **options)._view_from(self, ops.GetItem, options)

    def __setitem__(self, index: Any, value: Any) -> None:
        """t[index] = value; inside the graph it is recorded (SetItem), as in PyTorch, so
        `t[range(n), y] -= 1` and `t[mask] = 0` on a computed tensor backpropagate."""
        index = normalize_index(index)
        if self._records_inplace(value):
            source = value if isinstance(value, Tensor) else self._operand(value)
            self._record_inplace(lambda old: ops.SetItem.apply(old, source, index=index))
            return
        self._check_inplace()
        self._data[index] = value._data if isinstance(value, Tensor) else value
        autograd.bump_version(self)

    # ------------------------------------------------------------------ display
    def _repr_svg_(self) -> str | None:
        """Jupyter shows the computational graph behind a computed tensor, drawn by
        `chainrule.viz` (which `import chainrule` loads and which sets `draw_svg`); None, and
        the text repr is shown, without viz or without Graphviz's `dot`."""
        return None if draw_svg is None else draw_svg(self)

    def __repr__(self) -> str:
        """PyTorch's layout (`chainrule.printing`; `set_printoptions` changes it)."""
        extras = []
        if self._ctx is not None:
            extras.append(f"grad_fn=<{self._ctx.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return printing.tensor_repr(self._data, extras, dtypes.get_default_dtype())

    def __getattr__(self, name: str) -> Any:
        """Only called for a name Tensor lacks: say so, and point to the coverage page."""
        from chainrule.coverage import missing

        raise missing("torch.Tensor", name)


def tensor(
    data: Any,
    dtype: Any = None,
    device: Any = None,
    requires_grad: builtins.bool = False,
    pin_memory: builtins.bool = False,
) -> Tensor:
    """Create a tensor from data (lists, scalars, ndarrays), copying it.

    Python floats become float32 (the default dtype); float64 ndarrays stay float64.
    `device` must be the CPU, as everywhere in chainrule.
    """
    check_device(device)
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


_new_object = object.__new__
autograd._make_tensor = Tensor._make

# set by chainrule.viz, a floor above (a teaching tool the engine does not import)
draw_svg: Callable[[Tensor], str | None] | None = None


# ---------------------------------------------------------------- argument helpers
# (they recognise or build Tensors, so they live here rather than in ops, which sits below)


def index_array(index: Any) -> np.ndarray:
    """An integer index given as a Tensor, ndarray or list, as an int64 ndarray."""
    array = np.asarray(index._data if isinstance(index, Tensor) else index)
    if array.dtype.kind not in "iu":
        raise TypeError(f"index must be an integer tensor, got {array.dtype}")
    return array.astype(np.int64, copy=False)


def normalize_index(index: Any) -> Any:
    """Tensors and lists inside an index become ndarrays (NumPy's indexing rules apply)."""

    def convert(part: Any) -> Any:
        if isinstance(part, Tensor):
            return part._data
        if isinstance(part, list):
            return np.asarray(part)
        return part

    if isinstance(index, tuple):
        return tuple(convert(p) for p in index)
    return convert(index)


def select_extreme(x: Tensor, dim: int, keepdim: bool, largest: bool) -> Any:
    """(values, indices) of the max or min along `dim`; the gradient goes to that index."""
    axis = dim % max(x.ndim, 1)
    pick = np.argmax if largest else np.argmin
    index = np.expand_dims(pick(x._data, axis=axis), axis)
    values = x.gather(axis, index) if x.ndim else x
    indices = Tensor._make(index, False)
    if not keepdim and x.ndim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return (return_types.max if largest else return_types.min)(values, indices)


def arg_extreme(
    x: Tensor, dim: int | None, keepdim: bool, pick: Callable[..., np.ndarray]
) -> Tensor:
    if dim is None:
        return Tensor._make(np.asarray(pick(x._data)), False)
    return Tensor._make(np.asarray(pick(x._data, axis=dim, keepdims=keepdim)), False)
