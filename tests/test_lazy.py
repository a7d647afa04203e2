"""Services the facade loads on first use load once, whole, whichever thread asks
first: the API server calls the facade from a thread pool."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import threading
import vault.core as core
names = [("backup", "make_backup"), ("stats", "statistics"), ("sharing", "export"),
         ("checking", "check"), ("lifecycle", "rotate"), ("receiving", "receive")]
barrier = threading.Barrier(16)
errors = []
def read(n):
    module, attr = names[n % len(names)]
    barrier.wait()
    try:
        getattr(getattr(core, module), attr)
    except Exception as exc:
        errors.append(type(exc).__name__)
threads = [threading.Thread(target=read, args=(n,)) for n in range(16)]
for t in threads: t.start()
for t in threads: t.join()
print(len(errors), sorted(set(errors)))
"""


def test_threads_touching_a_service_first_all_see_it_whole() -> None:
    # A fresh process each time, so that no service is loaded before the threads ask.
    # Services import each other: unserialised, threads loading them at once meet in
    # an import-lock cycle (a deadlock error) or see a module half-loaded.
    for _ in range(4):
        out = subprocess.run(
            [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
        ).stdout
        assert out.strip() == "0 []"


def test_a_read_loads_no_service_it_does_not_use() -> None:
    probe = (
        "import sys, vault.cli._records as r, vault.core;"
        "print(sorted(m for m in ('vault.backup', 'vault.stats', 'vault.sharing', "
        "'vault.checking', 'vault.mapping', 'numpy', 'pydantic') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.strip() == "[]"
