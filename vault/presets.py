"""Where presets are found, without loading what reads them: the survey mappings
shipped with Evidence Vault (``vault/mappings/*.yaml``), listed without the mapping
reader and its validation models (:mod:`vault.mapping`), so that ``evault import
--help`` names them at no cost; and a vault's own policies folder, known without the
policy reader (:mod:`vault.policy`), so that opening a vault loads none of it."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

__all__ = ["shipped_mapping_names", "shipped_mappings", "vault_policy_dirs"]


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


def vault_policy_dirs(folder: str | os.PathLike[str] | None) -> tuple[Path, ...]:
    """The folders whose ``NAME.yaml`` files a vault in ``folder`` finds by name: its
    ``policies/``. The command line, the library and the server all look there, so a
    name that exports is a name that can be granted."""
    return () if folder is None else (Path(folder) / "policies",)
