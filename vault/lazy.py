"""Modules loaded on first use, so that a command pays only for the services it runs
(``evault show`` needs no media libraries, statistics or backups).

The standard library's ``importlib.util.LazyLoader`` does this too, but before Python
3.12 two threads touching a lazily loaded module at once can see it half-initialised,
and the API server calls the facade from a thread pool. Here the loading is left to
``importlib.import_module``, which holds the import lock, and every attribute is read
from the real module (so a name patched there is seen).
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any

__all__ = ["lazy_module"]


class _LazyModule(ModuleType):
    def __getattr__(self, attr: str) -> Any:
        # Always through import_module, never sys.modules directly: a module another
        # thread is still loading is listed there half-made, and import_module waits
        # for it (it returns at once once the module is loaded).
        return getattr(importlib.import_module(self.__name__), attr)

    def __repr__(self) -> str:
        return f"<lazy module {self.__name__!r}>"


def lazy_module(name: str) -> ModuleType:
    """``name`` (a full module name), imported when one of its attributes is first read."""
    loaded = sys.modules.get(name)
    return loaded if loaded is not None else _LazyModule(name)
