"""Alert delivery at least once, never lost: the outbox and dispatcher with a webhook that
goes down and comes back, and the Storage-queue sink against Azurite."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.adapters.alert_sinks import QueueSink, WebhookSink
from shared.adapters.sqlite_queue import SqliteMessageQueue
from shared.adapters.sqlite_store import SqliteDocumentStore
from shared.domain.alert_rules import RENEWAL_AT_RISK_TITLE, TYPE_AT_RISK, Alert
from shared.ports import InvalidMessage
from shared.queues import DISPATCH_ALERTS
from shared.services.alerts import AlertService, dispatch_message
from tests.receiver import receiver
from tests.servers import AzuriteServer


def alerts(n: int, partner: str = "p1") -> list[Alert]:
    return [
        Alert(
            id=f"alert-{partner}-{i}",
            type=TYPE_AT_RISK,
            partner_id=partner,
            competency_id="cloud-platform",
            level="silver",
            title=RENEWAL_AT_RISK_TITLE,
            detail="Cloud Platform (silver) is no longer met: Ada left the organisation.",
            cause="employeeLeft",
            raised_at=datetime(2026, 11, 25, 2, tzinfo=UTC),
        )
        for i in range(n)
    ]


def drain(service: AlertService, queue: SqliteMessageQueue, *, seconds: float) -> None:
    """What the Functions host does with the dispatch queue, for a while."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for message in queue.receive(DISPATCH_ALERTS, visibility_timeout=30):
            dispatch_message(message.body, service)
            queue.delete(message)
        time.sleep(0.05)


def test_nothing_is_lost_while_the_webhook_is_down_and_each_id_arrives_once(tmp_path: Path) -> None:
    store = SqliteDocumentStore(tmp_path / "s.sqlite3")
    queue = SqliteMessageQueue(tmp_path / "q.sqlite3")
    with receiver() as hook:
        sink = WebhookSink(hook.url, timeout=2)
        service = AlertService(
            store, queue, lambda: [sink], max_attempts=10, backoff_seconds=0.5, backoff_max_seconds=1, jitter=lambda c: c
        )
        hook.down = True
        raised = service.record(alerts(5), "2026-11-25T02:00:00Z")
        assert len(raised) == 5
        drain(service, queue, seconds=1.5)
        assert hook.events == [] and hook.attempts >= 5
        assert {a["delivery"]["state"] for a in service.list("p1")} == {"pending"}

        assert service.record(alerts(5), "2026-11-25T02:00:00Z") == []  # raised again: nothing new

        hook.down = False
        drain(service, queue, seconds=3)
        assert sorted(hook.ids()) == sorted(a.id for a in alerts(5))  # every alert, each once
        listed = service.list("p1")
        assert {a["delivery"]["state"] for a in listed} == {"delivered"}
        assert all(a["delivery"]["attempts"] >= 2 for a in listed)
        event = hook.events[0]
        assert event["specversion"] == "1.0" and event["type"] == "competency.renewal.atrisk" and event["subject"] == "p1"
        assert event["data"]["title"] == RENEWAL_AT_RISK_TITLE
        sink.close()


def test_a_partners_new_alerts_are_dispatched_by_one_message_and_each_arrives_once(tmp_path: Path) -> None:
    """A first night raises several alerts per partner: one dispatch message (one queue
    request, one function execution) carries them; a redelivered message delivers nothing twice."""
    store = SqliteDocumentStore(tmp_path / "s.sqlite3")
    queue = SqliteMessageQueue(tmp_path / "q.sqlite3")
    with receiver() as hook:
        sink = WebhookSink(hook.url, timeout=2)
        service = AlertService(store, queue, lambda: [sink], max_attempts=3, backoff_seconds=1, backoff_max_seconds=1)
        service.record([*alerts(7), *alerts(2, "p2")], "2026-11-25T02:00:00Z")
        messages = queue.receive(DISPATCH_ALERTS, max_messages=32, visibility_timeout=30)
        assert sorted((m.body["partnerId"], len(m.body["alertIds"])) for m in messages) == [("p1", 7), ("p2", 2)]
        for message in [*messages, *messages]:  # each delivered twice, as a queue may
            dispatch_message(message.body, service)
        assert sorted(hook.ids()) == sorted(a.id for a in [*alerts(7), *alerts(2, "p2")])
        sink.close()


