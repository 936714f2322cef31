"""Layer classes, one file per family as in PyTorch."""

# isort: off
# The import order is the registration order (chainrule.nn.registry.LAYERS), which the config
# error lists and the menus follow; keep it when adding a file (new layers go last).
from chainrule.nn.modules.activation import (
    ELU,
    GELU,
    Hardtanh,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from chainrule.nn.modules.container import ModuleDict, ModuleList, Sequential
from chainrule.nn.modules.linear import Identity, Linear
from chainrule.nn.modules.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
)
from chainrule.nn.modules.module import Module
from chainrule.nn.modules.flatten import Flatten
from chainrule.nn.modules.dropout import Dropout
from chainrule.nn.modules.batchnorm import BatchNorm1d
from chainrule.nn.modules.sparse import Embedding
# isort: on

__all__ = [
    "ELU", "GELU", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "CrossEntropyLoss", "Dropout",
    "Embedding", "Flatten", "Hardtanh", "HuberLoss", "Identity", "L1Loss", "LeakyReLU", "Linear",
    "LogSoftmax", "MSELoss", "Module", "ModuleDict", "ModuleList", "NLLLoss", "ReLU",
    "Sequential", "SiLU", "Sigmoid", "Softmax", "Softplus", "Tanh",
]  # fmt: skip
