"""schemathesis against the served OpenAPI document: no server error and no response
that breaks the document (status code, content type, body schema), for any input."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from conftest import SAMPLES, Backend, sample_records
from vault.api import create_app


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("fuzz")
    vault = Backend("sqlite", folder / "vault", None).create()
    vault.import_file(SAMPLES)
    token, _ = vault.create_token("fuzz", role="custodian", classes=["narrative", "special"])
    # Bound here and handed over: no other test's server can take the port between.
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(vault, export_dir=folder), host="127.0.0.1", port=port, log_level="error"
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(base + "/health", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.05)
    yield base, token
    server.should_exit = True
    thread.join(timeout=10)
    listening.close()
    vault.close()


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

# JSON Lines bodies for /records/import: sample records with fields dropped or
# changed, and arbitrary bytes.
_line = st.builds(
    lambda record, drop, extra: json.dumps(
        {k: v for k, v in record.items() if k not in drop} | extra
    ),
    st.sampled_from(sample_records()),
    st.sets(st.sampled_from(["id", "type", "site_id", "narrative", "worker", "consent"])),
    st.dictionaries(st.sampled_from(["id", "unknown", "severity"]), st.text(max_size=8)),
)
schemathesis.openapi.media_type(
    "application/x-ndjson",
    st.one_of(
        st.lists(_line, max_size=4).map(lambda lines: "\n".join(lines).encode()),
        st.binary(max_size=64),
    ),
)


def test_no_server_error_for_any_generated_request(live: tuple[str, str]) -> None:
    base, token = live
    schema = schemathesis.openapi.from_url(base + "/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok)
        operations.append(result.ok())
    assert len(operations) >= 8
    calls: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case[Any]) -> None:
            response = case.call(base_url=base, headers=headers)
            calls.append(response.status_code)
            case.validate_response(response, checks=CHECKS)

        run()
    assert len(calls) >= 40
    assert all(code < 500 for code in calls)
