"""nn.Module hooks (forward pre, forward, full backward) against torch 2.13: what the hooks
see, replacements of arguments, outputs and input gradients, removal."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

import chainrule as cr

W = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]])
X = np.arange(12.0).reshape(4, 3) / 10


def _linear(lib: Any) -> Any:
    m = lib.nn.Linear(3, 2).double()
    with lib.no_grad():
        m.weight.copy_(lib.tensor(W))
        m.bias.zero_()
    return m


def _np(t: Any) -> Any:
    return None if t is None else t.detach().numpy().copy()


def run_both(body: Any) -> None:
    ours, theirs = body(cr), body(torch)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        if b is None:
            assert a is None
        else:
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12)


def test_forward_pre_and_forward_hooks_replace_args_and_output() -> None:
    def body(lib: Any) -> list[Any]:
        m = _linear(lib)
        m.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
        handle = m.register_forward_hook(lambda mod, args, out: out + 1)
        first = _np(m(lib.tensor(X)))
        handle.remove()
        return [first, _np(m(lib.tensor(X)))]

    run_both(body)


def test_full_backward_hook_sees_and_replaces_grad_input() -> None:
    def body(lib: Any) -> list[Any]:
        m = _linear(lib)
        seen = []

        def hook(mod: Any, grad_input: Any, grad_output: Any) -> Any:
            seen.extend([_np(grad_input[0]), _np(grad_output[0])])
            return (grad_input[0] * 3,)

        m.register_full_backward_hook(hook)
        x = lib.tensor(X, requires_grad=True)
        (m(x) ** 2).sum().backward()
        return [*seen, _np(x.grad), _np(m.weight.grad)]

    run_both(body)


def test_full_backward_hook_without_an_input_that_needs_grad_gets_none() -> None:
    def body(lib: Any) -> list[Any]:
        m = _linear(lib)
        seen = []
        m.register_full_backward_hook(lambda mod, gi, go: seen.extend([gi[0], _np(go[0])]))
        m(lib.tensor(X)).sum().backward()
        return seen

    run_both(body)


def test_full_backward_pre_hook_sees_and_replaces_grad_output() -> None:
    def body(lib: Any) -> list[Any]:
        m = _linear(lib)
        seen: list[Any] = []

        def before(mod: Any, grad_output: Any) -> Any:
            seen.append(("pre", _np(grad_output[0])))
            return (grad_output[0] * 2,)

        m.register_full_backward_pre_hook(before)
        m.register_full_backward_hook(lambda mod, gi, go: seen.append(("full", _np(go[0]))))
        x = lib.tensor(X, requires_grad=True)
        (m(x) ** 2).sum().backward()
        # the pre-hook first, then the full hook sees the replaced grad_output
        return [*(v for _, v in seen), _np(x.grad), _np(m.weight.grad), _np(m.bias.grad)]

    run_both(body)
    calls: list[str] = []
    m = _linear(cr)
    m.register_full_backward_pre_hook(lambda mod, go: calls.append("pre"))
    m.register_full_backward_hook(lambda mod, gi, go: calls.append("full"))
    m(cr.tensor(X, requires_grad=True)).sum().backward()
    assert calls == ["pre", "full"]


def test_full_backward_pre_hook_alone_and_its_removal() -> None:
    def body(lib: Any) -> list[Any]:
        m = _linear(lib)
        handle = m.register_full_backward_pre_hook(lambda mod, go: (go[0] * 0,))
        m(lib.tensor(X)).sum().backward()  # no input needs a gradient: W's still does
        zeroed = _np(m.weight.grad)
        handle.remove()
        m.zero_grad()
        m(lib.tensor(X)).sum().backward()
        return [zeroed, _np(m.weight.grad)]

    run_both(body)


class _Scaled:
    """A module whose forward takes a keyword (``scale``), built for either library."""

    @staticmethod
    def make(lib: Any) -> Any:
        class Scaled(lib.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.inner = _linear(lib)

            def forward(self, x: Any, scale: float = 1.0) -> Any:
                if scale < 0:
                    raise ValueError("negative scale")
                return self.inner(x) * scale

        return Scaled()


def test_with_kwargs_hooks_see_and_replace_the_keywords() -> None:
    def body(lib: Any) -> list[Any]:
        m = _Scaled.make(lib)
        seen: list[Any] = []

        def pre(module: Any, args: Any, kwargs: Any) -> Any:
            seen.append(("pre", sorted(kwargs), kwargs.get("scale")))
            return args, {**kwargs, "scale": kwargs.get("scale", 1.0) * 2}

        def post(module: Any, args: Any, kwargs: Any, output: Any) -> Any:
            seen.append(("post", kwargs["scale"]))
            return output + 1

        m.register_forward_pre_hook(pre, with_kwargs=True)
        m.register_forward_hook(post, with_kwargs=True)
        m.register_forward_hook(lambda module, args, output: seen.append("plain"))
        out = m(lib.tensor(X), scale=3.0)
        return [*seen, _np(out)]

    ours, theirs = body(cr), body(torch)
    assert ours[:-1] == theirs[:-1] == [("pre", ["scale"], 3.0), ("post", 6.0), "plain"]
    np.testing.assert_allclose(ours[-1], theirs[-1], rtol=1e-12)


def test_with_kwargs_pre_hook_with_a_bad_result_is_torchs_error() -> None:
    def body(lib: Any) -> str:
        m = _Scaled.make(lib)
        m.register_forward_pre_hook(lambda module, args, kwargs: args, with_kwargs=True)
        try:
            m(lib.tensor(X))
        except RuntimeError as error:
            return str(error).replace("tensor(", "T(")
        return "no error"

    ours, theirs = body(cr), body(torch)
    assert ours.split(",")[0] == theirs.split(",")[0]
    assert ours.startswith("forward pre-hook must return None or a tuple of (new_args")


def test_always_call_hooks_run_when_forward_raises() -> None:
    def body(lib: Any) -> list[Any]:
        m = _Scaled.make(lib)
        seen: list[Any] = []
        m.register_forward_hook(lambda mod, args, out: seen.append(("plain", out)))
        m.register_forward_hook(lambda mod, a, out: seen.append(("always", out)), always_call=True)

        def failing(mod: Any, args: Any, kwargs: Any, out: Any) -> None:
            seen.append(("failing", kwargs))
            if kwargs:
                raise KeyError("hook")

        m.register_forward_hook(failing, with_kwargs=True, always_call=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                m(lib.tensor(X), scale=-1.0)
            except ValueError as error:
                seen.append(("raised", str(error)))
        seen.append([str(w.message).split(":")[0] for w in caught])
        m(lib.tensor(X))  # no error: each hook once, in order
        return [s if not isinstance(s, tuple) or s[0] == "raised" else s[:1] for s in seen]

    assert body(cr) == body(torch)
