"""Nothing stuck after a fault: an import whose message was never sent is sent again by the
retry (or the sweep); failed alerts keep being retried slowly until their maximum age; a
message that can never succeed is dropped at once and every poisoned one is logged and
counted; adding users reads only the candidates' documents."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest

from devhost.graph import GraphStandIn
from devhost.standin import make_server, serve_in_thread
from functions.messages import run_message
from shared.adapters.graph_directory import GraphDirectory
from shared.adapters.sqlite_queue import SqliteMessageQueue
from shared.adapters.sqlite_store import SqliteDocumentStore
from shared.documents import UserDoc, partner_pk
from shared.ports import InvalidMessage, QueueUnavailableError
from shared.queues import DISPATCH_ALERTS, IMPORT_USERS
from shared.services.alerts import AlertService
from shared.services.msa_association import LinkService
from shared.services.users import UserService
from tests.integration.test_alert_delivery import alerts


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 2, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def graph_url() -> Iterator[str]:
    server = make_server([GraphStandIn()], port=0)
    serve_in_thread(server)
    yield f"http://127.0.0.1:{server.server_address[1]}/_dev/graph/v1.0"
    server.shutdown()
    server.server_close()


def users_service(tmp_path: Path, graph_url: str, clock: Clock) -> tuple[UserService, SqliteDocumentStore, SqliteMessageQueue]:
    store = SqliteDocumentStore(tmp_path / "s.sqlite3")
    queue = SqliteMessageQueue(tmp_path / "q.sqlite3")
    directory = GraphDirectory(graph_url, lambda tenant: f"devhost:{tenant}", sleep=lambda _s: None)
    service = UserService(
        store,
        queue,
        lambda: directory,
        links=LinkService(store),
        max_rows=100,
        inline_rows=3,
        log_ttl_hours=24,
        stall_seconds=300,
        clock=clock,
    )
    return service, store, queue


def test_an_import_whose_message_was_never_sent_is_sent_by_the_retry_and_the_sweep(tmp_path: Path, graph_url: str) -> None:
    clock = Clock()
    service, _, queue = users_service(tmp_path, graph_url, clock)
    partner: dict[str, Any] = {"partnerId": "p1", "tenantId": str(uuid.uuid4())}
    rows = [{"displayName": f"Person {i}", "email": f"person{i}@x.com"} for i in range(6)]
    original = queue.send

    def queue_down(*args: Any, **kwargs: Any) -> None:
        raise QueueUnavailableError("Storage did not answer")  # failure injection

    queue.send = queue_down  # type: ignore[method-assign]
    with pytest.raises(QueueUnavailableError):
        service.start_import(partner, rows, idempotency_key="k", actor="admin")
    queue.send = original  # type: ignore[method-assign]
    assert queue.approximate_count(IMPORT_USERS) == 0  # saved, but nothing in flight

    view, finished = service.start_import(partner, rows, idempotency_key="k", actor="admin")
    assert not finished and view["state"] == "running"
    assert queue.approximate_count(IMPORT_USERS) == 1  # the retry sent it
    service.start_import(partner, rows, idempotency_key="k", actor="admin")
    assert queue.approximate_count(IMPORT_USERS) == 1  # in flight: not sent twice

    assert service.resume_stalled() == 0  # in flight and recent
    queue.clear(IMPORT_USERS)  # the message is lost
    clock.now += timedelta(seconds=301)
    assert service.resume_stalled() == 1
    [message] = queue.receive(IMPORT_USERS)
    done = service.run_import(partner, message.body["importId"])
    results = service.get_import(partner["partnerId"], done.import_id)["results"]
    assert done.state == "completed" and {r["status"] for r in results} == {"created"}
    assert service.resume_stalled() == 0


def test_adding_users_reads_only_the_candidates(tmp_path: Path, graph_url: str) -> None:
    service, store, _ = users_service(tmp_path, graph_url, Clock())
    partner: dict[str, Any] = {"partnerId": "p1", "tenantId": str(uuid.uuid4())}
    for i in range(300):
        user = UserDoc(
            id=f"user:u{i}", user_id=f"u{i}", partner_id="p1", user_principal_name=f"u{i}@p1.example",
            display_name=f"U {i}", email=f"u{i}@x.com", created_at=datetime(2026, 1, 1, tzinfo=UTC),
        )  # fmt: skip
        store.upsert(partner_pk("p1"), user.to_doc())
    returned: list[int] = []
    original = store.query

    def counting(*args: Any, **kwargs: Any) -> Any:
        found = original(*args, **kwargs)
        returned.append(len(found))
        return found

    store.query = counting  # type: ignore[method-assign]
    view, _ = service.start_import(
        partner,
        [{"displayName": "Known", "email": "U7@x.com"}, {"displayName": "New", "email": "new@x.com"}],
        idempotency_key=None,
        actor="a",
    )
    assert [r["status"] for r in view["results"]] == ["exists", "created"]
    assert view["results"][0]["userId"] == "u7"
    assert sum(returned) <= 2  # not the partner's 300 users


def test_failed_alerts_are_retried_slowly_until_their_maximum_age(tmp_path: Path, caplog: Any) -> None:
    clock = Clock()
    store = SqliteDocumentStore(tmp_path / "s.sqlite3")
    queue = SqliteMessageQueue(tmp_path / "q.sqlite3")

    class Sink:
        name = "webhook"
        up = False
        delivered: list[str] = []

        def deliver(self, event: Mapping[str, Any]) -> None:
            if not self.up:
                raise RuntimeError("503 from the Logic App")
            self.delivered.append(event["id"])

    sink = Sink()
    service = AlertService(
        store, queue, lambda: [sink], max_attempts=2, backoff_seconds=1, backoff_max_seconds=3600, max_age_seconds=86400, clock=clock,
        jitter=lambda c: c,
    )  # fmt: skip
    [first, second] = alerts(2)
    clock.now = first.raised_at
    service.record([first, second], None)
    for _ in range(2):
        for alert in (first, second):
            service.dispatch("p1", alert.id)
        clock.now += timedelta(seconds=2)
    listed = {a["id"]: a["delivery"] for a in service.list("p1")}
    assert {d["state"] for d in listed.values()} == {"failed"}
    assert all(d["nextAttemptAt"] for d in listed.values())  # not given up: a slow retry is planned
    queue.clear(DISPATCH_ALERTS)

    assert service.sweep() == 0  # not yet due
    clock.now += timedelta(seconds=3600)
    sink.up = True
    assert service.dispatch("p1", first.id) == "delivered"  # the slow retry, the Logic App is back
    sink.up = False
    clock.now = second.raised_at + timedelta(hours=23, minutes=30)
    assert service.sweep() == 1  # the second one is due
    with caplog.at_level(logging.ERROR, logger="competency.alerts"):
        assert service.dispatch("p1", second.id) == "failed"
    given_up = {a["id"]: a["delivery"] for a in service.list("p1")}[second.id]
    assert "nextAttemptAt" not in given_up  # past its maximum age: reported, waits for an operator
    assert any("given up" in r.getMessage() and second.id in r.getMessage() for r in caplog.records)
    clock.now += timedelta(hours=2)
    assert service.sweep() == 0
    assert sink.delivered == [first.id]


class Message(func.QueueMessage):
    def __init__(self, body: bytes, dequeue_count: int) -> None:
        super().__init__(id="m-1", body=body)
        self._count = dequeue_count

    @property
    def dequeue_count(self) -> int:
        return self._count


def test_a_message_that_can_never_succeed_is_dropped_at_once_with_its_identity(caplog: Any) -> None:
    def work(body: Any) -> None:
        raise InvalidMessage("evaluatedAt is not an ISO 8601 date-time")

    with caplog.at_level(logging.ERROR, logger="competency.messages"):
        run_message("evaluate-partner", Message(b'{"partnerId": "p1", "evaluatedAt": "yesterday"}', 1), work)  # no raise: deleted
        run_message("evaluate-partner", Message(b"not json", 1), work)
    lines = [r.getMessage() for r in caplog.records]
    assert "queue=evaluate-partner id=m-1 dequeueCount=1 partnerId=p1" in lines[0] and "evaluatedAt" in lines[0]
    assert "not JSON" in lines[1]


def test_a_failing_message_is_retried_and_its_last_attempt_and_move_are_logged(tmp_path: Path, caplog: Any) -> None:
    def work(body: Any) -> None:
        raise RuntimeError("the store is down")

    caplog.set_level(logging.ERROR)
    with pytest.raises(RuntimeError):
        run_message("import-users", Message(b'{"partnerId": "p1", "importId": "i1"}', 1), work)
    assert caplog.records == []
    with pytest.raises(RuntimeError):
        run_message("import-users", Message(b'{"partnerId": "p1", "importId": "i1"}', 5), work)
    assert "import-users-poison" in caplog.records[-1].getMessage() and "importId=i1" in caplog.records[-1].getMessage()

    queue = SqliteMessageQueue(tmp_path / "q.sqlite3")
    queue.send(IMPORT_USERS, {"partnerId": "p1", "importId": "i2"})
    for _ in range(2):
        [message] = queue.receive(IMPORT_USERS, visibility_timeout=0, max_dequeue_count=2)
    assert queue.receive(IMPORT_USERS, max_dequeue_count=2) == []
    assert queue.approximate_count(IMPORT_USERS + "-poison") == 1
    assert f"id={message.id}" in caplog.records[-1].getMessage() and "importId=i2" in caplog.records[-1].getMessage()