def test_a_dispatch_message_of_an_earlier_version_still_delivers_and_a_malformed_one_is_dropped(tmp_path: Path) -> None:
    store = SqliteDocumentStore(tmp_path / "s.sqlite3")
    queue = SqliteMessageQueue(tmp_path / "q.sqlite3")
    with receiver() as hook:
        sink = WebhookSink(hook.url, timeout=2)
        service = AlertService(store, queue, lambda: [sink], max_attempts=3, backoff_seconds=1, backoff_max_seconds=1)
        [alert_id] = service.record(alerts(1), None)
        dispatch_message({"partnerId": "p1", "alertId": alert_id}, service)
        assert hook.ids() == [alert_id]
        for bad in ({"partnerId": "p1"}, {"partnerId": "p1", "alertIds": []}, {"partnerId": "p1", "alertIds": [1]}, {"alertIds": ["x"]}):
            with pytest.raises(InvalidMessage):
                dispatch_message(bad, service)
        sink.close()


def test_after_the_last_attempt_an_alert_is_failed_and_an_operator_can_retry(tmp_path: Path) -> None:
    store = SqliteDocumentStore(tmp_path / "s.sqlite3")
    queue = SqliteMessageQueue(tmp_path / "q.sqlite3")
    with receiver() as hook:
        sink = WebhookSink(hook.url, timeout=2)
        service = AlertService(
            store, queue, lambda: [sink], max_attempts=2, backoff_seconds=0.2, backoff_max_seconds=0.2, jitter=lambda c: c
        )
        hook.down = True
        service.record(alerts(1), None)
        drain(service, queue, seconds=2.5)
        [failed] = service.list("p1")
        assert failed["delivery"]["state"] == "failed" and failed["delivery"]["attempts"] == 2
        hook.down = False
        service.retry("p1", failed["id"])
        drain(service, queue, seconds=0.5)
        assert hook.ids() == [failed["id"]]
        assert service.list("p1")[0]["delivery"]["state"] == "delivered"
        sink.close()


def test_a_lost_dispatch_message_is_recovered_by_the_sweep(tmp_path: Path) -> None:
    store = SqliteDocumentStore(tmp_path / "s.sqlite3")
    queue = SqliteMessageQueue(tmp_path / "q.sqlite3")
    with receiver() as hook:
        sink = WebhookSink(hook.url, timeout=2)
        service = AlertService(store, queue, lambda: [sink], max_attempts=5, backoff_seconds=1, backoff_max_seconds=1)
        service.record(alerts(3), None)
        queue.clear(DISPATCH_ALERTS)  # the messages are lost (a crash after the outbox write)
        assert service.sweep(older_than_seconds=0) == 3
        drain(service, queue, seconds=0.5)
        assert sorted(hook.ids()) == sorted(a.id for a in alerts(3))
        sink.close()


def test_the_queue_sink_delivers_cloud_events_a_logic_app_can_read(tmp_path: Path, azurite: AzuriteServer) -> None:
    from shared.adapters.storage_queue import StorageMessageQueue

    storage = StorageMessageQueue(azurite.connection_string)
    store = SqliteDocumentStore(tmp_path / "s.sqlite3")
    local = SqliteMessageQueue(tmp_path / "q.sqlite3")
    service = AlertService(
        store, local, lambda: [QueueSink(storage, "partner-alerts")], max_attempts=3, backoff_seconds=1, backoff_max_seconds=1
    )
    service.record(alerts(2, "p9"), None)
    drain(service, local, seconds=0.5)
    received = storage.receive("partner-alerts", max_messages=10)
    assert sorted(m.body["id"] for m in received) == ["alert-p9-0", "alert-p9-1"]
    assert all(m.body["specversion"] == "1.0" and m.body["data"]["partnerId"] == "p9" for m in received)
    storage.close()
