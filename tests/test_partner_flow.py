"""Two organisations, one flow of evidence, end to end: a monitor vault sends its
findings to a union vault, the union vault sends testimonies back, and remediation
updates flow; through the command line exactly as README.md writes it, and through
the HTTP API (``POST /receive``) on a real server on loopback."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from exporting import new_identity
from test_api import _serving
from test_partner import monitor_records, policy

from conftest import PASSPHRASE, Backend, fast_kdf, sample_records
from vault import Passphrase, Vault
from vault.age import identity_recipients, load_identities, write_age_identity
from vault.api import create_app
from vault.cli import cli

README = Path(__file__).resolve().parent.parent / "README.md"


def union_records() -> list[dict[str, Any]]:
    """The union's sites and testimonies, with six more from one assembly line:
    enough workers alike for the monitor's policy (k = 5) to let them go."""
    records = [r for r in sample_records() if r["type"] != "finding"]
    for n in range(6):
        records.append(
            {
                "type": "testimony",
                "id": f"T-1{n:03}",
                "site_id": "SITE-002",
                "received_on": f"2026-10-0{n + 1}",
                "channel": "union",
                "language": "en",
                "worker": {
                    "name": f"Worker Number{n} Example",
                    "employee_id": f"EMP-9{n:04}",
                    "gender": "female",
                    "birth_year": 1991 + n % 4,
                    "nationality": "TH",
                    "migrant": False,
                },
                "allegations": ["working_hours"],
                "narrative": "We are made to work seven days a week in peak season.",
                "consent": {"share_with": ["union", "monitor"]},
                "risk": {"retaliation": "low"},
            }
        )
    return records


def _vaults(folder: Path) -> None:
    for name, records in (("monitor", monitor_records()), ("union", union_records())):
        with Vault.create(
            folder / name, Passphrase(PASSPHRASE), kdf=fast_kdf(), identity_approvals=0
        ) as v:
            v.import_records(records)


def readme_steps() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("### Working with a partner organisation", 1)[1].split("\n### ", 1)[0]
    block = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)[0]
    return [s for s in block.splitlines() if s.strip() and not s.lstrip().startswith("#")]


def _public_key(path: str) -> str:
    """What ``age-keygen -y`` prints for an identity file."""
    return identity_recipients(load_identities(Path(path)))[0]


def _run(line: str, runner: CliRunner) -> str:
    """One README line: age-keygen with the real tool when installed, evault in
    process; a trailing ``# exit N`` says the exit code it must end with."""
    command, _, comment = line.partition("   #")
    expected = re.search(r"exit (\d+)", comment)
    stdin = None
    if piped := re.fullmatch(r"echo '(.*)' \| (.*)", command.strip()):
        stdin, command = piped.group(1) + "\n", piped.group(2)
    command = re.sub(
        r'"\$\(age-keygen -y (\S+)\)"', lambda m: shlex.quote(_public_key(m.group(1))), command
    )
    args = shlex.split(command)
    if args[0] == "age-keygen":
        assert args[1] == "-o"
        if shutil.which("age-keygen"):
            subprocess.run(["age-keygen", "-o", args[2]], check=True, capture_output=True)
        else:
            write_age_identity(Path(args[2]))
        return ""
    assert args[0] == "evault", line
    result = runner.invoke(cli, args[1:], input=stdin, env={"EVAULT_PASSPHRASE": PASSPHRASE})
    assert result.exit_code == (int(expected.group(1)) if expected else 0), (line, result.output)
    assert "Traceback" not in result.output
    return result.output


