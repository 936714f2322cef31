"""The optimizer base class: parameter groups, per-parameter state, zero_grad and checkpoints.

An optimizer owns a list of *parameter groups*. Each group is a dict holding the tensors to
update (``'params'``) and the hyperparameters used for them (``'lr'``, ``'momentum'``, ...), so
different parts of a model can train with different settings::

    optim.SGD([
        {"params": model.base.parameters()},
        {"params": model.head.parameters(), "lr": 1e-2},   # overrides the default below
    ], lr=1e-3, momentum=0.9)

``state`` maps each parameter to what the algorithm remembers between steps (momentum
buffers, running averages, a step count), as plain ndarrays and Python numbers.

``step()`` works on the ndarrays directly, never through tensor ops, so no graph is recorded,
and updates ``param._data`` in place: modules keep holding the very same array.
"""

from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.autograd import bump_version, enable_grad
from chainrule.optim.state_hooks import StateDictHooks, loading, saving
from chainrule.optim.step_hooks import (
    StepHooks,
    hooked,
    register_optimizer_step_post_hook,
    register_optimizer_step_pre_hook,
)
from chainrule.types import Closure, ParamGroup, ParamsT, StateDict

if TYPE_CHECKING:
    from chainrule.tensor import Tensor

__all__ = [
    "Optimizer",
    "ParamsT",
    "as_plain",
    "register_optimizer_step_post_hook",
    "register_optimizer_step_pre_hook",
    "state_scalar",
    "torch_flags",
]

# ParamsT (what an optimizer takes) is one of the public aliases of chainrule.types,
# re-exported here (the optimizers import it from this module)

# From this many elements on, plain SGD writes γ·g into the scratch buffer instead of a new
# array: measured (one process, CPU time) 1.13x faster on W1's 784x256 weights, but 0.7x on
# W3's 16x16 ones, where slicing the buffer costs more than NumPy's small-array allocation
SCRATCH_MIN = 4096


def torch_flags(
    names: str,
    *,
    foreach: bool | None = None,
    differentiable: bool = False,
    capturable: bool = False,
    fused: bool | None = None,
) -> dict[str, Any]:
    """PyTorch's implementation switches, checked and returned as group entries.

    They choose *how* torch runs a step (``foreach``: one kernel over a list of tensors;
    ``fused``: one kernel for the whole update; ``capturable``: state on the GPU for CUDA
    graphs; ``differentiable``: the step recorded in the autograd graph), not *what* it
    computes. chainrule keeps them in ``param_groups`` under torch's keys (``names``, the
    space-separated switches this optimizer has in torch), so a state_dict has torch's
    layout, and:

    - ``foreach`` and ``fused`` are accepted and change nothing (the numbers are the same);
    - ``capturable=True`` raises, as torch does on a CPU (its check names CUDA devices);
    - ``differentiable=True`` raises: chainrule's steps work on arrays outside the graph.
    """
    if fused and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    if capturable:
        raise RuntimeError(
            "capturable=True keeps the optimizer state on a CUDA device for graph capture; "
            "chainrule is CPU-only (torch on a CPU raises too: params and state_steps must be "
            "on supported devices: ['cuda', 'xpu', 'hpu', ...])"
        )
    if differentiable:
        raise RuntimeError(
            "differentiable=True records the optimizer step in the autograd graph; "
            "chainrule's optimizers update the arrays outside the graph, so it is not supported"
        )
    values = {"foreach": foreach, "differentiable": False, "capturable": False, "fused": fused}
    return {name: values[name] for name in names.split()}


def state_scalar(value: float, times: float | None = None) -> float:
    """``value`` (or ``value·times``) rounded as torch keeps its 0-d state tensors: in
    float32 unless the default dtype is float64 (torch.optim's ``_get_scalar_dtype``).

    torch multiplies such a tensor by a Python number in the tensor's dtype, so a running
    product (NAdam's mu_product) is rounded at every step, not once."""
    from chainrule import dtypes

    kind = np.float64 if dtypes.get_default_dtype() == np.float64 else np.float32
    if times is None:
        return float(kind(value))
    return float(kind(value) * kind(times))


def _tensor_type() -> type:
    from chainrule.tensor import Tensor  # the engine imports lazily too

    return Tensor


