"""nn.Module by dotted path (get_submodule, get_parameter, get_buffer, set_submodule) and
the casts half/type, against torch 2.13: the same objects found, the same error texts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr


def _model(lib: Any) -> Any:
    return lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.Sequential(lib.nn.BatchNorm1d(2)))


def _errors(calls: list[Any]) -> list[str]:
    texts = []
    for call, *args in calls:
        with pytest.raises((AttributeError, ValueError)) as error:
            call(*args)
        texts.append(f"{type(error.value).__name__}: {error.value}")
    return texts


def test_get_submodule_parameter_and_buffer() -> None:
    def body(lib: Any) -> list[Any]:
        model = _model(lib)
        found = [
            model.get_submodule("") is model,
            model.get_submodule("1.0") is model[1][0],
            model.get_parameter("0.weight") is model[0].weight,
            model.get_buffer("1.0.running_mean") is model[1][0].running_mean,
        ]
        errors = _errors([
            (model.get_submodule, "2"),
            (model.get_submodule, "0.weight"),
            (model.get_parameter, "0.nothing"),
            (model.get_parameter, "1.0.running_mean"),
            (model.get_buffer, "0.weight"),
            (model.get_buffer, "1.0.nothing"),
        ])  # fmt: skip
        return [found, errors]

    assert body(cr) == body(torch)


def test_set_submodule_replaces_and_refuses_as_torch() -> None:
    def body(lib: Any) -> list[Any]:
        model = _model(lib)
        head = lib.nn.Linear(2, 4)
        model.set_submodule("1.0", head)
        model.set_submodule("1.extra", lib.nn.ReLU())  # a new name: allowed unless strict
        errors = _errors([
            (model.set_submodule, "", head),
            (model.set_submodule, "0", "not a module"),
            (model.set_submodule, "1.missing", head, True),
            (model.set_submodule, "0.weight", head),
            (model.set_submodule, "5.0", head),
        ])  # fmt: skip
        return [model[1][0] is head, [name for name, _ in model.named_modules()], errors]

    assert body(cr) == body(torch)


def test_half_and_type_cast_as_torch() -> None:
    def body(lib: Any) -> list[Any]:
        model = _model(lib)
        model.half()
        halves = [str(t.dtype).removeprefix("torch.") for t in model.state_dict().values()]
        model.type(lib.float64)  # every tensor, the integer batch count too
        doubles = [str(t.dtype).removeprefix("torch.") for t in model.state_dict().values()]
        return [halves, doubles]

    ours, theirs = body(cr), body(torch)
    assert ours == theirs


def test_a_half_model_runs_forward_and_backward() -> None:
    model = cr.nn.Linear(3, 2).half()
    x = cr.tensor(np.ones((4, 3), np.float16))
    model(x).sum().backward()
    assert model.weight.grad is not None and model.weight.grad.dtype == cr.float16