def test_the_readme_flow_between_two_vaults_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _vaults(tmp_path)
    runner = CliRunner()
    outputs = {line: _run(line, runner) for line in readme_steps()}
    said = "\n".join(outputs.values())
    # The fingerprint the union pins is the one the monitor's vault wrote out.
    written = re.search(r"Wrote monitor-signing.pem \(key fingerprint ([0-9a-f]{64})\)", said)
    assert written is not None
    assert f"Pinned partner monitor: signing key fingerprint {written.group(1)}" in said
    assert "1 updated, 5 unchanged" in said
    assert "was received already" in said
    # The union's findings, taken to the monitor's vault: not made for it.
    wrong = runner.invoke(
        cli,
        ["--vault", "monitor", "receive", "findings-1.age", "--identity", "monitor-receive.txt"],
        env={"EVAULT_PASSPHRASE": PASSPHRASE},
    )
    assert wrong.exit_code == 17
    assert wrong.output.count("\n") == 1
    assert "made for another recipient" in wrong.output
    env = {"EVAULT_PASSPHRASE": PASSPHRASE}
    listed = runner.invoke(cli, ["--vault", "union", "partner", "list", "--json"], env=env)
    [partner] = json.loads(listed.output)
    assert partner["name"] == "monitor"
    assert partner["last_export"]["policy"] == "union"
    rows = json.loads(
        runner.invoke(cli, ["--vault", "union", "received", "list", "--json"], env=env).output
    )
    finding = next(r for r in rows if r["type"] == "finding" and r["version"] == 2)
    shown = runner.invoke(cli, ["--vault", "union", "received", "show", finding["id"]], env=env)
    assert json.loads(shown.output)["provenance"]["partner"] == "monitor"
    removed = runner.invoke(cli, ["--vault", "union", "partner", "remove", "monitor"], env=env)
    assert removed.exit_code == 0
    again = runner.invoke(
        cli,
        ["--vault", "union", "receive", "findings-2.age", "--identity", "union-receive.txt"],
        env=env,
    )
    assert again.exit_code == 15  # no longer pinned: nothing more is received from it
    with Vault.open(tmp_path / "union", Passphrase(PASSPHRASE)) as union:
        received = union.received()
        assert len(received) == 6
        [moved] = [r for r in received if r["version"] == 2]
        assert union.get_received(moved["id"])["record"]["status"] == "remediated"
        actions = [e.action for e in union.audit_entries()]
        assert actions.count("export-received") == 2
    with Vault.open(tmp_path / "monitor", Passphrase(PASSPHRASE)) as monitor:
        testimonies = [r for r in monitor.received() if r["type"] == "testimony"]
        assert len(testimonies) >= 6
        for row in testimonies:
            worker = monitor.get_received(row["id"])["record"].get("worker", {})
            assert not {"name", "employee_id"} & set(worker)


def test_partner_exports_flow_over_http(backend: Backend, tmp_path: Path) -> None:
    _identity, key, public = new_identity(tmp_path, "union-receive.txt")
    with (
        Vault.create(
            tmp_path / "monitor", Passphrase(PASSPHRASE), kdf=fast_kdf(), identity_approvals=0
        ) as monitor,
        backend.create() as union,
    ):
        monitor.import_records(monitor_records())
        monitor.add_recipient("union", public)
        union.import_records(union_records())
        union.add_partner("monitor", monitor.public_signing_key_pem())
        admin, _ = union.create_token("receiver", role="admin")
        custodian, _ = union.create_token("intake", role="custodian", classes=["narrative"])
        first, second = tmp_path / "findings-1.age", tmp_path / "findings-2.age"
        monitor.export(policy("union"), "union", first)
        monitor.patch("F-0001", {"status": "remediated"})
        monitor.export(policy("union"), "union", second)
        with _serving(create_app(union, receive_identity=key)) as base:

            def post(path: Path, token: str, query: str = "") -> httpx.Response:
                return httpx.post(
                    f"{base}/receive{query}",
                    content=path.read_bytes(),
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/octet-stream",
                    },
                    timeout=30,
                )

            refused = post(first, custodian)
            assert refused.status_code == 403, refused.text
            assert post(first, admin, "?partner=nobody").status_code == 404
            r = post(first, admin)
            assert r.status_code == 201, r.text
            assert r.json()["records"] == {"new": 6, "updated": 0, "unchanged": 0}
            assert r.json()["terms"] == {"onward": "none", "audiences": []}
            r = post(second, admin)
            assert r.status_code == 201, r.text
            assert r.json()["records"] == {"new": 0, "updated": 1, "unchanged": 5}
            stale = post(first, admin)
            assert stale.status_code == 409
            assert stale.json()["error"]["code"] == "stale_export"
            garbage = httpx.post(
                f"{base}/receive",
                content=b"not an age file",
                headers={"Authorization": f"Bearer {admin}"},
            )
            assert garbage.status_code == 409, garbage.text
        assert len(union.received()) == 6
        # A server started without an identity receives nothing.
        with _serving(create_app(union)) as base:
            r = httpx.post(
                f"{base}/receive", content=b"x", headers={"Authorization": f"Bearer {admin}"}
            )
            assert r.status_code == 404
