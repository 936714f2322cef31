"""Module.state_dict / load_state_dict against torch 2.13: the four state-dict hooks (order,
arguments, edits), extra state, metadata, strict errors word for word, assign=True."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr


def _model(lib: Any, extra: bool = False) -> Any:
    """Sequential(Linear(2, 3), Block(Linear(3, 1), buffer "count")), float64, fixed
    weights; with ``extra`` the block keeps a setting as extra state."""

    class Block(lib.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.out = lib.nn.Linear(3, 1)
            self.register_buffer("count", lib.zeros(()))
            self.scale = 2.0

    if extra:

        def get_extra_state(self: Any) -> Any:
            return {"scale": self.scale}

        def set_extra_state(self: Any, state: Any) -> None:
            self.scale = state["scale"]

        Block.get_extra_state = get_extra_state
        Block.set_extra_state = set_extra_state
    model = lib.nn.Sequential(lib.nn.Linear(2, 3), Block()).double()
    with lib.no_grad():
        for i, p in enumerate(model.parameters()):
            p.copy_(lib.arange(p.numel(), dtype=lib.float64).reshape(p.shape) / 10 + i)
    return model


def _named(model: Any) -> dict[int, str]:
    return {id(m): name or "<root>" for name, m in model.named_modules()}


def _hook_log(lib: Any) -> list[Any]:
    """Which hooks ran, in which order, with what (module names, prefixes, keys)."""
    model = _model(lib)
    names = _named(model)
    log: list[Any] = []
    for module in model.modules():
        module.register_state_dict_pre_hook(
            lambda m, prefix, keep_vars: log.append(("pre", names[id(m)], prefix, keep_vars))
        )
        module.register_state_dict_post_hook(
            lambda m, sd, prefix, meta: log.append(("post", names[id(m)], prefix, list(sd), meta))
        )
        module.register_load_state_dict_pre_hook(
            lambda m, sd, prefix, meta, strict, missing, unexpected, errors: log.append(
                ("load_pre", names[id(m)], prefix, sorted(sd), meta, strict, list(missing))
            )
        )
        module.register_load_state_dict_post_hook(
            lambda m, keys: log.append(
                ("load_post", names[id(m)], list(keys.missing_keys), list(keys.unexpected_keys))
            )
        )
    state = model.state_dict(keep_vars=True)
    log.append(("metadata", dict(state._metadata)))
    del state["1.out.bias"]
    state["1.stray"] = state["0.bias"]
    log.append(("result", repr(model.load_state_dict(state, strict=False))))
    return log


def test_state_dict_hooks_run_in_torchs_order_with_torchs_arguments() -> None:
    assert _hook_log(cr) == _hook_log(torch)


def test_state_dict_post_hook_edits_in_place_and_must_return_none() -> None:
    def body(lib: Any) -> Any:
        model = _model(lib)
        model[1].register_state_dict_post_hook(lambda m, sd, prefix, meta: sd.pop(prefix + "count"))
        with pytest.raises(RuntimeError) as info:
            model.state_dict()
        handle = model.register_state_dict_post_hook(
            lambda m, sd, prefix, meta: sd.__setitem__("note", lib.ones(1)) or None
        )
        model2 = _model(lib)
        model2.register_state_dict_post_hook(lambda m, sd, prefix, meta: None)
        handle.remove()
        return str(info.value), list(model2.state_dict())

    assert body(cr) == body(torch)


def test_extra_state_is_saved_and_loaded_as_torch_does() -> None:
    def body(lib: Any) -> Any:
        source, target = _model(lib, extra=True), _model(lib, extra=True)
        source[1].scale = 5.0
        state = source.state_dict()
        keys = list(state)
        extra = state["1._extra_state"]
        target.load_state_dict(state)
        del state["1._extra_state"]
        with pytest.raises(RuntimeError) as missing:
            target.load_state_dict(state)
        plain = _model(lib)
        with pytest.raises(RuntimeError) as unexpected:
            plain.load_state_dict(source.state_dict())
        return keys, extra, target[1].scale, str(missing.value), str(unexpected.value)

    assert body(cr) == body(torch)


def test_strict_errors_are_torchs_word_for_word() -> None:
    def body(lib: Any) -> Any:
        model = _model(lib)
        state = model.state_dict()
        del state["0.weight"]
        state["0.extra"] = state["0.bias"]
        state["9.weight"] = state["0.bias"]
        with pytest.raises(RuntimeError) as keys:
            model.load_state_dict(state)
        state = model.state_dict()
        state["0.bias"] = lib.zeros(4, dtype=lib.float64)
        with pytest.raises(RuntimeError) as shape:
            model.load_state_dict(state, strict=False)
        state = model.state_dict()
        state["0.bias"] = [0.0, 1.0, 2.0]
        with pytest.raises(RuntimeError) as kind:
            model.load_state_dict(state)
        with pytest.raises(TypeError) as mapping:
            model.load_state_dict([("0.bias", lib.zeros(3))])
        return [str(e.value).replace("torch.Size", "chainrule.Size") for e in (keys, shape)] + [
            str(kind.value),
            str(mapping.value),
        ]

    assert body(cr) == body(torch)


def test_load_post_hook_clearing_the_keys_lets_strict_loading_pass() -> None:
    def body(lib: Any) -> Any:
        model = _model(lib)
        state = model.state_dict()
        del state["0.bias"]

        def forgive(module: Any, keys: Any) -> None:
            keys.missing_keys.clear()

        model.register_load_state_dict_post_hook(forgive)
        return repr(model.load_state_dict(state))

    assert body(cr) == body(torch) == "<All keys matched successfully>"


def test_load_pre_hook_may_rename_keys() -> None:
    def body(lib: Any) -> Any:
        model = _model(lib)
        old = {k.replace("out.", "head."): v.clone() + 1 for k, v in model.state_dict().items()}

        def rename(module, state, prefix, meta, strict, missing, unexpected, errors) -> None:  # type: ignore[no-untyped-def]
            for key in [k for k in state if k.startswith(prefix + "head.")]:
                state[key.replace("head.", "out.")] = state.pop(key)

        model[1].register_load_state_dict_pre_hook(rename)
        result = repr(model.load_state_dict(old))
        return result, [v.detach().numpy().tolist() for v in model.state_dict().values()]

    assert body(cr) == body(torch)


def test_assign_puts_the_checkpoints_tensors_in_keeping_requires_grad() -> None:
    def body(lib: Any) -> Any:
        model = _model(lib).float()
        model[0].bias.requires_grad_(False)
        state = _model(lib).state_dict()  # float64
        before = model[0].weight
        model.load_state_dict(state, assign=True)
        params = dict(model.named_parameters())
        return (
            params["0.weight"] is before,
            str(params["0.weight"].dtype).replace("torch.", ""),
            [p.requires_grad for p in model.parameters()],
            type(model[1].count).__name__,
            params["0.weight"].detach().numpy().tolist(),
        )

    ours, theirs = body(cr), body(torch)
    assert ours[:3] == (False, "float64", [True, False, True, True])
    assert ours == theirs


def test_positional_arguments_warn_and_fill_destination_and_prefix() -> None:
    def body(lib: Any) -> Any:
        model = _model(lib)
        destination: dict[str, Any] = {}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = model.state_dict(destination, "net.")
        return result is destination, list(destination), [w.category for w in caught]

    assert body(cr) == body(torch)


def test_a_one_element_vector_fills_a_scalar_buffer() -> None:
    def body(lib: Any) -> Any:
        model = _model(lib)
        state = model.state_dict()
        state["1.count"] = lib.ones(1, dtype=lib.float64) * 7
        model.load_state_dict(state)
        return float(model[1].count)

    assert body(cr) == body(torch) == 7.0


def test_extra_state_survives_a_chainrule_checkpoint(tmp_path: Any) -> None:
    source, target = _model(cr, extra=True), _model(cr, extra=True)
    source[1].scale = 3.5
    cr.save(source.state_dict(), tmp_path / "model.pth")
    target.load_state_dict(cr.load(tmp_path / "model.pth"))
    assert target[1].scale == 3.5
    np.testing.assert_array_equal(
        target[0].weight.detach().numpy(), source[0].weight.detach().numpy()
    )
