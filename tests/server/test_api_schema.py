"""The JSON API (captures, history, admin) driven from its own OpenAPI document with schemathesis: whatever the
generated input, no answer is a server error."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.server.conftest import RunningServer


def test_json_api_never_answers_a_server_error(dmp: RunningServer) -> None:
    schema = schemathesis.openapi.from_url(f"{dmp.url}/openapi.json")
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()
        tested.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(max_examples=6, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(case: schemathesis.Case) -> None:
            response = case.call(timeout=30)
            assert response.status_code < 500, f"{case.method} {case.formatted_path} -> {response.status_code}"

        run()
    assert "GET /captures" in tested and "POST /admin/patients" in tested
