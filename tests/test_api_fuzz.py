"""schemathesis against the served OpenAPI document: no server error on any input."""

from __future__ import annotations

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
from schemathesis.checks import not_a_server_error

from conftest import SAMPLES, Backend
from vault.api import create_app


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("fuzz")
    vault = Backend("sqlite", folder / "vault", None).create()
    vault.import_file(SAMPLES)
    token, _ = vault.create_token("fuzz", role="custodian", classes=["narrative", "special"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(vault, export_dir=folder), host="127.0.0.1", port=port, log_level="error"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
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
    vault.close()


def test_no_server_error_for_any_generated_request(live: tuple[str, str]) -> None:
    base, token = live
    schema = schemathesis.openapi.from_url(base + "/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    calls: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            response = case.call(base_url=base, headers=headers)
            calls.append(response.status_code)
            case.validate_response(response, checks=[not_a_server_error])

        run()
    assert len(calls) >= 40
    assert all(code < 500 for code in calls)
