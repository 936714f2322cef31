"""In-place ops inside the graph, as PyTorch records them: each case runs the same code on
torch 2.13 and on chainrule (float64) and compares the result, every input's gradient, and
the error raised (and when: at the in-place op or at backward). Finite differences check the
in-place chains too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

rng = np.random.default_rng(7)
A = rng.standard_normal((3, 4))
B = rng.standard_normal(4)
W = rng.standard_normal((4, 4))
LABELS = np.array([2, 0, 3])


def run(lib: Any, case: Callable[..., Any], arrays: list[np.ndarray]) -> dict[str, Any]:
    """Run `case(lib, *leaves)` and backward on the sum of its result; report what happened."""
    leaves = [lib.tensor(a.copy(), dtype=lib.float64, requires_grad=True) for a in arrays]
    stage = "forward"
    try:
        out = case(lib, *leaves)
        stage = "backward"
        out.sum().backward()
    except (RuntimeError, ValueError, TypeError) as error:
        return {"error": stage, "type": type(error).__name__, "message": str(error)}
    grads = [None if t.grad is None else t.grad.detach().numpy().copy() for t in leaves]
    return {"error": None, "value": out.detach().numpy().copy(), "grads": grads}


def assert_same(case: Callable[..., Any], *arrays: np.ndarray) -> dict[str, Any]:
    expected = run(torch, case, list(arrays))
    got = run(cr, case, list(arrays))
    assert got["error"] == expected["error"], (got, expected)
    if expected["error"] is None:
        np.testing.assert_allclose(got["value"], expected["value"], rtol=1e-12, atol=1e-12)
        for ours, theirs in zip(got["grads"], expected["grads"], strict=True):
            assert (ours is None) == (theirs is None), (got["grads"], expected["grads"])
            if theirs is not None:
                np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    return got


def bias_in_place(lib: Any, x: Any, w: Any, b: Any) -> Any:
    out = x @ w
    out += b  # the silent bug of issue 12: b.grad stayed None
    return out


def exp_then_add(lib: Any, x: Any) -> Any:
    z = x.exp()
    z += 1  # ExpBackward saved z: backward must refuse
    return z


def mul_by_a_tensor(lib: Any, a: Any, b: Any) -> Any:
    y = a + 0
    y *= b  # needs the old y for b's gradient
    return y


def div_by_a_tensor(lib: Any, a: Any, b: Any) -> Any:
    y = a * 1
    y /= b + 3
    return y


def add_and_sub_with_alpha(lib: Any, a: Any, b: Any) -> Any:
    y = a * 2
    y.add_(b, alpha=0.5)
    y.sub_(b * b, alpha=2)
    return y


def row_minus_one(lib: Any, a: Any) -> Any:
    t = a * 2
    t[1] -= 1  # basic index: a view of t
    return t**2


def picked_minus_one(lib: Any, a: Any) -> Any:
    """The makemore manual backward: dlogits[range(n), Yb] -= 1."""
    t = a.softmax(1)
    t = t * 1  # softmax saved its output; work on a copy as the lecture does
    t[range(3), lib.tensor(LABELS)] -= 1
    return t * t


def mask_to_zero(lib: Any, a: Any) -> Any:
    t = a * 3
    t[t > 0.5] = 0
    return t**2


def set_slice_from_tensor(lib: Any, a: Any, b: Any) -> Any:
    t = a * 1
    t[:, 1:] = b[1:] * 2  # value broadcast over rows: its gradient is summed back
    return t * a


def in_place_on_a_reshaped_view(lib: Any, a: Any, b: Any) -> Any:
    t = a * 1
    v = t.view(-1)
    v[2:5] *= b.sum()  # a view of a view: t gets the change
    return t * t


def in_place_on_a_transposed_view(lib: Any, a: Any, b: Any) -> Any:
    t = a + 1
    u = t.T
    u += b.unsqueeze(1)
    return t.tanh()


def plain_leaf_becomes_part_of_the_graph(lib: Any, b: Any) -> Any:
    x = lib.zeros(2, 4, dtype=lib.float64)
    x += b
    x[0] += b * b
    return x


def users_of_the_old_version_keep_it(lib: Any, a: Any, b: Any) -> Any:
    y = a + b
    w = y * 3  # uses y before the change: its gradient goes to a and b only
    y += b * b
    return w + y


def saved_operand_changed(lib: Any, a: Any, w: Any) -> Any:
    h = a * 1
    out = h @ w  # MmBackward saved h for w's gradient
    h += 1
    return out


def change_after_use_that_saved_nothing(lib: Any, a: Any, b: Any) -> Any:
    y = a * 1
    z = y + b  # AddBackward saves nothing: changing y later is fine
    y.mul_(2)
    return z + y


def copy_fill_and_zero(lib: Any, a: Any, b: Any) -> Any:
    y = a * 2
    y.copy_(b)  # broadcast (4,) into (3, 4): y no longer depends on a
    z = a * 1
    z.fill_(3.0)
    u = a * 1
    u.zero_()
    return y * a + z + u


def detach_shares_the_version(lib: Any, a: Any) -> Any:
    y = a.sigmoid()
    y.detach().add_(1)  # detach() shares the version counter: backward refuses
    return y


def no_grad_change_of_a_saved_leaf(lib: Any, a: Any, w: Any) -> Any:
    out = a @ w
    with lib.no_grad():
        w -= 0.1  # MmBackward saved w for a's gradient
    return out


def leaf_in_place(lib: Any, a: Any) -> Any:
    a += 1
    return a


def view_of_leaf_in_place(lib: Any, a: Any) -> Any:
    a[0] += 1
    return a


def relu_then_scale(lib: Any, a: Any) -> Any:
    h = a.relu()
    h *= 2  # ReluBackward saved its output
    return h


def tanh_then_set(lib: Any, a: Any) -> Any:
    h = a.tanh()
    h[0, 0] = 0.0  # TanhBackward saved its output
    return h


def broadcast_into_a_smaller_tensor(lib: Any, a: Any, b: Any) -> Any:
    y = b * 1
    y += a  # (4,) += (3, 4): the result does not fit
    return y


CASES: dict[str, tuple[Callable[..., Any], tuple[np.ndarray, ...]]] = {
    "bias in place": (bias_in_place, (A, W, B)),
    "mul by a tensor": (mul_by_a_tensor, (A, B)),
    "div by a tensor": (div_by_a_tensor, (A, B)),
    "add_ and sub_ with alpha": (add_and_sub_with_alpha, (A, B)),
    "t[i] -= 1": (row_minus_one, (A,)),
    "t[range(n), y] -= 1": (picked_minus_one, (A,)),
    "t[mask] = 0": (mask_to_zero, (A,)),
    "t[:, 1:] = tensor": (set_slice_from_tensor, (A, B)),
    "view of a view": (in_place_on_a_reshaped_view, (A, B)),
    "transposed view": (in_place_on_a_transposed_view, (A, B)),
    "plain leaf joins the graph": (plain_leaf_becomes_part_of_the_graph, (B,)),
    "old version's users": (users_of_the_old_version_keep_it, (A, B)),
    "change after a use that saved nothing": (change_after_use_that_saved_nothing, (A, B)),
    "copy_ fill_ zero_": (copy_fill_and_zero, (A, B)),
}

ERRORS: dict[str, tuple[Callable[..., Any], tuple[np.ndarray, ...], str, str]] = {
    "exp then +=": (exp_then_add, (A,), "backward", "modified by an inplace operation"),
    "relu then *=": (relu_then_scale, (A,), "backward", "modified by an inplace operation"),
    "tanh then setitem": (tanh_then_set, (A,), "backward", "modified by an inplace operation"),
    "saved operand": (saved_operand_changed, (A, W), "backward", "modified by an inplace"),
    "detach shares": (detach_shares_the_version, (A,), "backward", "modified by an inplace"),
    "no_grad change": (no_grad_change_of_a_saved_leaf, (A, W), "backward", "inplace operation"),
    "leaf": (leaf_in_place, (A,), "forward", "a leaf Variable that requires grad"),
    "view of leaf": (view_of_leaf_in_place, (A,), "forward", "a view of a leaf Variable"),
    "broadcast": (broadcast_into_a_smaller_tensor, (A, B), "forward", ""),
}


@pytest.mark.parametrize("name", list(CASES))
def test_in_place_in_the_graph_matches_torch(name: str) -> None:
    case, arrays = CASES[name]
    got = assert_same(case, *arrays)
    assert got["error"] is None


@pytest.mark.parametrize("name", list(ERRORS))
def test_in_place_errors_match_torch(name: str) -> None:
    case, arrays, stage, message = ERRORS[name]
    got = assert_same(case, *arrays)
    assert got["error"] == stage
    assert message in got["message"]


def test_the_version_error_names_the_tensor_and_its_version() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    z = x.exp()
    z += 1
    assert z._version == 1
    with pytest.raises(RuntimeError, match=r"float32 tensor of shape \[2\].*ExpBackward.*1"):
        z.sum().backward()
    assert x.grad is None  # no partial gradient left behind


def test_version_counters_match_torch() -> None:
    versions = []
    for lib in (torch, cr):
        x = lib.ones(3, 4)
        d, v = x.detach(), x.view(12)
        x += 1
        d.mul_(2)
        v[0] = 5.0
        x.data.add_(1)  # .data has a counter of its own
        versions.append((x._version, d._version, v._version))
    assert versions[1] == versions[0] == (3, 3, 3)


def test_in_place_results_are_no_longer_leaves() -> None:
    for lib in (torch, cr):
        w = lib.ones(2, requires_grad=True)
        x = lib.zeros(2)
        assert x.is_leaf and not x.requires_grad
        x += w
        assert not x.is_leaf and x.requires_grad and x.grad_fn is not None


def test_integer_true_division_in_place_fails_like_torch() -> None:
    for lib in (torch, cr):
        with pytest.raises(RuntimeError, match="can't be cast"):
            lib.tensor([1, 2]).div_(2)


def test_in_place_on_an_expanded_tensor_fails_like_torch() -> None:
    for lib in (torch, cr):
        e = lib.zeros(1, 3).expand(4, 3)
        with pytest.raises(RuntimeError, match="single memory location"):
            e += 1


def test_gradcheck_of_an_in_place_chain() -> None:
    def chain(a: cr.Tensor, b: cr.Tensor) -> cr.Tensor:
        y = a.tanh() * 1
        y += b
        y *= b
        y[0] -= a[1]
        y.view(-1)[1:6] /= b[0] + 3
        y[:, 2] = b[1:4] ** 2
        y.T[1] += a[2, :3]
        return y

    a = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = cr.tensor(rng.standard_normal(4), requires_grad=True)
    assert cr.gradcheck(chain, [a, b])


def test_gradcheck_of_the_manual_softmax_gradient() -> None:
    """dlogits = softmax; dlogits[range(n), y] -= 1; dlogits /= n: the gradient of the mean
    cross-entropy, written in place, is itself differentiable as torch's is."""

    def manual(logits: cr.Tensor) -> cr.Tensor:
        d = logits.softmax(1) * 1
        d[range(3), LABELS] -= 1
        d /= 3
        return d

    logits = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert cr.gradcheck(manual, [logits])
    reference = cr.tensor(logits.detach().numpy().copy(), requires_grad=True)
    cr.nn.functional.cross_entropy(reference, cr.tensor(LABELS)).backward()
    np.testing.assert_allclose(manual(logits).detach().numpy(), reference.grad.numpy())


