"""Optimizers and learning-rate schedules, with PyTorch's names and update rules.

Example::

    from chainrule import optim

    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=100)
    for epoch in range(100):
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
        scheduler.step()
"""

from chainrule.optim import lr_scheduler
from chainrule.optim.adadelta import Adadelta
from chainrule.optim.adafactor import Adafactor
from chainrule.optim.adagrad import Adagrad
from chainrule.optim.adam import Adam, AdamW
from chainrule.optim.adamax import Adamax
from chainrule.optim.asgd import ASGD
from chainrule.optim.factory import OPTIMIZER_NAMES, by_name
from chainrule.optim.lbfgs import LBFGS
from chainrule.optim.nadam import NAdam
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.radam import RAdam
from chainrule.optim.rmsprop import RMSprop
from chainrule.optim.rprop import Rprop
from chainrule.optim.sgd import SGD

__all__ = [
    "OPTIMIZER_NAMES", "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta",
    "Adamax", "ASGD", "NAdam", "RAdam", "Rprop", "LBFGS", "Adafactor", "by_name", "lr_scheduler",
]  # fmt: skip


def __getattr__(name: str) -> object:
    """A torch.optim name chainrule lacks (SparseAdam, Muon): say so, and point to the page."""
    from chainrule.coverage import missing

    raise missing("torch.optim", name)
