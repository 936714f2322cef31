"""Every example in examples/ runs (its `main(out_dir)`) and shows what it claims."""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import chainrule

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NAMES = sorted(path.stem for path in EXAMPLES.glob("[0-9][0-9]_*.py"))


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(name: str, out: Path) -> dict[str, Any]:
    return load(name).main(out)


def assert_png(path: Path) -> None:
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000, path


def test_all_seventeen_are_listed_and_runnable_as_scripts():
    assert len(NAMES) == 17 and NAMES[0] == "01_perceptron" and NAMES[-1] == "17_mnist1d"
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for name in NAMES:
        source = (EXAMPLES / f"{name}.py").read_text(encoding="utf-8")
        assert 'if __name__ == "__main__":' in source and '"--out"' in source, name
        assert f"{name}.py" in readme, name


def test_script_mode(tmp_path):
    script = EXAMPLES / "05_softmax_overflow.py"
    done = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "naive [nan nan nan]" in done.stdout
    assert (tmp_path / "o").is_dir()


def test_01_perceptron(tmp_path):
    r = run("01_perceptron", tmp_path)
    assert r["and_converged"] and r["or_converged"] and not r["xor_converged"]
    assert r["and_accuracy"] == r["or_accuracy"] == 1.0
    assert r["xor_accuracy"] <= 0.75
    assert r["xor_mlp_accuracy"] == 1.0
    assert_png(r["plot"])


def test_02_linear_collapse(tmp_path):
    r = run("02_linear_collapse", tmp_path)
    assert r["collapse_error"] < 1e-12 and r["affine_error"] < 1e-12
    assert r["linear_xor_accuracy"] <= 0.75
    assert r["linear_final_loss"] == pytest.approx(math.log(2), abs=1e-3)
    assert r["nonlinear_xor_accuracy"] == 1.0
    assert_png(r["plot"])


def test_03_linear_regression(tmp_path):
    r = run("03_linear_regression", tmp_path)
    np.testing.assert_allclose(r["normal_coef"], r["formula_coef"], rtol=1e-9)
    np.testing.assert_allclose(r["gd_coef"], r["normal_coef"], rtol=1e-4)
    assert r["weights_relative_gap"] < 1e-4
    assert r["mae_error"] == "MAE has no closed form; use method='gd'"
    assert r["mae_of_mae_model"] < r["mae_of_mse_model"]
    assert r["new_mae_of_mae_model"] < 0.6 * r["new_mae_of_mse_model"]  # robust to outliers
    assert_png(r["plot"])


def test_04_logistic_regression(tmp_path):
    r = run("04_logistic_regression", tmp_path)
    assert r["binary_accuracy"] > 0.95 and r["softmax_accuracy"] > 0.95
    assert r["bce_formula_gap"] < 1e-5 and r["bce_logits_gap"] < 1e-5
    assert r["grad_formula_gap"] < 1e-6 and r["ce_formula_gap"] < 1e-5
    assert_png(r["plot"])


def test_05_softmax_overflow(tmp_path):
    r = run("05_softmax_overflow", tmp_path)
    assert r["naive_has_nan"]
    assert np.isnan(r["naive_large"]).all() and np.isnan(r["naive_very_negative"]).all()
    np.testing.assert_allclose(r["stable_large"], r["expected"], rtol=1e-12)
    np.testing.assert_allclose(r["stable_very_negative"], r["expected"], rtol=1e-12)
    np.testing.assert_allclose(r["expected"], [0.09003057, 0.24472847, 0.66524096], rtol=1e-6)
    assert r["cross_entropy_large"] == pytest.approx(r["cross_entropy_expected"])


def test_06_backprop_by_hand(tmp_path):
    r = run("06_backprop_by_hand", tmp_path)
    e_u = math.exp(-1.0 + 1.5 * 2.0)
    assert r["hand"] == pytest.approx({"w0": e_u, "w1": 2.0 * e_u, "x": 1.5 * e_u})
    assert r["autograd"] == pytest.approx(r["hand"], rel=1e-12)
    assert r["f"] == pytest.approx(1 + e_u)
    # node by node: (node, upstream, downstream per input), from the output back
    steps = r["steps"]
    assert [s[0] for s in steps] == [
        "AddBackward #1",
        "ExpBackward #2",
        "AddBackward #3",
        "MulBackward #4",
    ]
    assert steps[0][1:] == (1.0, [None, 1.0])
    assert steps[1][1] == 1.0 and steps[1][2] == pytest.approx([e_u])
    assert steps[2][1] == pytest.approx(e_u) and steps[2][2] == pytest.approx([e_u, e_u])
    assert steps[3][2] == pytest.approx([2.0 * e_u, 1.5 * e_u])  # w1 gets x·eᵘ, x gets w1·eᵘ
    assert any("-> w1: downstream 14.78 = upstream × local 2" in line for line in r["trace_lines"])
    assert r["gates"] == {
        "add": {"a": 5.0, "b": 5.0},
        "mul": {"a": -15.0, "b": 10.0},
        "max": {"a": 5.0, "b": 0.0},
        "copy": {"a": 7.0, "b": 0.0},
    }
    dot = Path(r["graph_file"]).read_text(encoding="utf-8")
    assert 'label="Exp"' in dot and "grad 14.78" in dot


