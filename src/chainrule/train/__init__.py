"""Training tools on top of the plain PyTorch loop: `fit`, callbacks, metrics, `summary`.

Example::

    from chainrule.train import EarlyStopping, fit, summary

    print(summary(model, (2,)))
    history = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01),
                  (X_train, y_train), val=(X_val, y_val), epochs=50, metrics=["accuracy"],
                  callbacks=[EarlyStopping(patience=5, restore_best_weights=True)])

`fit` is the loop zero_grad → forward → loss → backward → step plus bookkeeping; writing
that loop by hand remains the first way to train.
"""

from chainrule.train import metrics
from chainrule.train.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LRSchedulerCallback,
    ModelCheckpoint,
    TerminateOnNaN,
    TrainState,
)
from chainrule.train.fit import as_loader, evaluate, fit, predict
from chainrule.train.history import History
from chainrule.train.metrics import (
    METRICS,
    accuracy,
    confusion_matrix,
    f1,
    get_metric,
    mae,
    mse,
    precision,
    r2,
    recall,
)
from chainrule.train.progress import LineProgress, TqdmProgress
from chainrule.train.summary import summary

__all__ = [
    "CSVLogger", "Callback", "EarlyStopping", "History", "LRSchedulerCallback", "LineProgress",
    "METRICS", "ModelCheckpoint", "TerminateOnNaN", "TqdmProgress", "TrainState", "accuracy",
    "as_loader", "confusion_matrix", "evaluate", "f1", "fit", "get_metric", "mae", "metrics",
    "mse", "precision", "predict", "r2", "recall", "summary",
]  # fmt: skip
