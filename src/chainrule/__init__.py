"""chainrule: neural networks from first principles, on NumPy, with PyTorch's API.

import chainrule
from chainrule import nn, optim

x = chainrule.tensor([[1.0, 2.0]], requires_grad=True)
y = (x * x).sum()
y.backward()            # x.grad == 2x
"""

from chainrule import (
    autograd_function,
    autograd_functional,
    data,
    higher_order,
    linalg,
    nn,
    optim,
    train,
    viz,
)
from chainrule import dtypes as _dtypes
from chainrule import functions as _functions
from chainrule import tensor_methods as _tensor_methods
from chainrule.autograd import (
    Function,
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from chainrule.capture import compile_step
from chainrule.checkpoint import Checkpoint, CheckpointError, load, save
from chainrule.creation import (
    arange,
    as_tensor,
    asarray,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    logspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    zeros,
    zeros_like,
)
from chainrule.devices import backends, cuda, device, get_default_device, set_default_device
from chainrule.dtypes import (
    bool_,
    double,
    dtype,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int8,
    int16,
    int32,
    int64,
    long,
    set_default_dtype,
    short,
    uint8,
    uint16,
    uint32,
    uint64,
)
from chainrule.gradcheck import GradcheckError, gradcheck
from chainrule.joining import cat, concat, concatenate, stack, where
from chainrule.printing import get_printoptions, set_printoptions
from chainrule.random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from chainrule.size import Size
from chainrule.tensor import Tensor, tensor
from chainrule.tensor_methods.attributes import layout, strided
from chainrule.version import __version__

_tensor_methods.install()
globals().update(_functions.EXPORTS)  # torch.sin, torch.add(input=, other=, alpha=), ...
globals().update(_dtypes.ALIASES)  # torch.float, torch.int, torch.bool, ... (builtin names)

__all__ = [name for name in dir() if not name.startswith("_")]


def __getattr__(name: str) -> object:
    """A PyTorch name chainrule lacks: say so, and where the coverage page explains why."""
    from chainrule.coverage import missing

    raise missing("torch", name)
