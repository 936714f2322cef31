"""Sessions trained together (playground.batched) train exactly as each would alone.

Each comparison builds the same sessions twice, in float64: one set trains one by one
with the eager step (chainrule's graph, backward and optimizer), the other stacked; the
weights, optimizer state, counters and gradient norms must agree to 1e-12.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pydantic", reason="the playground needs pydantic")

import chainrule
from chainrule.playground import batched, network, stacked_grad
from chainrule.playground.messages import PlaygroundConfig
from chainrule.playground.session import Session


def sessions(base: dict, count: int = 4, float64: bool = True) -> list[Session]:
    """`count` sessions of one shape: their own seeds (data, weights) and learning rates."""
    made = []
    for i in range(count):
        lr = base.get("learning_rate", 0.01) * (1 + i)
        s = Session(PlaygroundConfig(**{**base, "seed": 11 + i, "learning_rate": lr}))
        if float64:
            s.model.to(chainrule.float64)
            s.x_all = s.x_all.astype(np.float64)
            s.optimizer = network.build_optimizer(s.model, s.config)
        s.use_captured = False  # the reference is the eager step
        made.append(s)
    return made


def assert_same(alone: list[Session], together: list[Session], tol: float = 1e-12) -> None:
    for a, b in zip(alone, together, strict=True):
        assert (a.epoch, a.steps, a.cursor, a.grad_steps) == (
            b.epoch,
            b.steps,
            b.cursor,
            b.grad_steps,
        )
        np.testing.assert_allclose(b.grad_sums, a.grad_sums, rtol=tol, atol=tol)
        assert (a.divergence is None) == (b.divergence is None)
        for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True):
            np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=tol, atol=tol)
            sa, sb = a.optimizer.state.get(p, {}), b.optimizer.state.get(q, {})
            assert sa.keys() == sb.keys()
            for key, value in sa.items():
                if isinstance(value, np.ndarray):
                    np.testing.assert_allclose(sb[key], value, rtol=tol, atol=tol)
                else:
                    assert sb[key] == value


SETUPS = [  # the first four take stacked_grad.numpy_grads, the others chainrule's graph
    {},  # the default: circle, 4 features, 8-8 tanh, Adam, cross-entropy, batches of 10
    {"dataset": "blobs", "classes": 4, "activations": ["relu", "sigmoid"], "batch_size": 7},
    {
        "dataset": "reg_gauss",
        "problem": "regression",
        "loss": "mse",
        "layers": [6],
        "activations": ["relu"],
        "optimizer": "momentum",
    },
    {"optimizer": "sgd", "learning_rate": 0.1, "batch_size": 7},  # 250 = 35 x 7 + 5
    {"optimizer": "momentum", "activations": ["relu", "elu"], "init": "he"},
    {
        "dataset": "spiral_multi",
        "classes": 4,
        "loss": "mse",
        "activations": ["leaky_relu", "sigmoid"],
        "regularization": "l1",
        "reg_rate": 0.003,
    },
    {
        "dataset": "reg_plane",
        "problem": "regression",
        "loss": "mse",
        "layers": [5, 4, 3],
        "activations": ["hardtanh", "tanh", "linear"],
        "regularization": "l2",
        "reg_rate": 0.01,
        "full_batch": True,
    },
]


@pytest.mark.parametrize(
    "base", SETUPS, ids=lambda b: b.get("dataset", "circle") + "-" + b.get("optimizer", "adam")
)
def test_stacked_training_equals_training_one_by_one(base):
    alone, together = sessions(base), sessions(base)
    first = together[0]
    numpy_path = stacked_grad.written_out(
        list(first.model), first.config, first.config.reg_rate > 0
    )
    assert numpy_path == (SETUPS.index(base) < 4)
    keys = {batched.group_key(s) for s in together}
    assert len(keys) == 1 and None not in keys
    for group in (alone, together):  # one session starts mid-epoch, one other after a few steps
        group[1].train(max_steps=3, budget=60)
        group[3].train(max_steps=1, budget=60)
    for _ in range(4):
        for s in alone:
            s.train(budget=60)
        ended = batched.train_together(together)
        assert all(ended)
    batched.train_together(together, max_steps=2)  # a turn cut short: mid-epoch for all
    for s in alone:
        s.train(budget=60, max_steps=2)
    assert_same(alone, together)
    assert min(s.epoch for s in alone) >= 4


def test_float32_stacked_training_stays_with_one_by_one():
    alone, together = sessions({}, 6, float64=False), sessions({}, 6, float64=False)
    for _ in range(3):
        for s in alone:
            s.train(budget=60)
        batched.train_together(together)
    assert_same(alone, together, tol=1e-5)
    assert together[0].frame()["train_loss"] < 0.69  # and it learns (log 2 at the start)


def test_a_diverging_session_is_undone_alone_and_the_others_go_on():
    base = {
        "dataset": "reg_plane",
        "problem": "regression",
        "loss": "mse",
        "layers": [8, 8, 8],
        "activations": ["relu"] * 3,
        "optimizer": "sgd",
        "init": "he",
    }
    alone, together = sessions(base, 3), sessions(base, 3)
    for group in (alone, together):
        for s in group:
            s.playing = True
        group[2].config = group[2].config.model_copy(update={"learning_rate": 10.0})
        group[2].optimizer = network.build_optimizer(group[2].model, group[2].config)
    for _ in range(200):
        for s in alone:
            if s.playing:
                s.train(budget=60)
        batched.train_together([s for s in together if s.playing])
        if not together[2].playing:
            break
    assert alone[2].divergence is not None  # in the same epoch, at the same step
    assert together[2].divergence is not None and together[2].playing is False
    assert together[2].divergence["message"] == alone[2].divergence["message"]
    assert together[0].playing and together[1].playing and together[0].divergence is None
    for p, q in zip(alone[2].model.parameters(), together[2].model.parameters(), strict=True):
        np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=1e-12, atol=1e-12)
        assert np.all(np.isfinite(q.detach().numpy()))
    # the turn ended at that step: the others finish their epoch, as they did alone
    assert alone[0].steps > together[0].steps == together[1].steps
    batched.train_together(together[:2])
    assert_same(alone[:2], together[:2])


def test_group_keys_put_only_like_sessions_together():
    default, other_lr, other_seed = Session(), Session(), Session(PlaygroundConfig(seed=5))
    other_lr.apply_config(other_lr.config.model_copy(update={"learning_rate": 0.3}))
    key = batched.group_key(default)
    assert key is not None and batched.group_key(other_lr) == key == batched.group_key(other_seed)
    for changes in (
        {"layers": [8, 7], "activations": ["tanh", "tanh"]},
        {"activations": ["tanh", "relu"]},
        {"batch_size": 12},
        {"train_ratio": 60},
        {"optimizer": "sgd"},
        {"loss": "mse"},
        {"regularization": "l2", "reg_rate": 0.001},
    ):
        s = Session(PlaygroundConfig(**changes))
        assert batched.group_key(s) not in (None, key), changes
    odd = Session()
    odd.optimizer = chainrule.optim.AdamW(odd.model.parameters(), lr=0.01)
    assert batched.group_key(odd) is None  # no stacked update for AdamW: trains alone
    empty = Session()
    empty.clear_points()  # your own data, no point yet: nothing to train on
    assert empty.data.n_train == 0 and batched.group_key(empty) is None
    assert empty.train() is False and empty.epoch == 0  # alone it trains nothing, as before
