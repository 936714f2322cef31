# mypy: disable-error-code="arg-type, return-value, operator"
# (a mixin's self is a Tensor at run time, Tensor being its only subclass; mypy sees the mixin)
"""In-place ops: one NumPy call outside the graph, recorded in the graph as PyTorch does
(version counters, views rebased onto their changes)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import autograd, dtypes, ops
from chainrule.autograd import is_grad_enabled
from chainrule.tensor_parts.base import Scalar, TensorBase

if TYPE_CHECKING:
    from chainrule.tensor import Tensor


class InPlace(TensorBase):
    """add_/sub_/mul_/div_/copy_/fill_/zero_ and the augmented assignments."""

    __slots__ = ()

    # Outside the graph (no_grad, or nothing requires grad) an in-place op is one NumPy call
    # into this tensor's memory, as a hand-written SGD step needs. Inside the graph it is
    # recorded as PyTorch does: the new values are computed by the ordinary ops from a
    # snapshot of the old version, written into this tensor's memory, and this tensor takes
    # the result's place in the graph (nodes that used the old version still reach it,
    # through `_prev`). If this tensor is a view, its base is rebased onto it (ViewScatter).
    def _records_inplace(self, other: Any) -> builtins.bool:
        if not is_grad_enabled():
            return False
        return self.requires_grad or (isinstance(other, TensorBase) and other.requires_grad)

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
        old = self._make(self._data, self.requires_grad)
        old._vc = autograd.version_counter(self)
        old._ctx, old._seq = self._ctx, self._seq
        previous = getattr(self, "_prev", None)
        if previous is not None:
            old._prev = previous
        return old

    def _record_inplace(self, compute: Any) -> Tensor:
        """Run `compute(old_version) -> new values` in the graph and make self hold them."""
        if autograd.is_recording():
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
        self._seq = autograd.next_creation_number()  # after the change's version stamp
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
        value = other._data if isinstance(other, TensorBase) else other
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
        return self.copy_(value if isinstance(value, TensorBase) else self._operand(value))

    def copy_(self, source: Any) -> Tensor:
        """Copy source's values (broadcast, cast to this dtype) into this tensor's memory."""
        src = (
            source if isinstance(source, TensorBase) else self._make(dtypes.to_array(source), False)
        )
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
