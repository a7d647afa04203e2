"""The command line speaks English, French or Spanish (--lang, else the locale):
its own words and Click's, never record content, names, codes or JSON."""

from __future__ import annotations

import gettext
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from catalogues import CLI_PLURALS, CLI_WORDS, WORDS
from click.testing import CliRunner

from conftest import PASSPHRASE, SAMPLES, fast_kdf
from vault.cli import cli
from vault.i18n import chosen, translations

VAULT = Path(__file__).resolve().parent.parent / "vault"


def _run(
    folder: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vault", "--vault", str(folder), *args],
        env=os.environ | {"EVAULT_PASSPHRASE": PASSPHRASE} | (env or {}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_word_of_the_command_line_is_in_each_catalogue() -> None:
    sources = [*sorted((VAULT / "cli").glob("*.py")), VAULT / "ingest.py"]
    used = {m for f in sources for _l, m, _c, _x in extract_from_file("python", str(f))}
    assert used, "the command line marks its words"
    assert used <= set(CLI_WORDS), sorted(used - set(CLI_WORDS))
    assert not set(CLI_WORDS) & set(WORDS)  # one msgid, one meaning
    for n, lang in enumerate(("fr", "es")):
        words = translations(lang)
        assert {m: words.gettext(m) for m in CLI_WORDS} == {m: w[n] for m, w in CLI_WORDS.items()}
        for (one, many), forms in CLI_PLURALS.items():
            assert (words.ngettext(one, many, 1), words.ngettext(one, many, 5)) == forms[n]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LANG": "fr_FR.UTF-8"}, "fr"),
        ({"LC_ALL": "es_MX.UTF-8", "LANG": "fr_FR.UTF-8"}, "es"),
        ({"LANGUAGE": "de:es", "LANG": "fr_FR.UTF-8"}, "es"),
        ({"LANGUAGE": "de", "LANG": "fr_FR.UTF-8"}, "en"),  # gettext: the first set decides
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "fr_CA.ISO-8859-1@euro"}, "fr"),
    ],
)
def test_the_locale_chooses_the_language(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    assert chosen(None) == expected
    assert chosen("es") == "es"


def test_help_and_usage_errors_speak_the_language(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["--lang", "fr", "--help"])
    assert r.exit_code == 0
    assert r.output.startswith("Utilisation :")
    assert "Commandes" in r.output
    assert "Options" in r.output
    r = runner.invoke(cli, ["--lang", "es", "import", "--help"])
    assert r.output.startswith("Uso:")
    assert "Opciones:" in r.output
    r = runner.invoke(cli, ["--lang", "fr", "nosuchcommand"])
    assert r.exit_code == 2
    assert "Erreur : Commande inconnue : 'nosuchcommand'." in r.stderr
    # The locale, when --lang is not given.
    monkeypatch.setenv("LANG", "es_ES.UTF-8")
    r = runner.invoke(cli, ["--help"])
    assert r.output.startswith("Uso:")
    # English otherwise; an unknown language is a usage error in English words.
    monkeypatch.setenv("LANG", "C.UTF-8")
    r = runner.invoke(cli, ["--help"])
    assert r.output.startswith("Usage:")
    r = runner.invoke(cli, ["--lang", "de", "list"])
    assert r.exit_code == 2
    assert "'de' is not one of 'en', 'fr', 'es'" in r.stderr


def test_json_stays_english_and_the_last_lang_counts() -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["--lang", "fr", "list", "--json", "--bogus"])
    assert r.exit_code == 2
    assert json.loads(r.stderr)["error"]["message"] == "No such option '--bogus'."
    r = runner.invoke(cli, ["--lang", "de", "--lang", "fr", "--help"])
    assert r.output.startswith("Utilisation :")


def test_result_lines_speak_the_language_and_keep_the_data() -> None:
    """Commands that need no vault: the words translate, names and codes do not."""
    runner = CliRunner()
    union = VAULT.parent / "policies" / "union.yaml"
    r = runner.invoke(cli, ["--lang", "fr", "policy", "check", str(union)])
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(f"{union} : politique 'union' valide pour le public ")
    r = runner.invoke(cli, ["--lang", "es", "policy", "list"])
    assert r.exit_code == 0, r.output
    assert any(line.startswith("union      requiere ") for line in r.stdout.splitlines())
    english = runner.invoke(cli, ["policy", "list"]).stdout
    assert "union      needs " in english


def test_a_run_leaves_the_callers_language_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGUAGE", "en")
    domain = gettext.textdomain()
    r = CliRunner().invoke(cli, ["--lang", "fr", "--help"])
    assert r.output.startswith("Utilisation :")
    assert os.environ["LANGUAGE"] == "en"
    assert gettext.textdomain() == domain
    assert CliRunner().invoke(cli, ["--help"]).output.startswith("Usage:")


def test_a_custodian_works_in_french_and_the_records_stay_as_written(tmp_path: Path) -> None:
    fr, en = tmp_path / "fr", tmp_path / "en"
    kdf = ["--kdf-memory-kib", str(fast_kdf().memory_kib), "--kdf-time-cost", "1"]
    r = _run(fr, "--lang", "fr", "init", *kdf)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Coffre ")
    assert "(gardien 'admin')" in r.stdout
    assert "evault: avertissement: paramètres Argon2id" in r.stderr
    # --lang after the command, as every global option may be.
    r = _run(fr, "import", str(SAMPLES), "--lang", "fr")
    assert r.stdout == "11 enregistrements importés (2 finding, 4 site, 5 testimony).\n"
    r = _run(fr, "--lang", "fr", "audit", "verify")
    assert r.stdout.startswith("OK : "), r.stderr
    assert " entrées, tête " in r.stdout
    r = _run(fr, "show", "T-0001", env={"LANG": "fr_FR.UTF-8"})
    assert r.stderr == "# T-0001 · testimony · version 1 sur 1\n"
    shown_fr = r.stdout
    # Click makes a command's --help option once per process, in the language of the run.
    r = _run(fr, "--lang", "es", "show", "--help")
    assert "Mostrar este mensaje y salir." in r.stdout
    r = _run(fr, "show", "T-9999", env={"LANG": "fr_FR.UTF-8"})
    assert r.returncode == 6
    assert r.stderr.startswith("evault: erreur: ")

    # The same in English: the record is the same bytes; JSON is never translated.
    assert _run(en, "init", *kdf).returncode == 0
    assert _run(en, "import", str(SAMPLES)).stdout.startswith("Imported 11 records")
    r = _run(en, "show", "T-0001")
    assert r.stdout == shown_fr
    assert "Chị Nguyễn Thị Hương" in json.loads(r.stdout)["narrative"]
    again = {
        lang: json.loads(_run(folder, "--lang", lang, "import", str(SAMPLES), "--json").stdout)
        for lang, folder in (("es", fr), ("en", en))
    }
    assert again["es"] == again["en"]
    r = _run(fr, "--lang", "es", "show", "T-9999", "--json")
    assert json.loads(r.stderr)["error"]["kind"] == "not_found"


def test_an_exports_counts_speak_the_language_and_keep_their_codes() -> None:
    from vault.cli._common import counts_text, speaking

    counts = {"included": {"testimony": 3}, "excluded": {"no consent": 1}}
    with speaking("es"):
        assert counts_text(counts) == "Incluidos: 3 testimony. Dejados fuera: 1 no consent."
    assert counts_text(counts) == "Included: 3 testimony. Left out: 1 no consent."
