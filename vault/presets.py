"""The survey mappings shipped with Evidence Vault (``vault/mappings/*.yaml``), listed
without loading the mapping reader and its validation models (:mod:`vault.mapping`),
so that ``evault import --help`` names them at no cost."""

from __future__ import annotations

from importlib import resources

__all__ = ["shipped_mappings"]


def shipped_mappings() -> dict[str, str]:
    """Names and texts of the mappings shipped with Evidence Vault."""
    folder = resources.files("vault") / "mappings"
    return {
        entry.name.removesuffix(".yaml"): entry.read_text(encoding="utf-8")
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".yaml")
    }
