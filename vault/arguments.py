"""Argument checks at the public facade: a wrong type is a :class:`UsageError`, never
a ``TypeError`` or ``AttributeError`` from somewhere inside.

:func:`checked` reads a function's annotations once and, on every call, checks each
argument against them: plain classes (``str``, ``int`` but not ``bool``,
``Passphrase``, ``Policy``, ``timedelta`` ...), ``os.PathLike``, binary streams (an
object with ``read``), callables, unions and ``None``, and collections (any iterable
but a string; the items of a list, tuple or set are checked too, a generator is not
consumed). Records and patches (``Mapping`` and ``Any``) are left to the validators,
which say what is wrong where (InvalidInputError). Messages name the method and the
argument, never the value.
"""

from __future__ import annotations

import collections.abc
import functools
import importlib
import inspect
import os
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from vault.errors import UsageError

__all__ = ["LazyNames", "checked", "checked_class"]

F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound=type)
_Check = Callable[[Any], bool]
_COLLECTIONS = (
    collections.abc.Iterable,
    collections.abc.Iterator,
    collections.abc.Sequence,
    collections.abc.Collection,
    list,
    tuple,
    set,
    frozenset,
)


def _check_for(hint: Any) -> tuple[_Check, str] | None:
    """A predicate for ``hint`` and its description, or None where nothing is checked."""
    if hint is Any or isinstance(hint, TypeVar):
        return None
    if hint is None or hint is type(None):
        return (lambda v: v is None), "None"
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        parts = [_check_for(a) for a in typing.get_args(hint)]
        if any(p is None for p in parts):
            return None
        checks = [p for p in parts if p is not None]
        described = " or ".join(dict.fromkeys(d for _, d in checks))
        return (lambda v: any(c(v) for c, _ in checks)), described
    if hint is typing.IO or origin is typing.IO:
        return (lambda v: callable(getattr(v, "read", None))), "a binary stream"
    if origin is os.PathLike or hint is os.PathLike:
        return (lambda v: isinstance(v, os.PathLike)), "a path"
    if origin is collections.abc.Callable or hint is collections.abc.Callable:
        return callable, "a callable"
    if origin in (collections.abc.Mapping, dict) or hint in (collections.abc.Mapping, dict):
        return None  # records and patches: the validators say what is wrong, and where
    if origin in _COLLECTIONS or hint in _COLLECTIONS:
        args = typing.get_args(hint)
        item = _check_for(args[0]) if len(args) == 1 else None
        return _collection(item), "a list"
    if isinstance(hint, type):
        if hint is int:
            return (lambda v: isinstance(v, int) and not isinstance(v, bool)), "an integer"
        if hint is float:
            ok = (int, float)
            return (lambda v: isinstance(v, ok) and not isinstance(v, bool)), "a number"
        label = {str: "a string", bool: "true or false"}.get(hint, f"a {hint.__name__}")
        return (lambda v: isinstance(v, hint)), label
    return None


def _collection(item: tuple[_Check, str] | None) -> _Check:
    def check(value: Any) -> bool:
        if isinstance(value, str | bytes | collections.abc.Mapping) or not isinstance(
            value, collections.abc.Iterable
        ):
            return False
        if item is not None and isinstance(value, list | tuple | set | frozenset):
            return all(item[0](v) for v in value)
        return True

    return check


def checked(function: F, namespace: dict[str, Any] | None = None) -> F:
    """``function`` with its arguments checked against its annotations (see above);
    ``namespace`` resolves names the module does not hold (the class being made)."""
    signature = inspect.signature(function)
    # The parameters only: a return type may name a class its module imports for type
    # checkers alone (a service loaded on first use, see vault/lazy.py).
    parameters = {k: v for k, v in function.__annotations__.items() if k != "return"}
    what = function.__qualname__.replace("Vault.", "")

    @functools.cache
    def checks_of() -> dict[str, tuple[_Check, str]]:
        # On the first call, not at import: a parameter's class may live in a module
        # loaded on first use (``namespace`` may load it, see :class:`LazyNames`).
        hints = typing.get_type_hints(
            types.SimpleNamespace(__annotations__=parameters),
            globalns=function.__globals__,
            localns=namespace,
        )
        return {
            name: check
            for name in signature.parameters
            if name in hints and (check := _check_for(hints[name])) is not None
        }

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            # Names of parameters only (missing, unexpected): never a value.
            raise UsageError(f"{what}: {exc}") from None
        checks = checks_of()
        for name, value in bound.arguments.items():
            check = checks.get(name)
            if check is None:
                continue
            predicate, description = check
            kind = signature.parameters[name].kind
            if kind is inspect.Parameter.VAR_POSITIONAL:
                ok = all(predicate(v) for v in value)
            elif kind is inspect.Parameter.VAR_KEYWORD:
                ok = all(predicate(v) for v in value.values())
            else:
                ok = predicate(value)
            if not ok:
                raise UsageError(f"{what}: {name} must be {description}")
        return function(*args, **kwargs)

    wrapper.__dict__["checks_of"] = checks_of  # for tests: every hint resolves
    return typing.cast(F, wrapper)


class LazyNames(dict[str, Any]):
    """Names for resolving annotations that load their module when first asked for:
    ``{"Policy": "vault.policy"}`` imports ``vault.policy`` only when a ``Policy``
    parameter is first checked."""

    def __init__(self, known: dict[str, Any], lazy: dict[str, str]) -> None:
        super().__init__(known)
        self._lazy = lazy

    def __missing__(self, name: str) -> Any:
        module = self._lazy.get(name)
        if module is None:
            raise KeyError(name)
        value = getattr(importlib.import_module(module), name)
        self[name] = value
        return value


def checked_class(cls: C, lazy: dict[str, str] | None = None) -> C:
    """Every public method, class method and static method of ``cls``, :func:`checked`;
    ``lazy`` names classes its annotations use and the modules that hold them, loaded
    on first use (see :class:`LazyNames`)."""
    own = LazyNames({cls.__name__: cls}, lazy or {})
    for name, attr in list(vars(cls).items()):
        if name.startswith("_"):
            continue
        if isinstance(attr, classmethod):
            setattr(cls, name, classmethod(checked(attr.__func__, own)))
        elif isinstance(attr, staticmethod):
            setattr(cls, name, staticmethod(checked(attr.__func__, own)))
        elif inspect.isfunction(attr):
            setattr(cls, name, checked(attr, own))
    return cls
