"""Modules loaded on first use, so that a command pays only for the services it runs
(``evault show`` needs no media libraries, statistics or backups).

The API server calls the facade from a thread pool, so two threads may ask for
services first at the same moment. Python's import locks are per module: two
threads loading modules that import each other in different orders can meet in a
cycle, and the import system then raises a deadlock error in one of them (and the
standard library's ``importlib.util.LazyLoader``, before Python 3.12, can even hand
out a half-initialised module). So the first load of a lazy module takes one lock
for all of them: one thread loads at a time, the others wait and then find the
module whole. Attributes are always read from the real module (a name patched
there is seen).
"""

from __future__ import annotations

import importlib
import sys
import threading
from types import ModuleType
from typing import Any, Final

__all__ = ["lazy_module"]

_FIRST_LOAD: Final = threading.RLock()


class _LazyModule(ModuleType):
    def __getattr__(self, attr: str) -> Any:
        module = self.__dict__.get("_evault_loaded")
        if module is None:
            with _FIRST_LOAD:
                module = importlib.import_module(self.__name__)
            self.__dict__["_evault_loaded"] = module
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self.__name__!r}>"


def lazy_module(name: str) -> ModuleType:
    """``name`` (a full module name), imported when one of its attributes is first read."""
    loaded = sys.modules.get(name)
    return loaded if loaded is not None else _LazyModule(name)
