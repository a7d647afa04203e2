"""JSON nested deeper than ``MAX_DEPTH`` is refused as input, in bounded memory.

Python's ``json`` recurses (a RecursionError past ~1000 levels) and ijson's
``items`` keeps a prefix per level (memory grows with the square of the depth), so
each reader checks the depth before either sees it, and names the file and the
line or record.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_cli import FAST_INIT

from conftest import PASSPHRASE, sample_records
from vault import InvalidInputError
from vault.cli import cli
from vault.sources import MAX_DEPTH, read_one, read_records

DEEP = 100_000


def _arrays(depth: int) -> str:
    return "[" * depth + "]" * depth


def _objects(depth: int) -> str:
    return '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)


def _in_a_record(inner: str) -> str:
    """A site record whose ``name`` holds ``inner`` (the record is level 1)."""
    return '{"type":"site","id":"S-DEEP","name":' + inner + "}"


def _read_all(content: bytes, name: str, fmt: str) -> list[object]:
    return [raw for _where, raw in read_records(io.BytesIO(content), name, fmt)]


SITE = json.dumps(sample_records()[0])


# Each case: the format, the file's content, and where the error must point.
CASES = {
    "jsonl arrays": ("jsonl", SITE + "\n" + _arrays(DEEP) + "\n", r"deep\.jsonl:line 2: "),
    "jsonl objects": ("jsonl", SITE + "\n" + _objects(DEEP) + "\n", r"deep\.jsonl:line 2: "),
    "jsonl in a record": (
        "jsonl",
        SITE + "\n" + _in_a_record(_arrays(DEEP)) + "\n",
        r"deep\.jsonl:line 2: ",
    ),
    "json array of arrays": ("json", f"[{SITE},{_arrays(DEEP)}]", r"deep\.json: record 2: "),
    "json array of objects": ("json", f"[{SITE},{_objects(DEEP)}]", r"deep\.json: record 2: "),
    "json array, in a record": (
        "json",
        f"[{SITE},{_in_a_record(_objects(DEEP))}]",
        r"deep\.json: record 2: ",
    ),
    "json object": ("json", _objects(DEEP), r"deep\.json: record 1: "),
    "csv cell": (
        "csv",
        'type,id,allegations\ntestimony,T-1,"' + _arrays(DEEP) + '"\n',
        r"deep\.csv:line 2: ",
    ),
}


def test_every_reader_refuses_deep_nesting_in_bounded_memory(tmp_path: Path) -> None:
    # In a child process with 1 GiB of address space: without the depth check, the
    # JSON array reader alone would take gigabytes (ijson's prefixes), and this
    # process would not survive the test.
    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps({k: [fmt, body] for k, (fmt, body, _) in CASES.items()}))
    script = textwrap.dedent(
        f"""
        import io, json, resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))
        from vault.errors import InvalidInputError
        from vault.sources import read_records
        out = {{}}
        for case, (fmt, body) in json.load(open({str(cases)!r})).items():
            name = "deep." + fmt
            try:
                for _ in read_records(io.BytesIO(body.encode()), name, fmt):
                    pass
                out[case] = "accepted"
            except InvalidInputError as exc:
                out[case] = "refused: " + str(exc)
            except BaseException as exc:
                out[case] = "crashed: " + type(exc).__name__
        print(json.dumps(out))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads(run.stdout)
    for case, (_fmt, _body, where) in CASES.items():
        assert results[case].startswith("refused: "), (case, results[case])
        message = results[case].removeprefix("refused: ")
        assert _matches(where + rf"nested too deep \(more than {MAX_DEPTH} levels", message), (
            case,
            message,
        )


def _matches(pattern: str, text: str) -> bool:
    import re

    return re.match(pattern, text) is not None


@pytest.mark.parametrize("shape", [_arrays, _objects])
def test_the_limit_is_exact(shape: object) -> None:
    assert callable(shape)
    ok, deep = shape(MAX_DEPTH), shape(MAX_DEPTH + 1)
    assert len(_read_all(ok.encode() + b"\n", "x.jsonl", "jsonl")) == 1
    assert len(_read_all(f"[{ok}]".encode(), "x.json", "json")) == 1
    assert read_one(io.BytesIO(ok.encode()))[1] == json.loads(ok)
    with pytest.raises(InvalidInputError, match="nested too deep"):
        _read_all(deep.encode() + b"\n", "x.jsonl", "jsonl")
    with pytest.raises(InvalidInputError, match="nested too deep"):
        _read_all(f"[{deep}]".encode(), "x.json", "json")
    with pytest.raises(InvalidInputError, match="nested too deep"):
        read_one(io.BytesIO(deep.encode()))


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"type": "site", "name": "[" * 1000 + "{" * 1000 + '\\"['})
    assert _read_all(text.encode() + b"\n", "x.jsonl", "jsonl")[0] == json.loads(text)
    assert read_one(io.BytesIO(text.encode()))[1] == json.loads(text)


def test_the_scan_takes_time_linear_in_the_length() -> None:
    # Escaped quotes that would each restart a string scan: quadratic if a string
    # left open were scanned for again from every quote.
    text = '"' + '\\"' * 1_000_000 + "[" * 40
    started = time.monotonic()
    with pytest.raises(InvalidInputError, match="malformed JSON"):
        read_one(io.BytesIO(text.encode()))
    assert time.monotonic() - started < 10


def test_json_array_records_are_read_as_before() -> None:
    records = sample_records()
    body = json.dumps([*records, 1.5, "x", None, [], {}], ensure_ascii=False).encode()
    assert _read_all(body, "x.json", "json") == [*records, 1.5, "x", None, [], {}]


def test_add_and_import_refuse_deep_nesting_with_exit_5(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"EVAULT_DIR": str(tmp_path / "v"), "EVAULT_PASSPHRASE": PASSPHRASE}
    assert runner.invoke(cli, ["init", *FAST_INIT], env=env).exit_code == 0
    record = tmp_path / "deep.json"
    record.write_text(_in_a_record(_objects(DEEP)))
    lines = tmp_path / "deep.jsonl"
    lines.write_text(SITE + "\n" + _in_a_record(_arrays(DEEP)) + "\n")
    for args, where in [
        (["add", str(record)], f"{record}: "),
        (["update", "S-DEEP", str(record)], f"{record}: "),
        (["import", str(lines)], f"{lines}:line 2: "),
    ]:
        r = runner.invoke(cli, args, env=env)
        assert r.exit_code == 5, r.output
        assert r.output.startswith(f"evault: error: {where}nested too deep"), r.output
        assert r.output.count("\n") == 1
        assert "Traceback" not in r.output
    r = runner.invoke(cli, ["add", "-"], input=_objects(DEEP), env=env)
    assert r.exit_code == 5
    assert r.output.startswith("evault: error: <stdin>: nested too deep (more than 32 levels")
