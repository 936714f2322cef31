"""The strong-Wolfe line search L-BFGS uses: a step length t along a direction d that
decreases the loss enough (sufficient decrease) and flattens its slope enough (curvature).

Along d the loss is φ(t) = f(x + t·d), with slope φ'(t) = ∇f(x + t·d)·d. The strong Wolfe
conditions, for 0 < c1 < c2 < 1, ask::

    φ(t) ≤ φ(0) + c1·t·φ'(0)           (Armijo: at least a fraction c1 of the linear decrease)
    |φ'(t)| ≤ c2·|φ'(0)|               (the slope has flattened: no longer steeply downhill)

The search first grows t until an interval [lo, hi] must contain such a point (a bracket),
then shrinks the bracket by cubic interpolation ("zoom"); Nocedal and Wright, Numerical
Optimization, algorithms 3.5 and 3.6, with minFunc's safeguards, as torch.optim.LBFGS.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["cubic_interpolate", "strong_wolfe"]

# obj(x, t, d) -> (φ(t), ∇f(x + t·d)): evaluates the loss and its gradient t along d from x
Objective = Callable[[list[np.ndarray], float, np.ndarray], tuple[float, np.ndarray]]


def cubic_interpolate(
    x1: float,
    f1: float,
    g1: float,
    x2: float,
    f2: float,
    g2: float,
    bounds: tuple[float, float] | None = None,
) -> float:
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2,
    clipped to ``bounds`` (by default the interval between x1 and x2).

    With d1 = g1 + g2 - 3·(f1 - f2)/(x1 - x2) and d2 = √(d1² - g1·g2), the minimiser is
    x2 - (x2 - x1)·(g2 + d2 - d1)/(g2 - g1 + 2·d2) (for x1 ≤ x2); when d1² < g1·g2 the
    cubic has no minimum and the midpoint of the bounds is returned.
    """
    lo, hi = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(d2_square)
    if x1 <= x2:
        min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(min_pos, lo), hi)


def strong_wolfe(
    obj: Objective,
    x: list[np.ndarray],
    t: float,
    d: np.ndarray,
    f: float,
    g: np.ndarray,
    gtd: float,
    c1: float = 1e-4,
    c2: float = 0.9,
    tolerance_change: float = 1e-9,
    max_ls: int = 25,
) -> tuple[float, np.ndarray, float, int]:
    """Search along d from x (loss f, gradient g, slope gtd = g·d < 0), starting at step t.

    Returns (loss, gradient, t, evaluations) at the accepted step; at most ``max_ls``
    evaluations, and the bracket stops shrinking once it is narrower than
    ``tolerance_change`` (measured as |hi - lo|·max|d|).
    """
    d_norm = float(np.abs(d).max())
    g = g.copy()
    f_new, g_new = obj(x, t, d)
    evals = 1
    gtd_new = float(g_new @ d)

    # phase 1: grow t until [t_prev, t] brackets a point meeting the conditions
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    bracket: list[float] = []
    bracket_f: list[float] = []
    bracket_g: list[np.ndarray] = []
    bracket_gtd: list[float] = []
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:  # both conditions hold at t
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:  # the slope turned uphill: a minimum lies before t
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # extrapolate: a step between 1.01·t-ish and 10·t
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        previous = t
        t = cubic_interpolate(
            t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step)
        )
        t_prev, f_prev, g_prev, gtd_prev = previous, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj(x, t, d)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
    if ls_iter == max_ls:  # out of evaluations: keep the better of 0 and t
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]

    # phase 2 ("zoom"): shrink the bracket until a point meets the conditions
    insufficient_progress = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = cubic_interpolate(
            bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1]
        )
        # a point too close to an end of the bracket makes little progress: move it in
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insufficient_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = obj(x, t, d)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low]:
            bracket[high], bracket_f[high] = t, f_new  # t becomes the high end
            bracket_g[high], bracket_gtd[high] = g_new.copy(), gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low] = t, f_new  # t becomes the low end
            bracket_g[low], bracket_gtd[low] = g_new.copy(), gtd_new

    return bracket_f[low], bracket_g[low], bracket[low], evals
