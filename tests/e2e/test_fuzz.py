"""Schemathesis against the suite's own OpenAPI document on the local host: every operation,
with a token that holds every role of the partner, a bounded number of examples in CI.
Expected: no server error, and every response matches the published schema."""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from functions.http import OPERATIONS
from shared.auth import ROLE_ADMIN, ROLE_FEED, ROLE_OPERATOR
from tests.e2e.conftest import Api

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))


def test_no_operation_answers_a_server_error_or_breaks_its_schema(api: Api) -> None:
    partner_id, tenant = api.register_partner()
    token = api.token(tenant, roles=(ROLE_ADMIN, ROLE_OPERATOR, ROLE_FEED))
    schema = schemathesis.openapi.from_url(api.host.base_url + "/api/openapi.json")
    failures: list[str] = []
    statuses: dict[int, int] = {}
    fuzzed: set[tuple[str, str]] = set()
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid operation raises here
        fuzzed.add((operation.method.upper(), operation.path.removeprefix("/api/")))

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
        def run(case: Any) -> None:
            if case.path_parameters and "partnerId" in case.path_parameters:
                case.path_parameters["partnerId"] = partner_id  # reach the handlers, not only the 404
            response = case.call(base_url=api.host.base_url, headers={"Authorization": f"Bearer {token}"})
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:600]}")
    assert failures == []
    assert sum(n for status, n in statuses.items() if status < 300) > 2 * len(fuzzed), statuses  # handlers reached
    # Every operation was fuzzed (schemathesis leaves out the one that served it the schema).
    assert fuzzed | {("GET", "openapi.json")} == {(op.method, op.route) for op in OPERATIONS}
