"""Optimizer state-dict hooks against torch 2.13: order (prepend too), what they see, a
returned dict replacing the result or the loaded state, a load pre-hook adapting an old
layout, removal, and AdamW's override running them once."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr


def _trained(lib: Any, name: str) -> tuple[Any, Any]:
    model = lib.nn.Linear(2, 1).double()
    with lib.no_grad():
        model.weight.copy_(lib.tensor(np.array([[0.5, -1.5]])))
        model.bias.fill_(0.25)
    opt = getattr(lib.optim, name)(model.parameters(), lr=0.1)
    loss = (model(lib.tensor(np.array([[1.0, 2.0]]))) ** 2).sum()
    loss.backward()
    opt.step()
    return model, opt


def _plain(state: Any) -> Any:
    """A state dict's values as plain Python (torch keeps step as a 0-d tensor)."""
    if isinstance(state, dict):
        return {k: _plain(v) for k, v in state.items()}
    if isinstance(state, list | tuple):
        return [_plain(v) for v in state]
    if hasattr(state, "detach"):
        state = state.detach().numpy()
    if isinstance(state, np.ndarray | np.generic):
        return np.asarray(state).tolist()
    return state


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_hooks_run_in_torchs_order_and_see_what_torchs_see(name: str) -> None:
    def body(lib: Any) -> list[Any]:
        _, opt = _trained(lib, name)
        seen: list[Any] = []
        opt.register_state_dict_pre_hook(lambda o: seen.append(("pre", o is opt)))
        opt.register_state_dict_pre_hook(lambda o: seen.append("pre first"), prepend=True)
        opt.register_state_dict_post_hook(lambda o, sd: seen.append(("post", sorted(sd))))
        opt.register_load_state_dict_pre_hook(
            lambda o, sd: seen.append(("load pre", sorted(sd), sd["param_groups"][0]["lr"]))
        )
        opt.register_load_state_dict_post_hook(
            lambda o: seen.append(("load post", o.param_groups[0]["lr"]))
        )
        state = opt.state_dict()
        state["param_groups"][0]["lr"] = 0.5
        opt.load_state_dict(state)
        seen.append(("groups", {k: v for k, v in opt.param_groups[0].items() if k != "params"}))
        return seen

    ours, theirs = body(cr), body(torch)
    assert ours[:-1] == theirs[:-1]
    assert ours[-1][1]["lr"] == theirs[-1][1]["lr"] == 0.5


def test_returned_dicts_replace_the_result_and_the_loaded_state() -> None:
    def body(lib: Any) -> Any:
        _, opt = _trained(lib, "Adam")
        handle = opt.register_state_dict_post_hook(lambda o, sd: {**sd, "note": "kept"})
        saved = opt.state_dict()
        handle.remove()
        plain = opt.state_dict()

        def adapt(o: Any, sd: Any) -> Any:  # an old layout: the learning rate under "rate"
            groups = [dict(g, lr=g.pop("rate")) for g in sd["param_groups"]]
            return {"state": sd["state"], "param_groups": groups}

        old = opt.state_dict()
        old["param_groups"] = [dict(g) for g in old["param_groups"]]
        old["param_groups"][0]["rate"] = old["param_groups"][0].pop("lr") * 3
        opt.register_load_state_dict_pre_hook(adapt)
        opt.load_state_dict(old)
        return saved["note"], "note" in plain, opt.param_groups[0]["lr"], _plain(saved["state"])

    ours, theirs = body(cr), body(torch)
    assert ours[:3] == theirs[:3]
    np.testing.assert_allclose(
        np.asarray(ours[3][0]["exp_avg"]), np.asarray(theirs[3][0]["exp_avg"]), rtol=1e-12
    )


def test_load_pre_hook_edits_a_copy_not_the_callers_dict() -> None:
    def body(lib: Any) -> Any:
        _, opt = _trained(lib, "SGD")
        state = opt.state_dict()
        opt.register_load_state_dict_pre_hook(lambda o, sd: sd.__setitem__("extra", 1))
        opt.load_state_dict(state)
        return sorted(state)

    assert body(cr) == body(torch) == ["param_groups", "state"]


def test_adamw_override_runs_the_hooks_once_after_its_own_fix() -> None:
    def body(lib: Any) -> Any:
        _, opt = _trained(lib, "AdamW")
        calls: list[Any] = []
        opt.register_load_state_dict_post_hook(
            lambda o: calls.append(o.param_groups[0].get("decoupled_weight_decay"))
        )
        opt.register_state_dict_pre_hook(lambda o: calls.append("save"))
        state = opt.state_dict()
        state["param_groups"][0]["decoupled_weight_decay"] = False
        opt.load_state_dict(state)
        return calls

    assert body(cr) == body(torch) == ["save", True]
