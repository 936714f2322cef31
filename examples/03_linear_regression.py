"""03 · Linear regression on apartment prices: closed form, gradient descent, MSE and MAE.

Synthetic apartments: area (m²), rooms, floor and distance to the centre (km) -> price
(thousands), a linear rule plus noise, with a few wildly mispriced listings (typos, a
penthouse). With X holding a column of ones for the bias:

* MSE has a closed form, ŵ = (XᵀX)⁻¹Xᵀy, and gradient descent reaches the same weights;
* MAE = mean |Xw - y| has no closed form (chainrule says so), yet gradient descent fits it,
  and being an absolute rather than a squared error, the outliers pull it far less.

Run: python examples/03_linear_regression.py [--out runs/examples]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.classic import LinearRegression

FEATURES = ["area", "rooms", "floor", "distance"]
TRUE_WEIGHTS = np.array([3.0, 12.0, 0.8, -4.0])  # thousands per m², room, floor, km
TRUE_BIAS = 40.0


def apartments(n: int = 400, outliers: float = 0.04, seed: int = 0) -> tuple[np.ndarray, ...]:
    """X (n, 4) = area, rooms, floor, distance; price = X·w + b + noise, some far off."""
    rng = np.random.default_rng(seed)
    area = rng.uniform(25, 150, n)
    rooms = np.clip(np.round(area / 30 + rng.normal(0, 0.6, n)), 1, 6)  # bigger, more rooms
    floor = rng.integers(1, 26, n).astype(float)
    distance = rng.uniform(0.5, 30, n)
    X = np.column_stack([area, rooms, floor, distance])
    price = X @ TRUE_WEIGHTS + TRUE_BIAS + rng.normal(0, 15, n)
    wrong = rng.random(n) < outliers
    price[wrong] += rng.uniform(300, 900, wrong.sum())  # typos and penthouses
    return X, price


def mae(model: LinearRegression, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.abs(model.predict(X) - y)))


def plot(models: dict[str, LinearRegression], X: np.ndarray, y: np.ndarray, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for label in ("GD, MSE", "GD, MAE"):
        left.plot(models[label].loss_curve_, label=label)
    left.set_yscale("log")
    left.set_xlabel("gradient step")
    left.set_ylabel("loss (standardised units)")
    left.set_title("gradient descent")
    left.legend()
    for label, marker in (("closed form, MSE", "o"), ("GD, MAE", "x")):
        right.scatter(y, models[label].predict(X), s=10, marker=marker, alpha=0.6, label=label)
    low, high = y.min(), y.max()
    right.plot([low, high], [low, high], color="k", lw=1)
    right.set_xlabel("true price")
    right.set_ylabel("predicted price")
    right.set_title("predictions (outliers on the right)")
    right.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(out_dir: str | Path = "runs/examples") -> dict[str, Any]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    X, y = apartments()
    print(
        f"{len(X)} apartments, features {FEATURES}; true weights {TRUE_WEIGHTS}, bias {TRUE_BIAS}"
    )

    # the textbook formula, literally (fine here; LinearRegression uses the stabler lstsq)
    design = np.column_stack([np.ones(len(X)), X])
    by_formula = np.linalg.inv(design.T @ design) @ design.T @ y

    normal = LinearRegression(method="normal").fit(X, y)
    gd = LinearRegression(method="gd", lr=0.1, max_epochs=5000).fit(X, y)
    gd_mae = LinearRegression(method="gd", loss="mae", lr=0.1, max_epochs=2000).fit(X, y)
    try:
        LinearRegression(method="normal", loss="mae")
        mae_error = ""
    except ValueError as error:
        mae_error = str(error)

    rows = [
        ("(XᵀX)⁻¹Xᵀy by hand", by_formula[1:], by_formula[0]),
        ("closed form, MSE", normal.coef_, normal.intercept_),
        ("GD, MSE", gd.coef_, gd.intercept_),
        ("GD, MAE", gd_mae.coef_, gd_mae.intercept_),
        ("true rule", TRUE_WEIGHTS, TRUE_BIAS),
    ]
    print(f"{'':22}" + "".join(f"{name:>10}" for name in [*FEATURES, "bias"]))
    for label, weights, bias in rows:
        print(f"{label:22}" + "".join(f"{w:10.3f}" for w in [*weights, bias]))
    weights_gap = float(np.max(np.abs(gd.coef_ - normal.coef_) / np.abs(normal.coef_)))
    print(
        f"closed form vs GD (MSE): largest relative difference {weights_gap:.1e} "
        f"after {gd.n_epochs_} steps"
    )
    print(f"closed form with MAE: ValueError({mae_error!r})")

    results = {
        "normal_coef": normal.coef_,
        "gd_coef": gd.coef_,
        "formula_coef": by_formula[1:],
        "weights_relative_gap": weights_gap,
        "normal_r2": normal.score(X, y),
        "mae_error": mae_error,
        "mae_of_mse_model": mae(normal, X, y),
        "mae_of_mae_model": mae(gd_mae, X, y),
    }
    X_new, y_new = apartments(n=2000, outliers=0.0, seed=1)  # fresh, honestly priced
    results["new_mae_of_mse_model"] = mae(normal, X_new, y_new)
    results["new_mae_of_mae_model"] = mae(gd_mae, X_new, y_new)
    print(
        f"training MAE: MSE model {results['mae_of_mse_model']:.2f}, MAE model "
        f"{results['mae_of_mae_model']:.2f} (lower: it minimises exactly this)"
    )
    print(
        f"MAE on 2000 new, honestly priced apartments: MSE model "
        f"{results['new_mae_of_mse_model']:.2f}, MAE model "
        f"{results['new_mae_of_mae_model']:.2f} (squared errors let the outliers pull)"
    )

    results["plot"] = out / "03_linear_regression.png"
    plot({"GD, MSE": gd, "GD, MAE": gd_mae, "closed form, MSE": normal}, X, y, results["plot"])
    print(f"plot: {results['plot']}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/examples", help="folder for the plot")
    main(parser.parse_args().out)
