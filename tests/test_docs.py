"""The README's examples run as written."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import require_tool
from vault.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def _python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_readme_has_python_examples() -> None:
    assert _python_blocks()


@pytest.mark.parametrize("index", range(len(_python_blocks())))
def test_readme_python_example_runs(
    index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    samples = tmp_path / "vault" / "samples"
    samples.mkdir(parents=True)
    shutil.copy(ROOT / "vault" / "samples" / "evidence.jsonl", samples)
    monkeypatch.chdir(tmp_path)
    exec(compile(_python_blocks()[index], f"README.md example {index}", "exec"), {})  # noqa: S102


def test_readme_quick_start_is_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)```", quick, flags=re.DOTALL)
    assert len(commands) == 2
    assert all(len(c.strip().splitlines()) == 1 for c in commands)
    assert "evault demo" in commands[0]
    assert "pytest" in commands[1]


def test_every_test_named_in_security_md_exists() -> None:
    """SECURITY.md backs each claim with a test name; those tests must exist."""
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(test_[a-z0-9_]+)`", text))
    assert len(named) > 30
    defined: set[str] = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        defined |= set(
            re.findall(r"^def (test_[a-z0-9_]+)", path.read_text(encoding="utf-8"), re.M)
        )
    assert named - defined == set()


def test_a_missing_tool_skips_outside_ci_and_fails_under_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's test command passes on a machine without `age`; CI never hides it."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="the age command-line tool is not installed"):
        require_tool("age")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="the age tool is missing"):
        require_tool("age")
    (tmp_path / "age").write_text("#!/bin/sh\n")
    (tmp_path / "age").chmod(0o755)
    assert require_tool("age") == str(tmp_path / "age")


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash", "_evault_completion()"), ("zsh", "#compdef evault"), ("fish", "complete")],
)
def test_the_shell_completion_script_the_readme_names_is_printed(shell: str, marker: str) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"_EVAULT_COMPLETE={shell}_source evault" in readme
    result = CliRunner().invoke(
        cli, [], prog_name="evault", env={"_EVAULT_COMPLETE": f"{shell}_source"}
    )
    assert result.exit_code == 0
    assert marker in result.output
    # And the script's question is answered: commands that start with what was typed.
    answer = CliRunner().invoke(
        cli,
        [],
        prog_name="evault",
        env={"_EVAULT_COMPLETE": "bash_complete", "COMP_WORDS": "evault pol", "COMP_CWORD": "1"},
    )
    assert answer.output.split() == ["plain,policy"]


def test_completion_offers_record_types_and_policy_names(tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "unions-own.yaml").write_text("policy: unions-own\n")
    for words, expected in (
        ("evault --vault {dir} export --policy u", ["plain,union", "plain,unions-own"]),
        ("evault policy explain pu", ["plain,public"]),
        ("evault list --type t", ["plain,testimony"]),
        ("evault schema f", ["plain,finding"]),
    ):
        line = words.format(dir=tmp_path)
        env = {
            "_EVAULT_COMPLETE": "bash_complete",
            "COMP_WORDS": line,
            "COMP_CWORD": str(len(line.split()) - 1),
        }
        answer = CliRunner().invoke(cli, [], prog_name="evault", env=env)
        assert answer.output.split() == expected, line
