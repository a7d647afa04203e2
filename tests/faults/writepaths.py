"""The write paths the fault suite breaks, and how to see what each one left.

An :class:`Op` says how to prepare a vault for one command, the command line, which
records and files it may change, what it writes outside the vault and how to tell
that output whole from partial, and what running it again answers once it took
effect. :func:`observe` is the next open after a fault; :func:`reference` runs each
write path once to its end, for its event count and its states before and after.
"""

from __future__ import annotations

import contextlib
import csv
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import shamir_mnemonic
from faultkit import (
    Case,
    child_env,
    count_events,
    pg_backend,
    private_tempdir,
    scratch,
    snapshot,
    synthetic_testimonies,
)

from conftest import PASSPHRASE, Backend, sample_records
from vault import InvalidInputError, Passphrase, Vault, VaultError
from vault.backup import verify_backup
from vault.custody import recovery_restore
from vault.export.verify import verify_export

SAMPLE_IDS = tuple(r["id"] for r in sample_records())

NEW_PASSPHRASE = "a new passphrase for the fault run"

# Outputs -------------------------------------------------------------------------------


def _file_state(path: Path, check: Callable[[Path], object]) -> str:
    """absent, whole (it passes ``check``) or partial."""
    if not path.exists():
        return "absent"
    try:
        check(path)
    except VaultError:
        return "partial"
    return "whole"


def _same_bytes(case: Case) -> Callable[[Path], None]:
    def check(path: Path) -> None:
        if path.read_bytes() != (case.inputs / "evidence.bin").read_bytes():
            raise InvalidInputError("not the original bytes")

    return check


def _shares_open(case: Case, files: list[Path]) -> bool:
    """Whether these share files recover the vault's current recovery key."""
    try:
        shares = [p.read_text(encoding="utf-8").strip() for p in files]
        shamir_mnemonic.combine_mnemonics(shares)
    except (OSError, shamir_mnemonic.MnemonicError):
        return False
    with case.open() as v, v._ctx.engine.connect() as conn:
        try:
            recovery_restore(conn, v.vault_id, shares)
        except VaultError:
            return False
    return True


def _split_outputs(case: Case) -> dict[str, str]:
    folder = case.dest / "shares"
    files = sorted(folder.glob("share-*.txt")) if folder.is_dir() else []
    old = sorted(case.inputs.glob("old-share-*.txt"))
    if not files:
        shares = "absent"
    elif len(files) == 3 and _shares_open(case, files[:2]):
        shares = "whole"
    else:
        shares = "partial"
    opens = "new" if shares == "whole" else "old" if _shares_open(case, old[:2]) else "none"
    return {"shares": shares, "opens": opens}


def _passphrase(case: Case) -> dict[str, str]:
    try:
        with private_tempdir(case.tmp), case.backend.open(PASSPHRASE):
            return {"passphrase": "old"}
    except VaultError:
        return {"passphrase": "new"}


# Write paths ---------------------------------------------------------------------------


def _nothing(case: Case) -> None:
    pass


def _no_outputs(case: Case) -> dict[str, str]:
    return {}


def _no_env(case: Case) -> dict[str, str]:
    return {}


def _same(state: dict[str, Any], before: dict[str, Any], after: dict[str, Any]) -> bool:
    return state in (before, after)


@dataclass(frozen=True)
class Op:
    """A write path: how to prepare for it, run it, and see what it left."""

    name: str
    argv: Callable[[Case], list[str]]
    prepare: Callable[[Case], None] = _nothing
    watched: tuple[str, ...] = SAMPLE_IDS
    files_of: tuple[str, ...] = ()
    outputs: Callable[[Case], dict[str, str]] = _no_outputs
    env: Callable[[Case], dict[str, str]] = _no_env
    # Exit codes of a re-run once the first run took effect (add: already exists).
    done_codes: tuple[int, ...] = (0,)
    # A re-run once it took effect changes the vault again (update, attach, export).
    repeatable: bool = False
    sqlite_only: bool = False
    # What the destination folder holds once the command is done.
    dest: tuple[str, ...] = ()
    allowed: Callable[[dict[str, Any], dict[str, Any], dict[str, Any]], bool] = _same
    before_rerun: Callable[[Case], None] = _nothing
    passphrases: tuple[str, ...] = field(default=(PASSPHRASE,))

    def __str__(self) -> str:
        return self.name


def _write_jsonl(case: Case) -> None:
    with (case.inputs / "batch.jsonl").open("w", encoding="utf-8") as fh:
        for record in synthetic_testimonies(120, "K"):
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")


_CSV_COLUMNS = (
    "type",
    "id",
    "site_id",
    "received_on",
    "channel",
    "language",
    "worker.name",
    "worker.employee_id",
    "worker.phone",
    "allegations",
    "narrative",
    "consent.share_with",
)


def _write_csv(case: Case) -> None:
    with (case.inputs / "batch.csv").open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(_CSV_COLUMNS)
        for r in synthetic_testimonies(60, "C"):
            w = r["worker"]
            out.writerow(
                [
                    "testimony",
                    r["id"],
                    r["site_id"],
                    r["received_on"],
                    r["channel"],
                    r["language"],
                    w["name"],
                    w["employee_id"],
                    w["phone"],
                    ";".join(r["allegations"]),
                    r["narrative"],
                    json.dumps(r["consent"]["share_with"]),
                ]
            )


