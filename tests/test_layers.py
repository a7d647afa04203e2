"""The layers of ``vault/`` import downward only, and no module imports itself round.

primitives -> domain -> storage -> services -> facade -> front-ends. A module may
import modules of its own layer or below; front-ends may not reach past the services
into storage, records or keys; the domain holds no SQL; the recipient-side verifier
needs nothing of a vault. Imports are read from the source (every ``import`` node,
also those inside functions and ``TYPE_CHECKING`` blocks), so nothing has to run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

VAULT = Path(__file__).resolve().parent.parent / "vault"

LAYERS: dict[str, tuple[str, ...]] = {
    "primitives": (
        "errors",
        "crypto",
        "age",
        "partial",
        "progress",
        "lazy",
        "i18n",
        "heap",
        "forked",
    ),
    "domain": (
        "keys",
        "registry",
        "schema",
        "contract",
        "strength",
        "decisions",
        "records",
        "edits",
        "policy",
        "filerules",
        "redaction",
        "ner",
        "names",
        "persons",
        "detect",
        "scrub",
        "sources",
        "filesource",
        "presets",
        "mapping",
        "rebuild",
        "export",
        "terms",
        "received",
        "suppress",
        "tables",
        "report",
        "shipped_policies",
    ),
    "storage": ("store", "migrations"),
    "services": (
        "leftovers",
        "context",
        "audit",
        "custody",
        "unlock",
        "tokens",
        "attachments",
        "uploads",
        "lifecycle",
        "auditing",
        "pacing",
        "staging",
        "revisions",
        "ingest",
        "precheck",
        "reads",
        "sharing",
        "review",
        "backup",
        "checking",
        "journal",
        "partners",
        "receiving",
        "stats",
    ),
    "facade": ("core", "arguments", "__init__"),
    "front-ends": ("cli", "api", "__main__"),
}
ORDER = list(LAYERS)
FRONT_END_FORBIDDEN = ("vault.store", "vault.records", "vault.keys")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(VAULT.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(VAULT.rglob("*.py"))}


def _resolve(name: str) -> str:
    """The vault module an import names (``from vault import audit`` is a module)."""
    while name not in MODULES and "." in name:
        name = name.rpartition(".")[0]
    return name


def _imports(module: str) -> Iterator[str]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield candidate if candidate in MODULES else base


def _vault_imports(module: str) -> set[str]:
    found = {_resolve(n) for n in _imports(module) if n == "vault" or n.startswith("vault.")}
    return found - {module}


def _layer(module: str) -> str:
    if module == "vault":
        return "facade"
    top = module.split(".")[1]
    for layer, names in LAYERS.items():
        if top in names:
            return layer
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS and ARCHITECTURE.md")


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        _layer(module)


def _upward(module: str, targets: set[str]) -> list[str]:
    mine = ORDER.index(_layer(module))
    return [t for t in sorted(targets) if ORDER.index(_layer(t)) > mine]


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph``, or None."""
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target, [*path, target])):
                return found
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module, [module])):
            return found
    return None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_flow_downward(module: str) -> None:
    assert _upward(module, _vault_imports(module)) == [], module


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) == "front-ends"))
def test_front_ends_stay_above_the_services(module: str) -> None:
    for target in _vault_imports(module):
        assert not target.startswith(FRONT_END_FORBIDDEN), f"{module} imports {target}"


@pytest.mark.parametrize(
    "module", sorted(m for m in MODULES if _layer(m) in ("primitives", "domain"))
)
def test_primitives_and_domain_hold_no_sql(module: str) -> None:
    assert not any(n.split(".")[0] == "sqlalchemy" for n in _imports(module)), module


def test_the_verifier_needs_no_vault() -> None:
    allowed = {"vault.crypto", "vault.age", "vault.errors", "vault.export.format"}
    assert _vault_imports("vault.export.verify") <= allowed


def test_age_helpers_are_shared_not_borrowed() -> None:
    # Backups use the age module, never the export package.
    assert not any(t.startswith("vault.export") for t in _vault_imports("vault.backup"))
    for module in MODULES:
        if module != "vault.age":
            assert "pyrage" not in {n.split(".")[0] for n in _imports(module)}, module


def test_no_import_cycles() -> None:
    graph = {m: _vault_imports(m) for m in MODULES}
    # A package imports its own modules to re-export them; its modules never need the
    # package back, so edges into a package from inside it are ignored.
    for module, targets in graph.items():
        graph[module] = {t for t in targets if not module.startswith(t + ".")}
    assert _cycle(graph) is None


def test_the_checks_see_what_they_look_for() -> None:
    # Each check must fail on what it forbids, or it proves nothing.
    assert _upward("vault.store", {"vault.crypto", "vault.cli"}) == ["vault.cli"]
    assert _upward("vault.cli", {"vault.store"}) == []
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
    assert "vault.store" in _vault_imports("vault.context")
    assert "vault.audit" in _vault_imports("vault.context")  # ``from vault import audit``
