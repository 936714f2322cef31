"""`Tensor`: an ndarray that remembers how it was computed, so it can backpropagate.

Every operator and method is a thin wrapper: the arithmetic and its derivative live in one
small `Function` per op in `chainrule.ops`; the graph walk lives in `chainrule.autograd`.
The methods are grouped by idea in `chainrule.tensor_parts` (conversion, operators,
in-place, math, shape and indexing); this module puts them together and holds what makes
a tensor: its construction, its properties, `backward` and its display.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator
from typing import Any, overload

import numpy as np

from chainrule import autograd, coverage, dtypes, grad_hooks, printing
from chainrule import grad_fn as grad_fns
from chainrule.autograd import run_backward
from chainrule.coverage_names import TENSOR_NAMES
from chainrule.devices import check_device
from chainrule.grad_hooks import RemovableHandle
from chainrule.size import Size
from chainrule.tensor_parts.base import Scalar, TensorBase
from chainrule.tensor_parts.conversion import Conversion
from chainrule.tensor_parts.inplace import InPlace
from chainrule.tensor_parts.inplace_shape import InPlaceShape
from chainrule.tensor_parts.math import Math, arg_extreme, select_extreme
from chainrule.tensor_parts.operators import Operators
from chainrule.tensor_parts.shape import Shape, index_array, normalize_index
from chainrule.types import DeviceLike, DTypeLike, TensorLike

__all__ = [
    "Scalar", "Tensor", "TensorBase", "arg_extreme", "index_array", "normalize_index",
    "select_extreme", "tensor",
]  # fmt: skip


class Tensor(Conversion, Operators, InPlace, InPlaceShape, Math, Shape):
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

    __slots__ = ()

    def __init__(
        self, data: TensorLike, dtype: DTypeLike = None, requires_grad: builtins.bool = False
    ) -> None:
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

    @staticmethod
    def _make_node(data: np.ndarray, fn: autograd.Function, seq: builtins.int) -> Tensor:
        """`_make` for the output of graph node `fn`, created at `seq` (Function.apply's
        one call per op: the fields set once, to their final values)."""
        t = _new_object(Tensor)
        t._data = data
        t._vc = None
        t.grad = None
        t.requires_grad = True
        t._ctx = fn
        t._retains_grad = False
        t._seq = seq
        t._flow = None
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
    def grad_fn(self) -> grad_fns.GradFn | None:
        """The graph node that produced this tensor (None for leaves), named as in PyTorch
        (`AddBackward0`, `MmBackward0` ...; chainrule.grad_fn), with `name()` and
        `next_functions`; the engine's own node is `t._ctx`."""
        return grad_fns.of(self)  # a fused node shows the nodes it stands for

    @property
    def T(self) -> Tensor:  # PyTorch's name
        """The tensor with its dimensions reversed (a transpose for matrices)."""
        return self.permute(*reversed(range(self.ndim)))

    @overload
    def size(self, dim: None = None) -> Size: ...

    @overload
    def size(self, dim: builtins.int) -> builtins.int: ...

    def size(self, dim: builtins.int | None = None) -> Size | builtins.int:
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

    def __dir__(self) -> list[str]:
        """dir(t) without the torch names that only point to the coverage page."""
        own = Tensor.__dict__
        return [n for n in object.__dir__(self) if type(own.get(n)) is not coverage.NotInChainrule]

    def backward(
        self,
        gradient: Any = None,
        retain_graph: builtins.bool | None = None,
        create_graph: builtins.bool = False,
        inputs: Any = None,
    ) -> None:
        """Compute d(self)/d(leaf) for every leaf that requires a gradient, into `leaf.grad`.

        Args:
            gradient: d(loss)/d(self), needed when self is not a scalar.
            retain_graph: keep the saved values so backward can run through the graph again
                (default: create_graph).
            create_graph: record the backward pass, so the gradients can be differentiated
                again (chainrule.higher_order); `.grad` then requires grad.
            inputs: accumulate into these tensors' `.grad` only (leaves or not), as
                PyTorch's `backward(inputs=...)`.
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
            seed = np.asarray(gradient._data if isinstance(gradient, TensorBase) else gradient)
            if seed.shape != self.shape:
                raise ValueError(
                    f"backward: gradient has shape {seed.shape} but the output has shape "
                    f"{self.shape}"
                )
            seed = seed.astype(self._data.dtype)  # a copy: a leaf's .grad must not alias it
        keep = create_graph if retain_graph is None else retain_graph
        if not create_graph and inputs is None:
            run_backward(self, seed, keep)
            return
        targets = _backward_inputs(inputs)
        if create_graph:
            given = isinstance(gradient, TensorBase) and gradient.dtype == self.dtype
            seed_tensor = gradient if given else Tensor._make(seed, False)
            capture = None if targets is None else {id(t): None for t in targets}
            autograd.implementation("backward_graph")([(self, seed_tensor)], keep, capture)
        else:
            capture = {id(t): None for t in targets or ()}
            autograd.run_backward_many([(self, seed)], keep, capture)
        for target in targets or ():
            g = capture[id(target)] if capture is not None else None
            if g is None:
                continue
            if create_graph:
                autograd.implementation("accumulate_graph")(target, g)
            else:
                autograd.accumulate(target, g, set())

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned Tensor
        replaces the gradient (what `.grad` stores and what flows on to the ops that made
        this tensor). Returns a handle: ``handle.remove()`` unregisters (PyTorch's API)."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        return grad_hooks.add(grad_hooks.tensor_hooks, self, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> RemovableHandle:
        """Call ``hook(tensor)`` after backward has added into this leaf's `.grad`."""
        if self._ctx is not None:
            raise RuntimeError(
                "post accumulate grad hooks cannot be registered on non-leaf tensors"
            )
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        return grad_hooks.add(grad_hooks.post_accumulate_hooks, self, hook)

    @property
    def retains_grad(self) -> builtins.bool:
        """True for a non-leaf tensor after `retain_grad()` (a leaf keeps `.grad` anyway)."""
        return self._retains_grad

    def _repr_svg_(self) -> str | None:
        """Jupyter shows the computational graph behind a computed tensor, drawn by
        `chainrule.viz` (which `import chainrule` loads and which sets `draw_svg`); None, and
        the text repr is shown, without viz or without Graphviz's `dot`."""
        return None if draw_svg is None else draw_svg(self)

    def __repr__(self) -> str:
        """PyTorch's layout (`chainrule.printing`; `set_printoptions` changes it)."""
        extras = []
        if self._ctx is not None:
            extras.append(f"grad_fn=<{grad_fns.torch_name(self._ctx)}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return printing.tensor_repr(self._data, extras, dtypes.get_default_dtype())


def tensor(
    data: TensorLike,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: builtins.bool = False,
    pin_memory: builtins.bool = False,
) -> Tensor:
    """Create a tensor from data (lists, scalars, ndarrays), copying it.

    Python floats become float32 (the default dtype); float64 ndarrays stay float64.
    `device` must be the CPU, as everywhere in chainrule.
    """
    check_device(device)
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def _backward_inputs(inputs: Any) -> list[Tensor] | None:
    """backward(inputs=...) as a list of tensors (None: every leaf), checked as torch does."""
    if inputs is None:
        return None
    targets: list[Tensor] = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not targets:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    for target in targets:
        if not target.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    return targets


_new_object = object.__new__
autograd.set_tensor_factory(Tensor._make, Tensor._make_node)
# t.stft (a torch.Tensor name chainrule lacks) raises the coverage page's AttributeError
coverage.point_to_coverage(Tensor, "torch.Tensor", TENSOR_NAMES)

# set by chainrule.viz, a floor above (a teaching tool the engine does not import)
draw_svg: Callable[[Tensor], str | None] | None = None