def _twins() -> list[str]:
    from chainrule.tensor_methods import INPLACE_OF

    names = [n + "_" for n in INPLACE_OF if hasattr(torch.Tensor, n + "_")]
    return [n for n in names if hasattr(cr.Tensor, n)]


UNIT = np.array([[0.25, 0.5, 0.75], [0.3, 0.6, 0.9]])  # inside every op's domain
OTHER = np.array([[0.6, 0.2, 0.4], [0.8, 0.35, 0.5]])
BINARY_TWINS = {
    "atan2_", "hypot_", "fmod_", "remainder_", "logaddexp_", "copysign_", "xlogy_", "add_",
    "sub_", "mul_", "div_", "pow_", "maximum_", "minimum_", "addmm_", "ne_", "lt_", "le_",
    "gt_", "ge_", "eq_", "not_equal_", "less_", "less_equal_", "greater_", "greater_equal_",
    "logical_and_", "logical_or_", "logical_xor_", "logaddexp2_",
}  # fmt: skip


@pytest.mark.parametrize("name", _twins())
def test_every_in_place_twin_in_the_graph_matches_torch(name: str) -> None:
    """y = a * 1; y.<op>_(...); (y * y).sum().backward(): the op may save its input, which
    the in-place write overwrites, so it must read a copy (no false error, no wrong grad)."""
    if name in {"addmm_", "cumsum_", "cumprod_", "acosh_"} or name.startswith(
        ("logical", "bitwise")
    ):
        pytest.skip("needs other arguments, inputs above 1, or is not differentiable")
    extra = {"clamp_": (0.4,), "clip_": (0.4,)}.get(name, ())
    results = []
    for lib in (torch, cr):
        a = lib.tensor(UNIT.copy(), dtype=lib.float64, requires_grad=True)
        b = lib.tensor(OTHER.copy(), dtype=lib.float64, requires_grad=True)
        y = a * 1
        try:
            getattr(y, name)(b) if name in BINARY_TWINS else getattr(y, name)(*extra)
            (y * y).sum().backward()
        except NotImplementedError:
            pytest.skip(f"torch 2.13 has no derivative for {name}")
        except (RuntimeError, TypeError) as error:
            results.append(type(error).__name__)
            continue
        grads = []
        for t in (a, b):  # torch may give a ZeroTensor, and chainrule None, for "no gradient"
            try:
                grads.append(np.zeros(t.shape) if t.grad is None else t.grad.numpy().copy())
            except RuntimeError:
                grads.append(np.zeros(t.shape))
        results.append(grads)
    ours, theirs = results[1], results[0]
    if isinstance(theirs, str):
        assert ours == theirs
        return
    assert not isinstance(ours, str), ours
    # digamma's derivative is trigamma, where torch's own value is off by ~1e-9 relative
    # (π²/6 at 1: tests/engine/test_parity_special.py checks ours against mpmath to 1e-12)
    rtol = 1e-8 if name == "digamma_" else 1e-10
    for x, z in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(x, z, rtol=rtol, atol=1e-12, err_msg=name)


def test_changing_the_input_of_a_table_op_in_place_fails_like_torch() -> None:
    for lib in (torch, cr):
        y = lib.tensor(UNIT.copy(), requires_grad=True) * 1
        z = y.sin()  # SinBackward saved y
        y += 1
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.sum().backward()


def test_bump_versions_counts_and_stamps_as_bump_version_in_turn() -> None:
    """A captured step's update bumps its parameters in one call: the same versions, one
    stamp; a graph that saved a tensor before the bump refuses to run backward, one made
    after runs."""
    from chainrule import autograd

    a, b = cr.ones(3, requires_grad=True), cr.ones(2, requires_grad=True)
    twins = [cr.ones(3), cr.ones(2)]
    out = (a * a).sum()  # saves a
    autograd.bump_versions([a, b, a])
    for twin in (twins[0], twins[1], twins[0]):
        autograd.bump_version(twin)
    assert (a._version, b._version) == (2, 1) == (twins[0]._version, twins[1]._version)
    assert a._vc.stamp == b._vc.stamp == autograd._last_change - 3  # the twins' 3 after
    with pytest.raises(RuntimeError):
        out.backward()
    later = (a * a).sum()  # a graph made after the bump runs
    later.backward()
    assert a.grad is not None
