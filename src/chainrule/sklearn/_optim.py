"""scikit-learn's stochastic solvers (``'sgd'``, ``'adam'``) on chainrule's SGD and Adam.

The arithmetic is chainrule's; this adapter only sets the hyperparameters of each step so
that the updates are scikit-learn's exactly:

* L2: the weights' group gets ``weight_decay = alpha / Σw`` of the batch (scikit-learn's
  gradient of α/2·‖W‖²/Σw), the intercepts' group none.
* Adam: scikit-learn adds ε to √v, PyTorch (and chainrule) to √v̂ = √v/√(1-β₂ᵗ); passing
  ``eps = ε/√(1-β₂ᵗ)`` at step t gives the same update.
* SGD: scikit-learn's velocity is ``v = μv - γg``, PyTorch's buffer ``b = μb + g``, so
  ``b = -v/γ``: the same steps while γ is constant; when a schedule changes γ the buffers
  are rescaled by γ_old/γ_new to stay equal.
* Schedules (SGD only): ``'invscaling'`` (γ = γ₀ / (t+1)^power_t, t the samples seen) at
  the end of each epoch, ``'adaptive'`` (γ /= 5 when progress stalls, stop below 1e-6).
"""

from __future__ import annotations

import math
from typing import Any

from chainrule import optim
from chainrule.tensor import Tensor


class StochasticOptimizer:
    """The state of one stochastic solver over the network's weights and biases."""

    def __init__(
        self, weights: list[Tensor], biases: list[Tensor], estimator: Any, solver: str
    ) -> None:
        self.solver = solver
        self.learning_rate_init = float(estimator.learning_rate_init)
        self.learning_rate = self.learning_rate_init
        groups: list[dict[str, Any]] = [{"params": weights}, {"params": biases}]
        self.inner: optim.Optimizer
        if solver == "sgd":
            momentum = float(estimator.momentum)
            self.lr_schedule = estimator.learning_rate
            self.power_t = float(estimator.power_t)
            self.inner = optim.SGD(
                groups,
                lr=self.learning_rate,
                momentum=momentum,
                nesterov=bool(estimator.nesterovs_momentum) and momentum > 0,
            )
        else:
            self.lr_schedule = "constant"
            self.power_t = 0.0
            self.beta_2 = float(estimator.beta_2)
            self.epsilon = float(estimator.epsilon)
            self.t = 0
            self.inner = optim.Adam(
                groups,
                lr=self.learning_rate,
                betas=(float(estimator.beta_1), self.beta_2),
                eps=self.epsilon,
            )

    def zero_grad(self) -> None:
        for group in self.inner.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self, weight_decay: float) -> None:
        """One update from the gradients in ``.grad``, with the L2 term's coefficient."""
        groups = self.inner.param_groups
        groups[0]["weight_decay"] = weight_decay
        if self.solver == "adam":
            self.t += 1
            eps = self.epsilon / math.sqrt(1.0 - self.beta_2**self.t)
            groups[0]["eps"] = groups[1]["eps"] = eps
        self.inner.step()

    def _set_learning_rate(self, learning_rate: float) -> None:
        old, self.learning_rate = self.learning_rate, learning_rate
        for group in self.inner.param_groups:
            group["lr"] = learning_rate
            for p in group["params"]:
                buf = self.inner.state[p].get("momentum_buffer")
                if buf is not None and learning_rate > 0:
                    buf *= old / learning_rate  # keep scikit-learn's velocity -γ·b unchanged

    def iteration_ends(self, time_step: int) -> None:
        """End of an epoch; ``time_step`` is the number of samples seen so far."""
        if self.lr_schedule == "invscaling":
            self._set_learning_rate(self.learning_rate_init / (time_step + 1) ** self.power_t)

    def trigger_stopping(self, msg: str, verbose: bool) -> bool:
        """Progress stalled: stop (True), or with 'adaptive' divide γ by 5 and go on."""
        if self.lr_schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self._set_learning_rate(self.learning_rate / 5.0)
        if verbose:
            print(msg + f" Setting learning rate to {self.learning_rate:f}")
        return False
