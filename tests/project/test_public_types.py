"""The public API names its types: no public signature writes a bare ``Any`` unless it is
listed below with a reason.

`tests.support.public_surface` walks what chainrule, nn, nn.functional, optim (and
lr_scheduler), data / utils.data, train, checkpoint and autograd export, and reads each
signature from the source. ``Any`` written in a signature (bare or inside ``dict[str, Any]``)
fails here; an alias from `chainrule.types` (``StateDict``, ``Batch``, ``ModuleOutput`` ...)
passes, because its name and docstring say why the value is open. A new ``Any`` needs a
real type, an alias with a reason, or an entry in `tests/project/still_any.py` with one.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from typing import Any

import pytest

import chainrule.types
from chainrule.types import StateDict
from tests.project.still_any import STILL_ANY
from tests.support.public_surface import any_uses, inventory, public_functions


def test_no_public_signature_writes_any_without_a_reason() -> None:
    new = sorted(str(use) for use in inventory() if use.function not in STILL_ANY)
    assert not new, (
        "public signatures that write Any: give them a real type or an alias from "
        "chainrule.types whose docstring says why the value is open:\n  " + "\n  ".join(new)
    )


def test_the_list_of_remaining_any_only_shrinks() -> None:
    """An entry whose function no longer writes Any (or is gone) must leave the list."""
    still = {use.function for use in inventory()}
    stale = sorted(name for name in STILL_ANY if name not in still)
    assert not stale, "typed now: remove from STILL_ANY:\n  " + "\n  ".join(stale)


def _bare(x: Any, y: dict[str, Any]) -> Any: ...


def _quoted(x: "list[Any]") -> None: ...  # noqa: UP037 (a quoted hint is read too)


def _named(x: StateDict, y: object) -> StateDict: ...


def test_the_check_finds_any_and_lets_named_aliases_pass() -> None:
    assert [(u.name, u.annotation) for u in any_uses(_bare)] == [
        ("x", "Any"),
        ("y", "dict[str, Any]"),
        ("return", "Any"),
    ]
    assert [u.name for u in any_uses(_quoted)] == ["x"]
    assert any_uses(_named) == []


def test_the_walk_reaches_the_public_surface() -> None:
    from chainrule import nn, optim
    from chainrule.data import DataLoader, random_split

    walked = {f"{fn.__module__}.{fn.__qualname__}" for fn in public_functions()}
    expected: list[Callable[..., object]] = [
        nn.Module.forward,
        nn.Module.register_forward_hook,
        nn.Linear.__init__,
        optim.Optimizer.step,
        optim.SGD.step,
        DataLoader.__init__,
        random_split,
    ]
    for fn in expected:
        assert f"{fn.__module__}.{fn.__qualname__}" in walked


def _alias_docstrings() -> dict[str, str | None]:
    """Each module-level alias of chainrule.types and the string just below it."""
    tree = ast.parse(inspect.getsource(chainrule.types))
    found: dict[str, str | None] = {}
    body = tree.body
    for i, node in enumerate(body):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            following = body[i + 1] if i + 1 < len(body) else None
            doc = (
                following.value.value
                if isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
                else None
            )
            found[node.target.id] = doc
    return found


HOOK_PROTOCOLS = (
    "ForwardHook",
    "ForwardHookWithKwargs",
    "ForwardPreHook",
    "ForwardPreHookWithKwargs",
    "FullBackwardHook",
    "FullBackwardPreHook",
)
"""chainrule.types' Protocols: exported beside the aliases, with no alias docstring."""


def test_every_alias_is_exported_and_says_what_it_is() -> None:
    docs = _alias_docstrings()
    assert docs, "no aliases found in chainrule.types"
    assert set(chainrule.types.__all__) == set(docs) | set(HOOK_PROTOCOLS)
    undocumented = sorted(name for name, doc in docs.items() if not doc)
    assert not undocumented, f"aliases without a docstring: {undocumented}"


@pytest.mark.parametrize("name", HOOK_PROTOCOLS)
def test_hook_protocols_accept_plain_functions(name: str) -> None:
    """The hook types are Protocols of a positional call (what Module calls them with)."""
    protocol = getattr(chainrule.types, name)
    call = inspect.signature(protocol.__call__)
    kinds = [p.kind for p in call.parameters.values()][1:]  # after self
    assert kinds and all(k is inspect.Parameter.POSITIONAL_ONLY for k in kinds)
