"""Custodian, token and recipient names are plain ASCII, so none can pass for another.

``str.isalnum`` admits Cyrillic, Greek, fullwidth and other letters and digits:
``аdmin`` (Cyrillic а) and ``admin`` would both be custodians, and a recipient
``іtuc`` (Ukrainian і) could sit beside ``ituc`` in every list.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from exporting import new_identity
from test_cli import FAST_INIT

from conftest import PASSPHRASE, Backend, passphrase_of
from vault import InvalidInputError, Passphrase, Vault
from vault.cli import cli
from vault.schema import check_name

LOOK_ALIKES = [
    "\u0430dmin",  # Cyrillic а
    "\uff41dmin",  # fullwidth a
    "adm\u0456n",  # Ukrainian і
    "\u03bfperator",  # Greek ο
    "admin\u00b2",  # superscript two, a digit to isdigit
    "adm\u0663n",  # Arabic-Indic three
    "ad\u2010min",  # a hyphen that is not '-'
]
PLAIN = ["admin", "a", "A1", "ituc-2026", "field_office.hanoi", "x" * 64]
MESSAGE = r"name uses letters, digits, '-', '_' and '\.'"


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_look_alike_names_are_refused_everywhere(
    sqlite_backend: Backend, tmp_path: Path, name: str
) -> None:
    with pytest.raises(InvalidInputError, match=MESSAGE):
        check_name(name)
    with pytest.raises(InvalidInputError, match=MESSAGE):
        Vault.create(tmp_path / "other", Passphrase(PASSPHRASE), custodian=name)
    _identity, _key, public = new_identity(tmp_path)
    with sqlite_backend.create() as v:
        with pytest.raises(InvalidInputError, match=MESSAGE):
            v.add_custodian(name, Passphrase(passphrase_of("another")), role="custodian")
        with pytest.raises(InvalidInputError, match=MESSAGE):
            v.create_token(name, role="auditor")
        with pytest.raises(InvalidInputError, match=MESSAGE):
            v.add_recipient(name, public)
        assert [c["name"] for c in v.custodians()] == ["admin"]
        assert v.tokens() == []
        assert v.recipients() == []


@pytest.mark.parametrize("name", PLAIN)
def test_plain_ascii_names_are_accepted(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "x" * 65, "a b", "a/b", "a\nb", "ä"])
def test_other_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInputError, match=MESSAGE):
        check_name(name)


def test_the_message_names_the_kind_of_name() -> None:
    for kind in ("custodian", "token", "recipient"):
        with pytest.raises(InvalidInputError, match=f"^a {kind} {MESSAGE}$"):
            check_name("\u0430dmin", kind)


def test_the_command_line_refuses_a_look_alike_in_one_line(
    sqlite_backend: Backend, tmp_path: Path
) -> None:
    env = {"EVAULT_DIR": str(sqlite_backend.folder), "EVAULT_PASSPHRASE": PASSPHRASE}
    runner = CliRunner()
    assert runner.invoke(cli, ["init", *FAST_INIT], env=env).exit_code == 0
    _identity, _key, public = new_identity(tmp_path)
    for args in (
        ["custodian", "add", "\u0430dmin", "--role", "auditor"],
        ["recipient", "add", "\u0456tuc", public],
        ["token", "create", "--name", "\u0430pi", "--role", "auditor"],
    ):
        r = runner.invoke(cli, args, env={**env, "EVAULT_NEW_PASSPHRASE": passphrase_of("p")})
        assert r.exit_code == 5, r.output
        assert r.output.count("\n") == 1
        assert "name uses letters, digits" in r.output