def _write_one(case: Case) -> None:
    record = synthetic_testimonies(1, "A")[0]
    (case.inputs / "one.json").write_text(json.dumps(record, ensure_ascii=False), "utf-8")


def _write_update(case: Case) -> None:
    record = sample_records()[4] | {"narrative": "Corrected account (fictional)."}
    (case.inputs / "update.json").write_text(json.dumps(record, ensure_ascii=False), "utf-8")


def _write_evidence(case: Case) -> None:
    # Three MiB: 48 sealed chunks of 64 KiB.
    data = random.Random(7).randbytes(3 << 20)  # noqa: S311 - reproducible bytes, no secret
    (case.inputs / "evidence.bin").write_bytes(data)


def _attached(case: Case) -> None:
    _write_evidence(case)
    with case.open() as v:
        info = v.attach("T-0002", case.inputs / "evidence.bin", description="dormitory")
    (case.inputs / "attachment-id").write_text(info.id, encoding="utf-8")


def _retention_due(case: Case) -> None:
    finding = sample_records()[9] | {"status": "remediated"}
    finding["remediation"] = finding["remediation"] | {"updated": "2026-01-01"}
    with case.open() as v:
        v.update("F-0001", finding)
        v.set_retention(0)


def _backed_up(case: Case) -> None:
    with case.open() as v:
        v.backup(case.inputs / "b.age", case.public)


def _old_shares(case: Case) -> None:
    with case.open() as v:
        shares = v.recovery_split(3, 2)
    for i, share in enumerate(shares, start=1):
        (case.inputs / f"old-share-{i}.txt").write_text(share + "\n", encoding="utf-8")


def _split_allowed(state: dict[str, Any], before: dict[str, Any], after: dict[str, Any]) -> bool:
    # Before the key is kept, the old shares still open; after, the new ones are all on
    # disk, and a kill in the few steps between keeping the key and renaming them
    # leaves some (or all) under their temporary names (.evault-share-*) only.
    renaming = [
        {**after, "outputs": {"shares": shares, "opens": opens}}
        for shares, opens in (("partial", "new"), ("partial", "none"), ("absent", "none"))
    ]
    return state in (before, after, *renaming)


def _import_allowed(state: dict[str, Any], before: dict[str, Any], after: dict[str, Any]) -> bool:
    # On SQLite an import commits in chunks, in the order of the file: a kill leaves
    # the records before it and the first records of the file (each one whole), none
    # after a gap. PostgreSQL imports in one transaction: before or after.
    if state in (before, after):
        return True
    held, start, end = state["records"], before["records"], after["records"]
    new = [rid for rid in end if rid not in start]
    kept = [rid for rid in new if rid in held]
    whole = {rid: end[rid] for rid in kept} | start == held
    watched = all(
        content == (after if rid in kept else before)["content"].get(rid)
        for rid, content in state["content"].items()
    )
    rest = {k: v for k, v in state.items() if k not in ("records", "content")}
    return (
        whole
        and watched
        and kept == new[: len(kept)]
        and rest == {k: v for k, v in before.items() if k not in ("records", "content")}
    )


def _export_allowed(state: dict[str, Any], before: dict[str, Any], after: dict[str, Any]) -> bool:
    # The file takes its name just before the commit that records it: a kill between
    # the two leaves a whole export the vault did not record, never the reverse.
    return state in (before, after, {**before, "outputs": after["outputs"]})


