"""Telemetry set-up: the Azure Monitor distro only with a connection string, and the
correlation id on every log line of an invocation."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared import telemetry
from shared.logs import RedactingFilter

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, sys, function_app\n"
    "from opentelemetry import trace\n"
    "print(json.dumps({'distro': 'azure.monitor.opentelemetry' in sys.modules, 'otel': 'opentelemetry' in sys.modules,"
    " 'provider': type(trace.get_tracer_provider()).__module__}))\n"
)


def probe(tmp_path: Path, **env: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_distro_is_imported_and_configured_only_with_a_connection_string(tmp_path: Path) -> None:
    assert probe(tmp_path) == {"distro": False, "otel": True, "provider": "opentelemetry.trace"}  # (imported by the probe)
    configured = probe(
        tmp_path,
        APPLICATIONINSIGHTS_CONNECTION_STRING="InstrumentationKey=00000000-0000-0000-0000-000000000000;"
        "IngestionEndpoint=https://127.0.0.1:9/",
        APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL="true",
    )
    assert configured["distro"] is True
    assert configured["provider"].startswith("opentelemetry.sdk.trace")


def test_every_log_line_of_an_invocation_carries_its_correlation_id() -> None:
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    handler = Keep()
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("competency.test-correlation")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with telemetry.invocation("evaluate-partner process", kind="consumer", cid="cid-12345678") as span:
            logger.info("evaluating")
            assert span is not None
        logger.info("between invocations")
    finally:
        logger.removeHandler(handler)
    assert [getattr(r, "correlation_id", None) for r in seen] == ["cid-12345678", "-"]


class Counters:
    """The suite's counters, read from an in-memory metric reader."""

    def __init__(self) -> None:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        self.reader = InMemoryMetricReader()
        self.provider = MeterProvider(metric_readers=[self.reader])

    def total(self, name: str) -> int:
        data = self.reader.get_metrics_data()
        return sum(
            int(getattr(point, "value", 0))
            for resource in (data.resource_metrics if data else [])
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        )


@pytest.fixture()
def counters() -> Iterator[Counters]:
    c = Counters()
    telemetry.use_providers(meter_provider=c.provider)
    yield c
    telemetry.use_providers()
    c.provider.shutdown()


class Message:
    def __init__(self, dequeue_count: int) -> None:
        self.id = "m1"
        self.dequeue_count = dequeue_count


def test_a_message_failing_its_last_delivery_counts_as_poisoned(counters: Counters) -> None:
    for dequeue_count in (1, 4, 5):
        with pytest.raises(RuntimeError), telemetry.queue_message("evaluate-partner", Message(dequeue_count)):
            raise RuntimeError("the store is down")
    with telemetry.queue_message("evaluate-partner", Message(5)):
        pass  # a last delivery that succeeds is not poisoned
    assert counters.total("competency.queue.poison") == 1


def test_each_throttled_graph_answer_is_counted(counters: Counters) -> None:
    from devhost.graph import GraphStandIn
    from devhost.standin import make_server, serve_in_thread
    from shared.adapters.graph_directory import GraphDirectory
    from shared.ports import NewDirectoryUser

    graph = GraphStandIn()
    server = make_server([graph], port=0)
    serve_in_thread(server)
    base = f"http://127.0.0.1:{server.server_address[1]}/_dev/graph/v1.0"
    try:
        faults = httpx.post(base.replace("/v1.0", "/faults"), json={"throttleRate": 0.5, "retryAfterSeconds": 1, "seed": 3})
        assert faults.status_code == 200
        directory = GraphDirectory(base, lambda t: f"devhost:{t}", sleep=lambda s: None, max_retries=20)
        tenant = "1a2b3c4d-0000-4000-8000-000000000002"
        users = [
            NewDirectoryUser(
                ref=f"r{i}",
                user_principal_name=f"u{i}@1a2b3c4d.onmicrosoft.com",
                display_name=f"U {i}",
                mail_nickname=f"u{i}",
                password="Str0ng!Passw0rd",
                given_name="U",
                surname=str(i),
            )
            for i in range(20)
        ]
        results = directory.create_users(tenant, users)
        directory.close()
    finally:
        server.shutdown()
        server.server_close()
    assert all(r.status == "created" for r in results)
    assert counters.total("competency.graph.throttled") >= 1
