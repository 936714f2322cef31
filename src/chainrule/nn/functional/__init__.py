"""Stateless layer functions, as `torch.nn.functional` (import as `F`).

One module a family, all names re-exported here so ``import chainrule.nn.functional as F``
sees them as torch's users expect:

======================  ==================================================================
`activations`           relu, gelu, softmax, ... (elementwise non-linearities)
`affine`                linear, bilinear
`dropouts`              dropout
`sparse`                embedding, one_hot (lookups by integer index)
`normalization`         batch_norm, layer_norm, rms_norm, group_norm
`distance`              normalize, cosine_similarity, pairwise_distance
`losses`                regression, binary and likelihood losses, kl_div
`margin_losses`         hinge, ranking, margin, cosine-embedding and triplet losses
`cross_entropy`         cross_entropy, nll_loss
`attention`             scaled_dot_product_attention
`padding`               pad (constant, reflect, replicate, circular)
======================  ==================================================================

Fused ops (linear, cross-entropy, BCE with logits) come from `chainrule.ops`; the rest
compose tensor ops, so autodiff derives their gradients.
"""

from __future__ import annotations

from typing import Any

from chainrule.nn.functional.activations import (
    celu,
    celu_,
    elu,
    elu_,
    gelu,
    glu,
    gumbel_softmax,
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    hardtanh_,
    leaky_relu,
    leaky_relu_,
    log_softmax,
    logsigmoid,
    mish,
    prelu,
    relu,
    relu6,
    relu_,
    rrelu,
    rrelu_,
    selu,
    selu_,
    sigmoid,
    silu,
    softmax,
    softmin,
    softplus,
    softshrink,
    softsign,
    tanh,
    tanhshrink,
    threshold,
    threshold_,
)
from chainrule.nn.functional.affine import bilinear, linear
from chainrule.nn.functional.attention import scaled_dot_product_attention
from chainrule.nn.functional.cross_entropy import cross_entropy, nll_loss
from chainrule.nn.functional.distance import cosine_similarity, normalize, pairwise_distance
from chainrule.nn.functional.dropouts import dropout
from chainrule.nn.functional.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    gaussian_nll_loss,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    poisson_nll_loss,
    smooth_l1_loss,
)
from chainrule.nn.functional.margin_losses import (
    cosine_embedding_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    soft_margin_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)
from chainrule.nn.functional.normalization import batch_norm, group_norm, layer_norm, rms_norm
from chainrule.nn.functional.padding import pad
from chainrule.nn.functional.sparse import embedding, one_hot

__all__ = [
    "batch_norm", "bilinear", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "celu", "celu_", "cosine_embedding_loss", "cosine_similarity", "cross_entropy", "dropout",
    "elu", "elu_", "embedding", "gaussian_nll_loss", "gelu", "glu", "group_norm",
    "gumbel_softmax", "hardshrink", "hardsigmoid", "hardswish", "hardtanh", "hardtanh_",
    "hinge_embedding_loss", "huber_loss", "kl_div", "l1_loss", "layer_norm", "leaky_relu",
    "leaky_relu_", "linear", "log_softmax", "logsigmoid", "margin_ranking_loss", "mish",
    "mse_loss", "multi_margin_loss", "multilabel_margin_loss", "multilabel_soft_margin_loss",
    "nll_loss", "normalize", "one_hot", "pad", "pairwise_distance", "poisson_nll_loss", "prelu",
    "relu", "relu6", "relu_", "rms_norm", "rrelu", "rrelu_", "selu", "selu_", "sigmoid", "silu",
    "smooth_l1_loss", "soft_margin_loss", "softmax", "softmin", "softplus", "softshrink",
    "softsign", "tanh", "tanhshrink", "threshold", "threshold_", "triplet_margin_loss",
    "triplet_margin_with_distance_loss", "scaled_dot_product_attention",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    """A torch.nn.functional name chainrule lacks: say so and point to the coverage page."""
    from chainrule.coverage import missing

    raise missing("torch.nn.functional", name)
