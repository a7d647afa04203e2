"""The survey mappings shipped with Evidence Vault (``vault/mappings/*.yaml``), listed
without loading the mapping reader and its validation models (:mod:`vault.mapping`),
so that ``evault import --help`` names them at no cost."""

from __future__ import annotations

from importlib import resources

__all__ = ["shipped_mapping_names", "shipped_mappings"]


def shipped_mapping_names() -> list[str]:
    """The names of the mappings shipped with Evidence Vault (no file is read)."""
    folder = resources.files("vault") / "mappings"
    return sorted(
        e.name.removesuffix(".yaml") for e in folder.iterdir() if e.name.endswith(".yaml")
    )


def shipped_mappings() -> dict[str, str]:
    """Names and texts of the mappings shipped with Evidence Vault."""
    folder = resources.files("vault") / "mappings"
    return {
        name: (folder / f"{name}.yaml").read_text(encoding="utf-8")
        for name in shipped_mapping_names()
    }
