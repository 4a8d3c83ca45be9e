"""One contract for every queue: the embedded SQLite queue and Azure Storage queues
(through ``azure-storage-queue`` against Azurite)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.ports import MessageQueue, NotFoundError, poison_queue_name
from tests.servers import AzuriteServer


@pytest.fixture(params=["sqlite", "azurite"])
def queue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MessageQueue]:
    if request.param == "sqlite":
        from shared.adapters.sqlite_queue import SqliteMessageQueue

        q: MessageQueue = SqliteMessageQueue(tmp_path / "queue.sqlite3")
    else:
        from shared.adapters.storage_queue import StorageMessageQueue

        server: AzuriteServer = request.getfixturevalue("azurite")
        q = StorageMessageQueue(server.connection_string)
    yield q
    q.close()


def name() -> str:
    return f"q{uuid.uuid4().hex[:12]}"


def test_a_sent_message_is_received_with_its_body_and_count(queue: MessageQueue) -> None:
    q = name()
    queue.send(q, {"partnerId": "p1", "n": 1})
    [message] = queue.receive(q)
    assert message.body == {"partnerId": "p1", "n": 1}
    assert message.dequeue_count == 1


def test_a_received_message_is_invisible_until_its_timeout(queue: MessageQueue) -> None:
    q = name()
    queue.send(q, {"n": 1})
    assert len(queue.receive(q, visibility_timeout=1)) == 1
    assert queue.receive(q, visibility_timeout=1) == []
    time.sleep(1.6)
    [again] = queue.receive(q)
    assert again.dequeue_count == 2


def test_a_deleted_message_is_gone(queue: MessageQueue) -> None:
    q = name()
    queue.send(q, {"n": 1})
    [message] = queue.receive(q, visibility_timeout=1)
    queue.delete(message)
    time.sleep(1.3)
    assert queue.receive(q) == []


def test_delete_with_a_stale_receipt_fails(queue: MessageQueue) -> None:
    q = name()
    queue.send(q, {"n": 1})
    [first] = queue.receive(q, visibility_timeout=1)
    time.sleep(1.3)
    [second] = queue.receive(q, visibility_timeout=30)
    with pytest.raises(NotFoundError):
        queue.delete(first)
    queue.delete(second)


def test_send_many_delivers_each_once(queue: MessageQueue) -> None:
    q = name()
    assert queue.send_many(q, ({"i": i} for i in range(40))) == 40
    seen: list[int] = []
    for _ in range(10):
        batch = queue.receive(q, max_messages=16, visibility_timeout=60)
        if not batch:
            break
        for message in batch:
            seen.append(message.body["i"])
            queue.delete(message)
    assert sorted(seen) == list(range(40))


def test_a_message_dequeued_too_often_moves_to_the_poison_queue(queue: MessageQueue) -> None:
    q = name()
    queue.send(q, {"bad": True})
    deliveries = 0
    for _ in range(6):
        got = queue.receive(q, visibility_timeout=1, max_dequeue_count=2)
        deliveries += len(got)
        if not got and queue.approximate_count(poison_queue_name(q)) == 1:
            break
        time.sleep(1.2)
    assert deliveries == 2
    assert queue.approximate_count(poison_queue_name(q)) == 1
    [poisoned] = queue.receive(poison_queue_name(q))
    assert poisoned.body == {"bad": True}


def test_a_delayed_message_appears_after_its_delay(queue: MessageQueue) -> None:
    q = name()
    queue.send(q, {"later": True}, delay_seconds=1)
    assert queue.receive(q) == []
    time.sleep(1.5)
    assert [m.body for m in queue.receive(q)] == [{"later": True}]
