"""The strength floor: every new passphrase (a new vault's, a new custodian's, a
changed one, one set by recovery) is estimated by zxcvbn and refused below 3 of 4,
with zxcvbn's reason and never the passphrase; a prompt asks again."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from test_cli import FAST_INIT

from conftest import PASSPHRASE, Backend, fast_kdf, passphrase_of
from vault import InvalidInputError, Passphrase, Vault
from vault.cli import cli
from vault.strength import MIN_SCORE, check_new_passphrase

WEAK = ("pppppppppppppppppppp", "password1", "ana passphrase", "evidencevault", "ana1990")


@pytest.mark.parametrize("weak", WEAK)
def test_weak_passphrases_are_refused_naming_why_never_what(weak: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        check_new_passphrase(Passphrase(weak), names=["ana"])
    message = str(caught.value)
    assert message.startswith("the new passphrase is too easy to guess (strength ")
    assert f"at least {MIN_SCORE} needed" in message
    assert caught.value.exit_code == 5
    assert weak not in message
    check_new_passphrase(Passphrase(passphrase_of("ana")), names=["ana"])


def test_every_place_a_passphrase_is_set_keeps_the_floor(
    sqlite_backend: Backend, tmp_path: Path
) -> None:
    weak = Passphrase("ana passphrase")
    with pytest.raises(InvalidInputError, match="too easy to guess"):
        Vault.create(tmp_path / "weak", weak, kdf=fast_kdf(), custodian="ana")
    assert not (tmp_path / "weak").exists()  # nothing half-made
    with sqlite_backend.create() as v:
        shares = v.recovery_split(2, 2)
        with pytest.raises(InvalidInputError, match="too easy to guess"):
            v.add_custodian("ana", weak, role="custodian", kdf=fast_kdf())
        assert [c["name"] for c in v.custodians()] == ["admin"]
        with pytest.raises(InvalidInputError, match="Repeats like"):
            v.change_passphrase(Passphrase("aaaaaaaaaaaaaaaaaaaaaaaa"), kdf=fast_kdf())
    with pytest.raises(InvalidInputError, match="too easy to guess"):
        Vault.recover(sqlite_backend.folder, shares, Passphrase("admin2026"))
    sqlite_backend.open().close()  # the passphrase is still the old one


def test_the_init_prompt_says_why_and_asks_again(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["--vault", str(tmp_path / "v"), "init", *FAST_INIT]
    weak = "pppppppppppppppppppp"
    result = runner.invoke(cli, args, input=f"{weak}\n{weak}\n{PASSPHRASE}\n{PASSPHRASE}\n")
    assert result.exit_code == 0, result.output
    assert "evault: the new passphrase is too easy to guess" in result.stderr
    assert 'Repeats like "aaa" are easy to guess.' in result.stderr
    assert weak not in result.output
    # From a file (or the environment) there is no asking again: exit 5, one line.
    (tmp_path / "weak.txt").write_text(weak + "\n")
    other = ["--vault", str(tmp_path / "w"), "--passphrase-file", str(tmp_path / "weak.txt")]
    result = runner.invoke(cli, [*other, "init", *FAST_INIT])
    assert result.exit_code == 5
    error = result.stderr.splitlines()[-1]  # after the warning about FAST_INIT's Argon2id
    assert error.startswith("evault: error: the new passphrase is too easy to guess")
    assert weak not in result.stderr