class Optimizer(StepHooks, StateDictHooks):
    """Base class of all optimizers.

    Subclasses validate their hyperparameters, pass them as ``defaults`` and implement
    :meth:`_update_param` (one parameter's update, on ndarrays); or, like in PyTorch, they
    may override :meth:`step` entirely. Either way ``step`` runs the hooks registered with
    :meth:`register_step_pre_hook` / :meth:`register_step_post_hook` (and the global ones
    of ``chainrule.optim.optimizer.register_optimizer_step_pre_hook``/``_post_hook``).

    Args:
        params (iterable): an iterable of Tensors, or of dicts defining parameter groups
            (each with a ``'params'`` entry and any hyperparameters to override).
        defaults (dict): default values of the hyperparameters, used by the groups that do
            not set them.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass's own ``step`` runs the step hooks (chainrule.optim.step_hooks), its own
        ``state_dict`` / ``load_state_dict`` their hooks (chainrule.optim.state_hooks)."""
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:
            cls.step = hooked(cls.__dict__["step"])  # type: ignore[method-assign]
        if "state_dict" in cls.__dict__:
            cls.state_dict = saving(cls.__dict__["state_dict"])  # type: ignore[method-assign]
        if "load_state_dict" in cls.__dict__:
            cls.load_state_dict = loading(cls.__dict__["load_state_dict"])  # type: ignore[method-assign]

    def __init__(self, params: ParamsT, defaults: ParamGroup) -> None:
        if isinstance(params, _tensor_type()):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                "dicts, but got " + type(params).__name__
            )
        self.defaults = defaults
        self.state: defaultdict[Any, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []

        param_groups: list[Any] = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines) + "\n)"

    # ------------------------------------------------------------------ parameter groups

    def add_param_group(self, param_group: ParamGroup) -> None:
        """Add a group of parameters (a dict with ``'params'`` and optional hyperparameters).

        Useful to fine-tune a pre-trained network: unfreeze layers and hand them to the
        optimizer as training progresses. Hyperparameters missing from the dict take the
        optimizer's defaults.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        tensor_type = _tensor_type()
        param_group = dict(param_group)  # never modify the caller's dict
        params = param_group["params"]
        if isinstance(params, tensor_type):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        param_group["params"] = params

        for param in params:
            if not isinstance(param, tensor_type):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is "
                    + type(param).__name__
                )
            if not getattr(param, "is_leaf", True) and not getattr(param, "retains_grad", False):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            param_group.setdefault(name, default)

        ids = [id(p) for p in params]
        if len(ids) != len(set(ids)):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; "
                "each will be updated once per occurrence",
                stacklevel=3,
            )
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")

        self.param_groups.append(param_group)

    # ------------------------------------------------------------------ the training step

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors.

        Args:
            set_to_none (bool): set ``.grad`` to None (default: saves memory, and lets
                :meth:`step` skip the parameter) instead of filling the array with zeros.
        """
        for group in self.param_groups:
            if set_to_none:  # the usual case, asked once a group rather than per parameter
                for p in group["params"]:
                    if p.grad is not None:
                        p.grad = None
                continue
            for p in group["params"]:
                if p.grad is not None:
                    p.grad._data.fill(0)

    @hooked
    def step(self, closure: Closure | None = None) -> Tensor | None:
        """Perform a single optimization step, updating every parameter that has a gradient.

        Args:
            closure (callable, optional): a function that clears the gradients, re-evaluates
                the model, calls ``backward`` and returns the loss. Its result is returned.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update_param(p._data, self._gradient_of(p), self.state[p], group)
                    self._bump(p, group)
        return loss

    @staticmethod
    def _bump(p: Tensor, group: dict[str, Any]) -> None:
        """The update was an in-place change of p, as torch's in-place step is: p's version
        goes up (by one, torch's count for SGD, Adam, RMSprop, Adagrad ...; AdamW's decay is
        a second change), so a graph that saved p before the step raises on backward."""
        bump_version(p)
        if group.get("decoupled_weight_decay"):
            bump_version(p)

    @staticmethod
    def _gradient_of(p: Tensor) -> np.ndarray:
        """p's gradient array, checked against p's shape and cast to p's dtype (state and
        updates keep the parameter's dtype)."""
        param, grad = p._data, p.grad._data  # type: ignore[union-attr]
        if grad.shape != param.shape:
            raise RuntimeError(
                f"gradient of shape {grad.shape} does not match its parameter's shape {param.shape}"
            )
        return grad if grad.dtype == param.dtype else grad.astype(param.dtype)

    def _scratch(self, param: np.ndarray, which: int = 0) -> np.ndarray:
        """A scratch array of param's shape and dtype for one update's temporaries, kept
        from step to step: a view into one flat buffer per dtype (and per ``which``, for an
        update that needs two at once), as large as the largest parameter so far (not part
        of the state: nothing in it outlives an update).

        Why: an update like θ ← θ - γ·g written as NumPy expressions allocates an array
        per temporary, and for a large parameter each new array costs fresh pages (the
        allocator returns big blocks to the system); writing into kept memory with out=
        does the same arithmetic, in the same order, with the same numbers."""
        buffers: dict[Any, np.ndarray] = self.__dict__.setdefault("_scratch_buffers", {})
        key = (param.dtype, which)
        flat = buffers.get(key)
        if flat is None or flat.size < param.size:
            flat = buffers[key] = np.empty(param.size, param.dtype)
        return flat[: param.size].reshape(param.shape)

    def _update_param(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        """Update one parameter's array in place, given its gradient, state and group."""
        raise NotImplementedError(f"{type(self).__name__} does not implement step()")

    # ------------------------------------------------------------------ checkpoints

    @saving
    def state_dict(self) -> StateDict:
        """The optimizer's state as a dict of plain values: ``{'state', 'param_groups'}``.

        Parameters are replaced by their position (counting through all groups in order):
        ``state`` maps that index to the parameter's state, and each entry of
        ``param_groups`` lists the indices of its parameters next to its hyperparameters.
        Arrays are copies: later steps do not change a dict already returned.
        """
        index: dict[int, int] = {}
        param_groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            param_groups.append(packed)
        state = {
            index[id(p)]: {
                k: v.copy() if isinstance(v, np.ndarray) else copy.deepcopy(v) for k, v in s.items()
            }
            for p, s in self.state.items()
            if s and id(p) in index  # parameters with nothing to remember are left out
        }
        return {"state": state, "param_groups": param_groups}

    @loading
    def load_state_dict(self, state_dict: StateDict) -> None:
        """Load a state made by :meth:`state_dict` of an optimizer over the same parameters.

        The groups must match in number and size. Arrays are copied (and cast to the
        parameter's floating dtype), and the hyperparameters of each group are replaced by
        the saved ones.
        """
        groups = self.param_groups
        saved_groups = copy.deepcopy(list(state_dict["param_groups"]))
        if len(groups) != len(saved_groups):
            raise ValueError(
                "loaded state dict has a different number of parameter groups "
                f"({len(saved_groups)}, the optimizer has {len(groups)})"
            )
        for i, (group, saved) in enumerate(zip(groups, saved_groups, strict=True)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group ({i}, with "
                    f"{len(saved['params'])} parameters) that doesn't match the size of "
                    f"optimizer's group ({len(group['params'])} parameters)"
                )

        id_map: dict[int, Any] = {}
        for group, saved in zip(groups, saved_groups, strict=True):
            for index, p in zip(saved["params"], group["params"], strict=True):
                id_map[int(index)] = p

        state: defaultdict[Any, dict[str, Any]] = defaultdict(dict)
        for key, values in state_dict["state"].items():
            index = int(key)
            if index not in id_map:
                raise ValueError(
                    f"loaded state dict has state for parameter {index}, which is in no "
                    "parameter group"
                )
            param = id_map[index]
            state[param] = {k: self._load_state_value(param._data, k, v) for k, v in values.items()}

        for group, saved in zip(groups, saved_groups, strict=True):
            saved["params"] = group["params"]
        self.param_groups = saved_groups
        self.state = state

    def _load_state_value(self, param: np.ndarray, key: str, value: Any) -> Any:
        """One loaded state value for ``param`` (optimizers with other state override)."""
        return _load_value(param, key, value)


def as_plain(value: Any) -> Any:
    """A copy of a saved state value in chainrule's form: tensors (chainrule's, or torch's in
    a state_dict made by ``torch.optim``) become ndarrays, 0-d ones plain numbers (torch
    keeps ``step`` as a 0-d tensor), lists and tuples are converted item by item."""
    if isinstance(value, list | tuple):
        return type(value)(as_plain(v) for v in value)
    torch_made = type(value).__module__.startswith("torch")
    if isinstance(value, _tensor_type()) or (torch_made and hasattr(value, "detach")):
        value = np.array(value.detach().numpy())
    if isinstance(value, np.ndarray | np.generic):
        return value.item() if np.ndim(value) == 0 else np.array(value, copy=True)
    return copy.deepcopy(value)


def _load_value(param: np.ndarray, key: str, value: Any) -> Any:
    """A copy of one saved state value, with arrays cast to the parameter's float dtype.

    Tensors (chainrule's, or torch's in a state_dict made by ``torch.optim``) count as
    arrays; 0-d ones, like torch's ``step`` tensors, come back as numbers."""
    value = as_plain(value)
    if not isinstance(value, np.ndarray):
        return value
    if value.shape != param.shape:
        raise ValueError(
            f"loaded state {key!r} has shape {value.shape}, but its parameter has shape "
            f"{param.shape}"
        )
    dtype = param.dtype if value.dtype.kind == "f" and param.dtype.kind == "f" else value.dtype
    return np.array(value, dtype=dtype, copy=True)
