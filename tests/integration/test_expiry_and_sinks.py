"""Without an alert sink nothing is "delivered"; expiring documents carry a Cosmos DB TTL and
the sign-in flows have a sweep timer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import azure.functions as func

from shared.adapters.sqlite_queue import SqliteMessageQueue
from shared.adapters.sqlite_store import SqliteDocumentStore
from shared.documents import signin_pk
from shared.ports import Identity, SignInError
from shared.services.alerts import NO_SINK, AlertService
from shared.services.msa_association import LinkService
from shared.services.msa_sign_in_flow import FLOW_ID, FLOW_TTL_GRACE_SECONDS, LinkStartIn, MsaLinkService
from tests.integration.test_alert_delivery import alerts


def test_without_a_sink_an_alert_stays_undelivered_with_the_reason(tmp_path: Path) -> None:
    store = SqliteDocumentStore(tmp_path / "s.sqlite3")
    queue = SqliteMessageQueue(tmp_path / "q.sqlite3")
    service = AlertService(store, queue, lambda: [], max_attempts=2, backoff_seconds=1, backoff_max_seconds=1)
    [alert_id] = service.record(alerts(1), "2026-11-25T02:00:00Z")
    for _ in range(3):  # however often it is dispatched
        assert service.dispatch("p1", alert_id) == "pending"
    [listed] = service.list("p1")
    assert listed["delivery"]["state"] == "pending"
    assert listed["delivery"]["attempts"] == 0
    assert listed["delivery"]["lastError"] == NO_SINK
    assert service.sweep(older_than_seconds=0) == 1  # still offered again once a sink exists


def test_health_reports_a_missing_alert_sink(monkeypatch, tmp_path: Path) -> None:
    from shared import bootstrap
    from shared.bootstrap import Container
    from shared.settings import Settings

    def get(container: Container) -> dict[str, Any]:
        bootstrap.reset(container)
        try:
            request = func.HttpRequest("GET", "http://localhost/api/health", headers={}, body=b"")
            return json.loads(_call_health(request).get_body())
        finally:
            bootstrap.reset()

    monkeypatch.delenv("ALERTS_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("ALERTS_QUEUE_NAME", raising=False)
    missing = get(Container(Settings(data_dir=tmp_path)))
    assert missing["status"] == "degraded"
    assert any("No alert sink is configured" in w for w in missing["warnings"])
    configured = get(Container(Settings(data_dir=tmp_path, alerts_queue_name="partner-alerts")))
    assert configured["status"] == "ok" and "warnings" not in configured


def _call_health(request: func.HttpRequest) -> func.HttpResponse:
    from functions.http import Call
    from functions.platform import health

    return health(Call(req=request, caller=None, partner=None, correlation_id="c0ffee00"))


class FakeSignIn:
    def start(self, login_hint: str | None = None) -> tuple[str, dict[str, Any]]:
        return "https://login.example/authorize", {"state": "s-" + (login_hint or "x"), "code_verifier": "verifier"}

    def finish(self, flow: dict[str, Any], params: dict[str, str]) -> Identity:
        raise SignInError("not used here")


def test_sign_in_flows_carry_a_ttl_and_the_sweep_deletes_abandoned_ones(tmp_path: Path) -> None:
    store = SqliteDocumentStore(tmp_path / "s.sqlite3")
    now = [datetime(2026, 11, 25, 2, tzinfo=UTC)]
    service = MsaLinkService(store, FakeSignIn, LinkService(store), flow_ttl_seconds=600, clock=lambda: now[0])
    partner = {"partnerId": "p1", "tenantId": "t"}
    from shared.auth import Caller

    service.start(partner, Caller(tenant_id="t", object_id="u1"), LinkStartIn(login_hint="ada"))
    stored = store.read(signin_pk("s-ada"), FLOW_ID)
    assert stored is not None and stored.body["ttl"] == 600 + FLOW_TTL_GRACE_SECONDS
    assert service.sweep_expired_flows() == 0  # not expired yet
    now[0] += timedelta(seconds=601)
    assert service.sweep_expired_flows() == 1
    assert store.read(signin_pk("s-ada"), FLOW_ID) is None


def test_the_sign_in_sweep_runs_on_a_timer() -> None:
    from azure.functions.decorators.timer import TimerTrigger

    from functions.associate_msa import bp

    declared = [builder._function for builder in bp._function_builders]
    timers = {f.get_function_name(): t for f in declared if isinstance(t := f.get_trigger(), TimerTrigger)}
    assert "sweep_signin_flows" in timers
    assert timers["sweep_signin_flows"].schedule == "0 */10 * * * *"
