"""Learning-rate schedules: change each parameter group's ``'lr'`` as training progresses.

Call ``scheduler.step()`` once per epoch (or per batch, for per-iteration schedules), after
``optimizer.step()``::

    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
    for epoch in range(100):
        train(...)                  # calls optimizer.step()
        scheduler.step()

Building a scheduler records each group's starting rate as ``'initial_lr'`` and takes a
first step, so right after construction ``lr`` is the base rate and ``last_epoch`` is 0.
"""

from chainrule.optim.lr_scheduler.base import LRScheduler
from chainrule.optim.lr_scheduler.compose import ChainedScheduler, SequentialLR
from chainrule.optim.lr_scheduler.cosine import CosineAnnealingLR, CosineAnnealingWarmRestarts
from chainrule.optim.lr_scheduler.cyclic import CyclicLR, OneCycleLR
from chainrule.optim.lr_scheduler.factor import (
    ConstantLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiplicativeLR,
    MultiStepLR,
    PolynomialLR,
    StepLR,
)
from chainrule.optim.lr_scheduler.plateau import ReduceLROnPlateau

__all__ = [
    "LambdaLR",
    "MultiplicativeLR",
    "StepLR",
    "MultiStepLR",
    "ConstantLR",
    "LinearLR",
    "ExponentialLR",
    "SequentialLR",
    "CosineAnnealingLR",
    "ChainedScheduler",
    "ReduceLROnPlateau",
    "CyclicLR",
    "CosineAnnealingWarmRestarts",
    "OneCycleLR",
    "PolynomialLR",
    "LRScheduler",
]  # fmt: skip (torch's order)


def __getattr__(name: str) -> object:
    """A torch.optim.lr_scheduler name chainrule lacks: say so, and point to the page."""
    from chainrule.coverage import missing

    raise missing("torch.optim.lr_scheduler", name)
