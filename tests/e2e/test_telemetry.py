"""OpenTelemetry through the local host, exported in memory: the spans, attributes and metrics
of one HTTP request and of one nightly evaluation, and no secret in any attribute."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared import telemetry
from tests.e2e.conftest import Api, wait_for

HOST_TRACE_ID = uuid.uuid4().hex
HOST_SPAN_ID = uuid.uuid4().hex[:16]


class Recorded:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.metrics = InMemoryMetricReader()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.meter_provider = MeterProvider(metric_readers=[self.metrics])

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def counters(self) -> dict[str, list[tuple[dict[str, Any], int]]]:
        data = self.metrics.get_metrics_data()
        found: dict[str, list[tuple[dict[str, Any], int]]] = {}
        for resource in data.resource_metrics if data else []:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.data.data_points:
                        value = getattr(point, "value", 0)  # counters only
                        found.setdefault(metric.name, []).append((dict(point.attributes or {}), int(value)))
        return found

    def total(self, name: str, **attributes: str) -> int:
        return sum(v for a, v in self.counters().get(name, []) if all(a.get(k) == w for k, w in attributes.items()))


@pytest.fixture()
def recorded() -> Iterator[Recorded]:
    record = Recorded()
    telemetry.use_providers(record.tracer_provider, record.meter_provider)
    yield record
    telemetry.use_providers()
    record.tracer_provider.shutdown()
    record.meter_provider.shutdown()


def attributes_of(spans: list[ReadableSpan]) -> list[str]:
    values = []
    for s in spans:
        values.append(s.name)
        values.extend(f"{k}={v!s}" for k, v in (s.attributes or {}).items())
        for event in s.events:
            values.extend(f"{k}={v!s}" for k, v in (event.attributes or {}).items())
    return values


def test_one_http_request_is_one_trace_continuing_the_hosts(api: Api, recorded: Recorded) -> None:
    partner_id, tenant = api.register_partner()
    token = api.token(tenant, roles=("Partner.Admin",))
    recorded.spans.clear()
    response = api.request(
        "GET",
        f"/partners/{partner_id}",
        headers={"Authorization": "Bearer " + token, "traceparent": f"00-{HOST_TRACE_ID}-{HOST_SPAN_ID}-01"},
    )
    assert response.status_code == 200
    spans = recorded.finished()
    [server] = [s for s in spans if s.kind == SpanKind.SERVER]
    assert server.name == "GET /api/partners/{partnerId}"
    assert format(server.context.trace_id, "032x") == HOST_TRACE_ID  # the host's trace goes on
    assert server.parent is not None and format(server.parent.span_id, "016x") == HOST_SPAN_ID
    attributes = dict(server.attributes or {})
    assert attributes["http.request.method"] == "GET"
    assert attributes["http.route"] == "/api/partners/{partnerId}"
    assert attributes["http.response.status_code"] == 200
    assert attributes[telemetry.CORRELATION_ATTRIBUTE] == response.headers["X-Correlation-Id"]
    children = [s for s in spans if s is not server]
    assert children and {s.context.trace_id for s in spans} == {server.context.trace_id}  # one trace
    assert {s.parent.span_id for s in children if s.parent} <= {s.context.span_id for s in spans}
    store_calls = [s for s in children if s.name.startswith("store.")]
    assert store_calls and all(s.attributes and s.attributes["db.system"] == "sqlite" for s in store_calls)
    assert token not in " ".join(attributes_of(spans))


def test_an_error_answer_carries_the_correlation_id_it_asks_users_to_quote(api: Api, recorded: Recorded) -> None:
    response = api.request("GET", "/partners/nobody", headers={"X-Correlation-Id": "portal-trace-0042"})
    assert response.status_code == 401 and response.json()["correlationId"] == "portal-trace-0042"
    [server] = [s for s in recorded.finished() if s.kind == SpanKind.SERVER]
    assert dict(server.attributes or {})[telemetry.CORRELATION_ATTRIBUTE] == "portal-trace-0042"
    assert dict(server.attributes or {})["http.response.status_code"] == 401


def test_one_nightly_evaluation_traces_each_message_and_counts_what_changed(api: Api, recorded: Recorded) -> None:
    partner_id, tenant = api.register_partner()
    override = {"competencyId": "datacenter", "level": "silver", "reason": "Exam results delayed at the test centre"}
    assert api.request("PUT", f"/partners/{partner_id}/overrides/delay-1", as_=api.operator(), json=override).status_code in (200, 201)
    recorded.spans.clear()
    assert api.http.post(api.host.base_url + "/admin/functions/nightly_evaluation").status_code == 202

    def evaluated() -> bool:
        return api.request("GET", f"/partners/{partner_id}/competencies", as_=api.member(tenant)).status_code == 200

    wait_for(evaluated)
    api.host.function_host.drain()
    spans = recorded.finished()
    [timer] = [s for s in spans if s.name == "nightly_evaluation"]
    assert dict(timer.attributes or {})["faas.trigger"] == "timer"
    fan_out = [s for s in spans if s.name == "queue.send_many" and s.context.trace_id == timer.context.trace_id]
    assert fan_out  # the fan-out belongs to the timer's trace
    messages = [s for s in spans if s.kind == SpanKind.CONSUMER and s.name == "evaluate-partner process"]
    assert messages
    for message in messages:
        attributes = dict(message.attributes or {})
        assert attributes["messaging.destination.name"] == "evaluate-partner"
        assert attributes[telemetry.CORRELATION_ATTRIBUTE]
        inside = [s for s in spans if s.context.trace_id == message.context.trace_id and s is not message]
        assert any(s.name == "store.query" for s in inside)  # the one partition query of the evaluation
    assert len({m.context.trace_id for m in messages}) == len(messages)  # one trace per message
    assert recorded.total("competency.partners.evaluated") >= 1
    assert recorded.total("competency.levels.gained", level="silver") >= 1
    assert recorded.total("competency.alerts.raised", type="competency.level.attained") >= 1
    wait_for(lambda: recorded.total("competency.alerts.delivered") >= 1)
    sinks = [s for s in recorded.finished() if s.name == "alerts.sink.deliver"]
    assert sinks and dict(sinks[0].attributes or {})["competency.sink"] == "webhook"


def test_no_secret_reaches_any_attribute(api: Api, recorded: Recorded) -> None:
    partner_id, tenant = api.register_partner()
    admin = api.token(tenant, roles=("Partner.Admin",))
    rows = "First name,Last name,Email address,Display name\nAda,Lovelace,ada@contoso.com,Ada Lovelace\n"
    created = api.request(
        "POST",
        f"/partners/{partner_id}/users",
        headers={"Authorization": "Bearer " + admin, "Content-Type": "text/csv", "Idempotency-Key": uuid.uuid4().hex},
        content=rows.encode(),
    )
    assert created.status_code in (200, 201, 202), created.text
    import_id = created.json()["importId"]
    log = api.request("GET", f"/partners/{partner_id}/imports/{import_id}/log", headers={"Authorization": "Bearer " + admin})
    assert log.status_code == 200
    [row] = list(csv.DictReader(io.StringIO(log.text)))
    password = row["temporaryPassword"]
    assert len(password) >= 12, created.text
    api.request("GET", "/partners/nobody", headers={"Authorization": "Bearer " + admin + "x"})  # a refused token too
    text = "\n".join(attributes_of(recorded.finished()))
    for secret in (admin, admin.split(".")[1], password, api.host.msa.client_secret, "Bearer ", "eyJ", "sig="):
        assert secret not in text
    for name, points in recorded.counters().items():
        for attributes, _ in points:
            assert all(len(str(v)) < 64 and "eyJ" not in str(v) for v in attributes.values()), name
