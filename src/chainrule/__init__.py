"""chainrule: neural networks from first principles, on NumPy, with PyTorch's API.

import chainrule
from chainrule import nn, optim

x = chainrule.tensor([[1.0, 2.0]], requires_grad=True)
y = (x * x).sum()
y.backward()            # x.grad == 2x
"""

from chainrule import autograd_function, data, nn, optim, train, viz  # on everything above
from chainrule.autograd import Function, enable_grad, is_grad_enabled, no_grad
from chainrule.capture import compile_step
from chainrule.checkpoint import Checkpoint, CheckpointError, load, save
from chainrule.creation import (
    arange,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    randperm,
    zeros,
    zeros_like,
)
from chainrule.devices import cuda, device
from chainrule.dtypes import (
    bool_,
    double,
    float16,
    float32,
    float64,
    half,
    int8,
    int16,
    int32,
    int64,
    long,
    short,
    uint8,
)
from chainrule.gradcheck import GradcheckError, gradcheck
from chainrule.operations import (
    abs,
    allclose,
    amax,
    amin,
    argmax,
    argmin,
    cat,
    clamp,
    clip,
    concat,
    concatenate,
    exp,
    flatten,
    gather,
    is_tensor,
    log,
    log_softmax,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    numel,
    permute,
    relu,
    reshape,
    sigmoid,
    softmax,
    sqrt,
    squeeze,
    stack,
    sum,
    tanh,
    transpose,
    unsqueeze,
    var,
    where,
)
from chainrule.random import Generator, get_rng_state, manual_seed, set_rng_state
from chainrule.tensor import Tensor, tensor
from chainrule.version import __version__

__all__ = [name for name in dir() if not name.startswith("_")]
