"""The embedded queue: Storage-queue semantics (visibility timeout, dequeue count, poison
queue) in one SQLite file, the default when no storage connection is configured."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from shared.ports import NotFoundError, QueueMessage, message_identity, poison_queue_name

log = logging.getLogger("competency.queue")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    visible_at REAL NOT NULL,
    inserted_at REAL NOT NULL,
    dequeue_count INTEGER NOT NULL DEFAULT 0,
    pop_receipt TEXT
);
CREATE INDEX IF NOT EXISTS messages_ready ON messages (queue, visible_at);
"""


class SqliteMessageQueue:
    def __init__(self, path: Path | str, *, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._clock = clock

    def send(self, queue: str, body: Mapping[str, Any], *, delay_seconds: int = 0) -> None:
        now = self._clock()
        with self._lock:
            self._db.execute(
                "INSERT INTO messages (id, queue, body, visible_at, inserted_at) VALUES (?, ?, ?, ?, ?)",
                (uuid.uuid4().hex, queue, json.dumps(dict(body)), now + delay_seconds, now),
            )

    def send_many(self, queue: str, bodies: Iterable[Mapping[str, Any]]) -> int:
        now = self._clock()
        rows = [(uuid.uuid4().hex, queue, json.dumps(dict(b)), now, now + i * 1e-6) for i, b in enumerate(bodies)]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO messages (id, queue, body, visible_at, inserted_at) VALUES (?, ?, ?, ?, ?)", rows)
            self._db.execute("COMMIT")
        return len(rows)

    def receive(
        self,
        queue: str,
        *,
        max_messages: int = 16,
        visibility_timeout: int = 30,
        max_dequeue_count: int = 5,
    ) -> list[QueueMessage]:
        now = self._clock()
        received: list[QueueMessage] = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                rows = self._db.execute(
                    "SELECT id, body, dequeue_count, inserted_at FROM messages WHERE queue = ? AND visible_at <= ? "
                    "ORDER BY inserted_at LIMIT ?",
                    (queue, now, max_messages),
                ).fetchall()
                for message_id, body, count, inserted_at in rows:
                    if count >= max_dequeue_count:
                        # Dequeued too often without being deleted: park it, as the Functions host does.
                        self._db.execute(
                            "UPDATE messages SET queue = ?, visible_at = ?, dequeue_count = 0, pop_receipt = NULL WHERE id = ?",
                            (poison_queue_name(queue), now, message_id),
                        )
                        moved = QueueMessage(message_id, "", json.loads(body), count, queue, inserted_at)
                        log.error("message moved to %s: %s", poison_queue_name(queue), message_identity(moved))
                        continue
                    receipt = uuid.uuid4().hex
                    self._db.execute(
                        "UPDATE messages SET visible_at = ?, dequeue_count = ?, pop_receipt = ? WHERE id = ?",
                        (now + visibility_timeout, count + 1, receipt, message_id),
                    )
                    received.append(QueueMessage(message_id, receipt, json.loads(body), count + 1, queue, inserted_at))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return received

    def delete(self, message: QueueMessage) -> None:
        with self._lock:
            cursor = self._db.execute("DELETE FROM messages WHERE id = ? AND pop_receipt = ?", (message.id, message.pop_receipt))
        if cursor.rowcount == 0:
            raise NotFoundError("the message was received again by someone else or is gone")

    def approximate_count(self, queue: str) -> int:
        with self._lock:
            row = self._db.execute("SELECT COUNT(*) FROM messages WHERE queue = ?", (queue,)).fetchone()
        return int(row[0])

    def clear(self, queue: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM messages WHERE queue = ?", (queue,))

    def close(self) -> None:
        with self._lock:
            self._db.close()