def test_07_forward_cache(tmp_path):
    r = run("07_forward_cache", tmp_path)
    assert r["saved"] == {
        "1:Linear": ["weight", "x"],
        "2:Relu": ["out"],
        "3:Linear": ["weight", "x"],
        "4:CrossEntropyIndex": [
            "ahead",  # d loss / d logits for an upstream 1, written in the forward's pass
            "denominator",
            "probabilities",
            "reduction",
            "row_weight",
            "rows",
            "target",
        ],
    }
    assert r["shares_input"] and r["relu_output_shared"] and r["freed_after_backward"]
    assert "retain_graph=True" in r["second_backward_error"]


def test_08_zero_init(tmp_path):
    r = run("08_zero_init", tmp_path)
    assert r["zero_row_spread"] == 0.0  # the hidden neurons never became different
    assert r["zero_accuracy"] < 0.8
    assert r["random_row_spread"] > 1.0
    assert r["random_accuracy"] > 0.95
    assert_png(r["plot"])


def test_09_vanishing_gradients(tmp_path):
    r = run("09_vanishing_gradients", tmp_path)
    assert r["sigmoid_ratio"] > 1e4  # output-layer gradient / input-layer gradient
    assert np.all(np.diff(np.log(r["sigmoid_norms"])) > 0)  # shrinking at every layer down
    assert 0.1 < r["relu_ratio"] < 100
    assert_png(r["plot"])


def test_10_dead_relu(tmp_path):
    r = run("10_dead_relu", tmp_path)
    assert r["relu_bias_dead_at_start"] == 1.0 and r["relu_bias_grad_share"] == 0.0
    assert r["relu_bias_dead_after"] == 1.0  # dead units never come back
    assert r["leaky_bias_grad_share"] == 1.0  # LeakyReLU: every unit still gets a gradient
    # from torch's seed-0 init 33 of 64 units (52%) are still negative on every example after
    # 500 steps (NumPy's old stream left fewer than half); they learn: MSE 0.009 vs 2.42
    assert r["leaky_bias_dead_after"] < 0.55
    assert r["leaky_bias_loss"] < 0.5 * r["relu_bias_loss"]
    assert r["relu_lr_0.5_dead"] > 0.5 > 0.1 > r["relu_lr_0.05_dead"]
    assert_png(r["plot"])


def test_11_loops_vs_vectorised(tmp_path):
    r = run("11_loops_vs_vectorised", tmp_path)
    assert r["max_difference"] < 1e-12 and r["max_difference_chainrule"] < 1e-12


def test_12_gd_variants(tmp_path):
    r = run("12_gd_variants", tmp_path)
    full, mini, single = r["full_batch"], r["mini_batch"], r["single_sample"]
    assert full[0] == mini[0] == single[0]  # the same start
    assert single[1] < mini[1] < full[1]  # after one epoch: more steps, lower loss
    assert mini[-1] < 0.1 < full[-1]
    assert_png(r["plot"])


def test_13_universal_approximation(tmp_path):
    r = run("13_universal_approximation", tmp_path)
    mse = r["mse"]
    assert mse[16] < 1e-3
    assert mse[1] > mse[4] > mse[16]
    assert_png(r["plot"])


def test_14_five_heads(tmp_path):
    r = run("14_five_heads", tmp_path)
    assert r["regression_r2"] > 0.95 and r["multi_output_r2"] > 0.95
    assert r["binary_accuracy"] > 0.95
    assert r["multi_label_accuracy"] > 0.95
    assert r["multi_class_accuracy"] > 0.95


def test_15_digits(tmp_path):
    pytest.importorskip("sklearn")  # digits ships with scikit-learn
    r = run("15_digits", tmp_path)
    assert r["test_accuracy"] >= 0.97
    assert r["misclassified"] == round((1 - r["test_accuracy"]) * r["test_size"])
    assert_png(r["plot"])


def test_16_deep_representations(tmp_path):
    r = run("16_deep_representations", tmp_path)
    assert r["test_accuracy"] > 0.95
    first, *deeper = r["unit_linearity"]
    assert first > 0.98  # a first-layer ReLU fires on a half-plane: one line separates it
    assert deeper[-1] < first - 0.04 and deeper == sorted(deeper, reverse=True)
    probe = r["probe_accuracy"]  # input, layer 1, 2, 3
    assert probe[0] < 0.6 and probe[-1] > 0.95 and probe == sorted(probe)
    assert_png(r["plot"])


def test_mnist1d_paper_mlp_learns_and_matches_pytorch_step_for_step(tmp_path):
    torch = pytest.importorskip("torch")
    from threadpoolctl import threadpool_limits

    from benchmarks.mnist1d_compare import torch_twin, train_torch

    module = load("17_mnist1d")
    X, y, X_test, y_test = module.mnist1d()
    chainrule.manual_seed(3)
    ours = module.PaperMLP()
    theirs = torch_twin(ours)
    torch.set_num_threads(1)
    with threadpool_limits(1):  # tiny matmuls: a second BLAS thread only spins on a busy box
        ours_losses = module.train_paper_mlp(ours, X, y, steps=40)  # one pass over the data
        theirs_losses = train_torch(theirs, X, y, steps=40, lr=module.LR)
    np.testing.assert_allclose(ours_losses, theirs_losses, rtol=2e-4, atol=2e-5)
    # a shortened run (1,500 of the paper's 6,000 steps) already generalises far past the
    # 32% of a linear model; benchmarks/mnist1d_compare.py runs the whole 6,000
    with threadpool_limits(1):
        results = module.main(tmp_path, steps=1500)
    assert results["train_accuracy"] > 0.9 and results["test_accuracy"] > 0.55, results
    assert results["parameters"] == 15210
    assert_png(results["plot"])
