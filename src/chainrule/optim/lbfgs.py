"""L-BFGS: a quasi-Newton method that builds its curvature model from the last few steps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.autograd import bump_version, enable_grad
from chainrule.optim.line_search import strong_wolfe
from chainrule.optim.optimizer import Optimizer, ParamsT, as_plain
from chainrule.types import Closure

if TYPE_CHECKING:
    from chainrule.tensor import Tensor

__all__ = ["LBFGS"]


class LBFGS(Optimizer):
    """Limited-memory BFGS over all parameters seen as one flat vector x.

    Each ``step(closure)`` runs up to ``max_iter`` iterations. With gradient g_k, the
    last m pairs s_i = x_{i+1} - x_i and y_i = g_{i+1} - g_i (kept when y_i·s_i > 1e-10)
    and ρ_i = 1 / (y_i·s_i), the direction d_k = -H_k·g_k comes from the two-loop
    recursion::

        q = -g_k
        for i = k-1 … k-m:  a_i = ρ_i·s_i·q;  q = q - a_i·y_i
        r = γ_k·q           with γ_k = s_{k-1}·y_{k-1} / (y_{k-1}·y_{k-1})  (H_diag)
        for i = k-m … k-1:  b = ρ_i·y_i·r;   r = r + (a_i - b)·s_i
        d_k = r

    (d_1 = -g_1). The step is x_{k+1} = x_k + t·d_k with t = lr, except the very first,
    t = min(1, 1/‖g_1‖₁)·lr; with ``line_search_fn='strong_wolfe'`` t is searched for
    (see `chainrule.optim.line_search`). Iterations stop early when max|g| ≤
    tolerance_grad, when max|t·d| or the change of the loss is below tolerance_change, or
    after max_eval evaluations of the closure. (Nocedal and Wright, Numerical
    Optimization, algorithm 7.4; the same stopping rules and state as torch.optim.LBFGS.)

    There is one parameter group, and the state (history, direction, counters) is kept
    under the first parameter, as in PyTorch.

    Args:
        params (iterable): parameters to optimize (one group).
        lr (float): learning rate: the step length along d (default: 1).
        max_iter (int): iterations per ``step`` (default: 20).
        max_eval (int, optional): closure evaluations per ``step`` (default: max_iter·5/4).
        tolerance_grad (float): stop when max|g| is this small (default: 1e-7).
        tolerance_change (float): stop when the step or the loss change is this small
            (default: 1e-9).
        history_size (int): number m of (s, y) pairs kept (default: 100).
        line_search_fn (str, optional): 'strong_wolfe' or None (default: None).

    Example::

        optimizer = optim.LBFGS(model.parameters(), line_search_fn="strong_wolfe")

        def closure():
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            return loss

        optimizer.step(closure)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = {
            "lr": lr,
            "max_iter": max_iter,
            "max_eval": max_eval,
            "tolerance_grad": tolerance_grad,
            "tolerance_change": tolerance_change,
            "history_size": history_size,
            "line_search_fn": line_search_fn,
        }
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    # ---------------------------------------------------------------- the flat vector x

    def _flat_grad(self) -> np.ndarray:
        """All gradients as one vector (zeros for a parameter without one)."""
        views = [
            np.zeros(p._data.size, p._data.dtype)
            if p.grad is None
            else self._gradient_of(p).reshape(-1)
            for p in self._params
        ]
        return np.concatenate(views)

    def _add_to_params(self, step: float, update: np.ndarray) -> None:
        """x ← x + step·update, written into each parameter's array."""
        offset = 0
        for p in self._params:
            n = p._data.size
            p._data += step * update[offset : offset + n].reshape(p._data.shape)
            bump_version(p)  # in place, as torch's p.add_ (its version goes up)
            offset += n

    def _evaluate_along(
        self, closure: Closure, x: list[np.ndarray], t: float, d: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Loss and gradient at x + t·d; the parameters are put back to x afterwards."""
        self._add_to_params(t, d)
        loss = float(closure())
        flat_grad = self._flat_grad()
        for p, saved in zip(self._params, x, strict=True):
            p._data[...] = saved
            bump_version(p)
        return loss, flat_grad

    # ---------------------------------------------------------------- the step

    def step(self, closure: Closure) -> Tensor:  # type: ignore[override]
        """Run up to ``max_iter`` iterations; returns the loss the first closure call gave.

        Args:
            closure (callable): clears the gradients, computes the loss, calls
                ``backward`` and returns the loss (required: L-BFGS evaluates it many
                times a step).
        """
        if closure is None:
            raise RuntimeError("LBFGS.step needs a closure that re-evaluates the loss")
        group = self.param_groups[0]
        lr = float(group["lr"])
        max_iter, max_eval = int(group["max_iter"]), int(group["max_eval"])
        tolerance_grad = float(group["tolerance_grad"])
        tolerance_change = float(group["tolerance_change"])
        history_size = int(group["history_size"])
        line_search_fn = group["line_search_fn"]

        def evaluate() -> Tensor:
            with enable_grad():
                return closure()

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = evaluate()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if np.abs(flat_grad).max() <= tolerance_grad:  # already optimal
            return orig_loss

        # the previous step's direction, step length and history (None before the first)
        d: Any = state.get("d")
        t: Any = state.get("t")
        old_dirs: Any = state.get("old_dirs")
        old_stps: Any = state.get("old_stps")
        ro: Any = state.get("ro")
        h_diag: Any = state.get("H_diag")
        prev_flat_grad: Any = state.get("prev_flat_grad")
        prev_loss: Any = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                h_diag = 1.0
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = float(y @ s)
                if ys > 1e-10:  # keep the pair only if the curvature is positive
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / float(y @ y)
                num_old = len(old_dirs)
                if "al" not in state:
                    state["al"] = [None] * history_size
                al = state["al"]
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al[i] = float(old_stps[i] @ q) * ro[i]
                    q -= al[i] * old_dirs[i]
                d = r = q * h_diag
                for i in range(num_old):
                    be_i = float(old_dirs[i] @ r) * ro[i]
                    r += (al[i] - be_i) * old_stps[i]

            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            # the first step is scaled down (no curvature known yet), later ones are lr
            first = state["n_iter"] == 1
            t = min(1.0, 1.0 / float(np.abs(flat_grad).sum())) * lr if first else lr
            gtd = float(flat_grad @ d)
            if gtd > -tolerance_change:  # not a descent direction any more
                break

            evals = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x_init = [p._data.copy() for p in self._params]
                loss, flat_grad, t, evals = strong_wolfe(
                    lambda x, step, direction: self._evaluate_along(evaluate, x, step, direction),
                    x_init,
                    t,
                    d,
                    loss,
                    flat_grad,
                    gtd,
                    max_ls=max_eval - current_evals,
                )
                self._add_to_params(t, d)
                optimal = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_to_params(t, d)
                optimal = False
                if n_iter != max_iter:  # the last iteration's loss is not needed
                    loss = float(evaluate())
                    flat_grad = self._flat_grad()
                    optimal = np.abs(flat_grad).max() <= tolerance_grad
                    evals = 1
            current_evals += evals
            state["func_evals"] += evals

            if n_iter == max_iter or current_evals >= max_eval or optimal:
                break
            if np.abs(d * t).max() <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state.update(
            d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=h_diag,
            prev_flat_grad=prev_flat_grad, prev_loss=prev_loss,
        )  # fmt: skip
        return orig_loss

    def _load_state_value(self, param: np.ndarray, key: str, value: Any) -> Any:
        """L-BFGS's state holds flat vectors and lists of them, not param-shaped arrays."""
        return as_plain(value)
