"""Layer classes, one file per family as in PyTorch."""

# isort: off
# The import order is the registration order (chainrule.nn.registry.LAYERS), which the config
# error lists and the menus follow; keep it when adding a file (new layers go last).
from chainrule.nn.modules.activation import (
    CELU,
    ELU,
    GELU,
    GLU,
    SELU,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softmax2d,
    Softmin,
    Softplus,
    Softsign,
    Tanh,
    Tanhshrink,
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
    GaussianNLLLoss,
    KLDivLoss,
    NLLLoss,
    PoissonNLLLoss,
    SmoothL1Loss,
)
from chainrule.nn.modules.module import Module
from chainrule.nn.modules.flatten import Flatten, Unflatten
from chainrule.nn.modules.dropout import Dropout
from chainrule.nn.modules.batchnorm import BatchNorm1d
from chainrule.nn.modules.sparse import Embedding
from chainrule.nn.modules.piecewise import Hardshrink, PReLU, RReLU, Softshrink, Threshold
from chainrule.nn.modules.distance import CosineSimilarity, PairwiseDistance
from chainrule.nn.modules.margin_loss import (
    CosineEmbeddingLoss,
    HingeEmbeddingLoss,
    MarginRankingLoss,
    MultiLabelMarginLoss,
    MultiLabelSoftMarginLoss,
    MultiMarginLoss,
    SoftMarginLoss,
    TripletMarginLoss,
    TripletMarginWithDistanceLoss,
)
from chainrule.nn.modules.normalization import GroupNorm, LayerNorm, RMSNorm
from chainrule.nn.modules.parameter_containers import ParameterDict, ParameterList
from chainrule.nn.modules.linear import Bilinear
from chainrule.nn.modules.rnn import GRU, LSTM, RNN, RNNBase
from chainrule.nn.modules.attention import MultiheadAttention
from chainrule.nn.modules.transformer import (
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from chainrule.nn.modules.transformer_model import Transformer
from chainrule.nn.modules.rnn_cells import GRUCell, LSTMCell, RNNCell, RNNCellBase
# isort: on

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "Bilinear", "CELU", "CosineEmbeddingLoss",
    "CosineSimilarity", "CrossEntropyLoss", "Dropout", "ELU", "Embedding", "Flatten", "GELU",
    "GLU", "GaussianNLLLoss", "GroupNorm", "Hardshrink", "Hardsigmoid", "Hardswish", "Hardtanh",
    "HingeEmbeddingLoss", "HuberLoss", "Identity", "KLDivLoss", "L1Loss", "LayerNorm",
    "LeakyReLU", "Linear", "LogSigmoid", "LogSoftmax", "MSELoss", "MarginRankingLoss", "Mish",
    "Module", "ModuleDict", "ModuleList", "MultiLabelMarginLoss", "MultiLabelSoftMarginLoss",
    "MultiMarginLoss", "NLLLoss", "PReLU", "PairwiseDistance", "ParameterDict", "ParameterList",
    "PoissonNLLLoss", "RMSNorm", "RReLU", "ReLU", "ReLU6", "SELU", "Sequential", "SiLU",
    "Sigmoid", "SmoothL1Loss", "SoftMarginLoss", "Softmax", "Softmax2d", "Softmin", "Softplus",
    "Softshrink", "Softsign", "Tanh", "Tanhshrink", "Threshold", "TripletMarginLoss",
    "TripletMarginWithDistanceLoss", "RNN", "LSTM", "GRU", "RNNBase", "RNNCell", "LSTMCell",
    "GRUCell", "RNNCellBase", "MultiheadAttention", "TransformerEncoder", "TransformerEncoderLayer",
    "TransformerDecoder", "TransformerDecoderLayer", "Transformer", "Unflatten",
]  # fmt: skip