OPS = [
    Op(
        "import-jsonl",
        lambda c: c.argv("import", c.inputs / "batch.jsonl", "--chunk-size", "25"),
        _write_jsonl,
        watched=("T-0001", "K-00000", "K-00059", "K-00119"),
        allowed=_import_allowed,
    ),
    Op(
        "import-csv",
        lambda c: c.argv("import", c.inputs / "batch.csv", "--chunk-size", "25"),
        _write_csv,
        watched=("C-00000", "C-00059"),
        allowed=_import_allowed,
    ),
    Op(
        "add",
        lambda c: c.argv("add", c.inputs / "one.json"),
        _write_one,
        watched=("A-00000",),
        done_codes=(7,),
    ),
    Op(
        "update",
        lambda c: c.argv("update", "T-0001", c.inputs / "update.json"),
        _write_update,
        watched=("T-0001",),
        repeatable=True,
    ),
    Op(
        "attach",
        lambda c: c.argv("attach", "T-0002", c.inputs / "evidence.bin", "--description", "dorm"),
        _write_evidence,
        watched=("T-0002",),
        files_of=("T-0002",),
        done_codes=(0, 7),
        repeatable=True,
    ),
    Op(
        "extract",
        lambda c: c.argv(
            "extract",
            (c.inputs / "attachment-id").read_text(encoding="utf-8"),
            "--out",
            c.dest / "copy.bin",
        ),
        _attached,
        watched=(),
        outputs=lambda c: {"copy": _file_state(c.dest / "copy.bin", _same_bytes(c))},
        dest=("copy.bin",),
    ),
    Op(
        "export",
        lambda c: c.argv(
            "export", "--policy", "union", "--recipient", "ituc", "--out", c.dest / "union.age"
        ),
        watched=(),
        outputs=lambda c: {
            "export": _file_state(c.dest / "union.age", lambda p: verify_export(p, c.key))
        },
        repeatable=True,
        dest=("union.age",),
        allowed=_export_allowed,
    ),
    Op("rotate-keys", lambda c: c.argv("rotate-keys", "--reencrypt", "--batch", "3")),
    Op("erase-subject", lambda c: c.argv("erase-subject", "--testimony", "T-0001", "--yes")),
    Op("retention-run", lambda c: c.argv("retention", "run"), _retention_due),
    Op(
        "backup",
        lambda c: c.argv("backup", "--out", c.dest / "b.age", "--to", c.public),
        watched=(),
        outputs=lambda c: {
            "backup": _file_state(c.dest / "b.age", lambda p: verify_backup(p, c.key))
        },
        sqlite_only=True,
        dest=("b.age",),
    ),
    Op(
        "restore",
        lambda c: [
            "--vault",
            str(c.target),
            "restore",
            str(c.inputs / "b.age"),
            "--identity",
            str(c.key),
        ],
        _backed_up,
        done_codes=(7,),
        sqlite_only=True,
    ),
    Op(
        "recovery-split",
        lambda c: c.argv(
            "recovery", "split", "--shares", "3", "--threshold", "2", "--out-dir", c.dest / "shares"
        ),
        _old_shares,
        watched=(),
        outputs=_split_outputs,
        dest=("shares",),
        allowed=_split_allowed,
    ),
    Op(
        "passwd",
        lambda c: c.argv("passwd"),
        watched=("T-0001",),
        outputs=_passphrase,
        env=lambda c: {"EVAULT_NEW_PASSPHRASE": NEW_PASSPHRASE},
        done_codes=(3,),
        passphrases=(PASSPHRASE, NEW_PASSPHRASE),
    ),
]


# The run -------------------------------------------------------------------------------


@contextlib.contextmanager
def world(
    root: Path,
    backend: str,
    op: Op,
    *,
    folder: Path | None = None,
    app_name: str = "",
    places: dict[str, Path] | None = None,
) -> Iterator[Case]:
    """A fresh vault for one fault, prepared for ``op``: in ``folder`` (SQLite) or a
    schema of its own (PostgreSQL, its connections named ``app_name``); ``places``
    moves the case's other folders."""
    with contextlib.ExitStack() as stack:
        root = stack.enter_context(scratch(root))
        if backend == "sqlite":
            be = Backend("sqlite", folder or root / "vault", None)
        else:
            be = stack.enter_context(pg_backend(root / "vault", app_name))
        case = Case(root, be, passphrases=list(op.passphrases), **(places or {}))
        case.create()
        op.prepare(case)
        yield case


def observe(case: Case, op: Op) -> tuple[dict[str, Any], list[str]]:
    """The next open: what the vault holds (its audit chain verified on the way), and
    the stray files left once it is closed."""
    if op.name == "restore":
        return _observe_restore(case, op)
    with case.open() as v:
        v.audit_verify()
        state = snapshot(v, op.watched, op.files_of)
    state["outputs"] = op.outputs(case)
    return state, case.stray_files()


def _observe_restore(case: Case, op: Op) -> tuple[dict[str, Any], list[str]]:
    target = case.target
    if not (target / "vault.db").exists():
        # Nothing opens a vault that is not there: the re-run is the next open.
        return {"restored": None}, []
    with private_tempdir(case.tmp), Vault.open(target, Passphrase(PASSPHRASE)) as v:
        v.audit_verify()
        state = snapshot(v, op.watched)
    kept = ("vault.db", "vault.db-writers", "audit-witness.json")
    stray = [p.name for p in target.iterdir() if p.name not in kept]
    return {"restored": state}, sorted(stray + case.stray_files())


_REFERENCE: dict[tuple[str, str], tuple[int, dict[str, Any], dict[str, Any]]] = {}


def reference(
    op: Op, backend: str, factory: pytest.TempPathFactory
) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """The events of a whole run of ``op``, and the states before and after it."""
    key = (op.name, backend)
    if key not in _REFERENCE:
        with world(factory.mktemp(f"reference-{op.name}"), backend, op) as case:
            before, stray = observe(case, op)
            assert not stray
            env = child_env(case.tmp, **op.env(case))
            count = count_events(op.argv(case), case.tmp, env)
            after, stray = observe(case, op)
            assert not stray
        _REFERENCE[key] = (count, before, after)
    return _REFERENCE[key]


def differences(state: dict[str, Any], *known: dict[str, Any]) -> dict[str, Any]:
    """The parts of ``state`` that match none of the ``known`` states."""
    return {k: v for k, v in state.items() if all(v != other.get(k) for other in known)}


def dest_files(case: Case) -> list[str]:
    return sorted(p.name for p in case.dest.iterdir())
