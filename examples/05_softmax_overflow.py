"""05 · Softmax overflows when computed naively; the stable form does not.

softmax(z)ᵢ = e^(zᵢ) / Σⱼ e^(zⱼ). For logits around 1000, e^1000 overflows to inf (float64
tops out near e^709) and the naive formula returns inf/inf = NaN; for logits around -1000
every e^z underflows to 0 and it returns 0/0 = NaN. Subtracting the largest logit first,
softmax(z - max z), changes nothing mathematically (the factor e^(-max z) cancels) and keeps
every exponent <= 0. chainrule's softmax, log_softmax and cross_entropy all do this.

Run: python examples/05_softmax_overflow.py [--out runs/examples]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import chainrule
from chainrule.nn import functional as F


def naive_softmax(z: np.ndarray) -> np.ndarray:
    """The formula as written: overflows for large logits."""
    with np.errstate(over="ignore", invalid="ignore"):  # we want to see the NaN, not a warning
        e = np.exp(z)
        return e / e.sum()


def main(out_dir: str | Path = "runs/examples") -> dict[str, Any]:
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    small = np.array([0.0, 1.0, 2.0])
    expected = naive_softmax(small)  # fine at this scale
    results: dict[str, Any] = {"expected": expected}
    print(
        f"softmax([0, 1, 2]) = {expected.round(4)}: adding a constant to every logit must "
        "not change it"
    )
    for name, shift in (("large", 1000.0), ("very_negative", -1000.0)):
        logits = small + shift
        naive = naive_softmax(logits)
        stable = F.softmax(chainrule.tensor(logits, dtype=chainrule.float64), dim=0).numpy()
        results[f"naive_{name}"] = naive
        results[f"stable_{name}"] = stable
        print(f"logits {logits}: naive {naive}, chainrule {stable.round(4)}")

    # the loss too: cross-entropy works on logits through log-softmax, never exp(z) alone
    logits = chainrule.tensor([[1000.0, 1001.0, 1002.0]], dtype=chainrule.float64)
    loss = F.cross_entropy(logits, chainrule.tensor([2])).item()
    results["cross_entropy_large"] = loss
    results["cross_entropy_expected"] = float(-np.log(expected[2]))
    print(
        f"cross-entropy of logits [1000, 1001, 1002] with class 2: {loss:.4f} "
        f"(= -log {expected[2]:.4f} = {results['cross_entropy_expected']:.4f})"
    )
    results["naive_has_nan"] = bool(np.isnan(results["naive_large"]).any())
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/examples", help="output folder (unused)")
    main(parser.parse_args().out)
