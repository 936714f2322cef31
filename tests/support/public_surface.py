"""Walk chainrule's public surface and find the signatures that write `Any` themselves.

The public surface is what the user-facing modules export (``__all__``, else the names without
a leading underscore): their functions, and the methods of their classes (public names plus the
dunders a user calls: ``__init__``, ``__call__``, ``__getitem__`` ...), inherited ones included,
each counted once where it is defined.

An annotation is read from the function's *source* (``ast``), not from its evaluated hints: an
alias such as ``StateDict`` (``chainrule.types``) is a name with a reason, while ``Any`` written
in the signature (bare, or inside ``dict[str, Any]``) is not. ``python -m
tests.support.public_surface`` prints the inventory.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass

SURFACE_MODULES = (
    "chainrule",
    "chainrule.autograd",
    "chainrule.nn",
    "chainrule.nn.functional",
    "chainrule.optim",
    "chainrule.optim.lr_scheduler",
    "chainrule.data",
    "chainrule.utils.data",
    "chainrule.train",
    "chainrule.checkpoint",
)

CALLED_DUNDERS = frozenset(
    {
        "__init__",
        "__call__",
        "__getitem__",
        "__setitem__",
        "__delitem__",
        "__iter__",
        "__next__",
        "__len__",
        "__contains__",
        "__enter__",
        "__exit__",
        "__getattr__",
        "__setattr__",
    }
)


@dataclass(frozen=True)
class AnyUse:
    """One parameter (or the return, ``name == "return"``) whose annotation writes Any."""

    function: str  # module.qualname where it is defined
    name: str
    annotation: str

    def __str__(self) -> str:
        return f"{self.function}: {self.name}: {self.annotation}"


def _exported(module: types.ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    return sorted(names)


def _is_ours(obj: object) -> bool:
    return (getattr(obj, "__module__", None) or "").startswith("chainrule")


def _functions_of(cls: type) -> Iterator[Callable[..., object]]:
    seen: set[str] = set()
    for klass in cls.__mro__:
        if not _is_ours(klass):
            continue
        for name, attr in vars(klass).items():
            if name in seen or (name.startswith("_") and name not in CALLED_DUNDERS):
                continue
            seen.add(name)
            if isinstance(attr, (staticmethod, classmethod)):
                attr = attr.__func__
            if isinstance(attr, property):
                for accessor in (attr.fget, attr.fset):
                    if accessor is not None:
                        yield accessor
            elif inspect.isfunction(attr):
                yield attr


def public_functions() -> Iterator[Callable[..., object]]:
    """Every public function and method, once each (by its code object)."""
    seen: set[object] = set()
    for module_name in SURFACE_MODULES:
        module = importlib.import_module(module_name)
        for name in _exported(module):
            obj = getattr(module, name, None)
            if inspect.isclass(obj) and _is_ours(obj):
                candidates: Iterator[Callable[..., object]] = _functions_of(obj)
            elif callable(obj) and _is_ours(obj):
                candidates = iter([obj])
            else:
                continue
            for fn in candidates:
                fn = inspect.unwrap(fn)
                code = getattr(fn, "__code__", None)
                if code is None or code in seen:
                    continue
                seen.add(code)
                yield fn


def _mentions_any(node: ast.expr | None) -> bool:
    if node is None:
        return False
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id == "Any":
            return True
        if isinstance(sub, ast.Attribute) and sub.attr == "Any":
            return True
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):  # "quoted" hints
            try:
                if _mentions_any(ast.parse(sub.value, mode="eval").body):
                    return True
            except SyntaxError:
                pass
    return False


def _definition(fn: Callable[..., object]) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    if fn.__name__ == "<lambda>":  # no annotations to read
        return None
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return node
    return None


def any_uses(fn: Callable[..., object]) -> list[AnyUse]:
    """The parameters and return of ``fn`` whose written annotation mentions Any."""
    node = _definition(fn)
    if node is None:
        return []
    where = f"{fn.__module__}.{fn.__qualname__}"
    args = node.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    if args.vararg is not None:
        every.append(args.vararg)
    if args.kwarg is not None:
        every.append(args.kwarg)
    uses = [
        AnyUse(where, arg.arg, ast.unparse(arg.annotation))
        for arg in every
        if arg.annotation is not None and _mentions_any(arg.annotation)
    ]
    if _mentions_any(node.returns):
        assert node.returns is not None
        uses.append(AnyUse(where, "return", ast.unparse(node.returns)))
    return uses


def inventory() -> list[AnyUse]:
    return [use for fn in public_functions() for use in any_uses(fn)]


if __name__ == "__main__":
    found = inventory()
    functions = sorted({use.function for use in found})
    for use in sorted(found, key=str):
        print(use)
    total = sum(1 for _ in public_functions())
    print(f"{len(found)} annotations with Any in {len(functions)} of {total} public functions")
